"""Consul operations: Helm values of the ``consul`` chart, certificates, metrics and alerts.

Helm values (keys from ``hashicorp/consul-k8s`` ``charts/consul/values.yaml`` at v2.0.3, kept in
tests/fixtures/consul-keys.txt):

* **Servers (Raft).** ``server.replicas`` and ``server.bootstrapExpect``: 3 or 5. Raft commits a
  write once a majority (quorum = n/2 + 1) has it, so n servers survive (n - 1) / 2 failures:
  4 servers tolerate one failure, like 3, and 2 tolerate none, like 1, while each extra server
  slows every write (https://developer.hashicorp.com/consul/docs/concept/consensus#deployment-table).
  An explicit even ``controlPlane.replicas`` is therefore refused (lost; with ``--allow-loss`` the
  next odd number is rendered); the intent's unset default of 2 becomes 3, reported. The chart
  keeps its required per-node anti-affinity (``server.affinity``) and a PodDisruptionBudget of one
  (``server.disruptionBudget``), which is exactly what keeps quorum during a drain.
* **Injection.** ``connectInject.enabled``, ``connectInject.default: true`` with a
  ``namespaceSelector`` on the label meshgen puts on the intent's namespaces, transparent proxy
  on, ``connectInject.replicas`` with its PodDisruptionBudget.
* **Security.** ``global.acls.manageSystemACLs`` (ACL default policy deny; the intentions written
  by meshgen do not depend on it), ``global.tls.enabled`` with auto-encrypt and verification,
  ``global.gossipEncryption.autoGenerate``.
* **CA.** ``mesh``: Consul's built-in Connect CA with the intent's lifetimes as
  ``connect.ca_config`` (``leaf_cert_ttl``, ``intermediate_cert_ttl``, ``root_cert_ttl``) in
  ``server.extraConfig``; Consul renews leaf certificates itself, the root never rotates by
  itself (its expiry is alerted). ``vault``: the Vault Connect CA provider
  (``global.secretsBackend.vault.connectCA``); Consul talks to Vault itself, so the intent's
  cert-manager ``issuerRef`` does not apply and Vault's address and roles must be added.
  ``cert-manager`` and ``spire`` are not Consul CA providers: lost.
* **Metrics.** ``global.metrics`` and ``connectInject.metrics`` (Envoy and application metrics
  merged on each sidecar's ``:20200/metrics``, announced by ``prometheus.io/*`` annotations), a
  PodMonitor per namespace reading those annotations.

Alerts: per service, 5xx ratio and p99 latency from the service's own inbound Envoy cluster
(``envoy_cluster_upstream_rq_xx`` / ``envoy_cluster_upstream_rq_time_bucket`` with
``envoy_cluster_name="local_app"`` and ``local_cluster="<service>"``, the stats tag Consul's
Envoy bootstrap sets to the service name); servers below quorum or degraded and the injector down
(kube-state-metrics); Connect CA expiry (``consul_mesh_active_root_ca_expiry``, seconds left,
https://developer.hashicorp.com/consul/docs/reference/agent/telemetry#certificate-authority).
"""

from __future__ import annotations

import json
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.consul.common import INJECT_LABEL, control_plane_namespace, is_l7, subject
from meshgen.platforms.consul.traffic import duration
from meshgen.platforms.ops_base import ExpiryWatch, Section, human_seconds

CHART = "consul"
MONITORING = "monitoring.coreos.com/v1"
WINDOW = "5m"
#: Release name the values file's install command uses: Kubernetes objects are named consul-*.
RELEASE = "consul"


def server_replicas(intent: MeshIntent, report: Report) -> int:
    """The Raft server count for ``mesh.controlPlane.replicas`` (see the module docstring)."""
    cp = intent.spec.mesh.control_plane
    asked = cp.replicas
    explicit = "replicas" in cp.model_fields_set
    if asked % 2 == 1:
        if asked > 5:
            report.approximated(
                Feature.CONTROL_PLANE_HA, "mesh",
                f"{asked} Consul servers: Raft tolerates {(asked - 1) // 2} failures, but every write waits for "
                f"{asked // 2 + 1} servers; Consul recommends 3 or 5",
            )
        return asked
    raft = (
        f"Raft needs a majority ({asked // 2 + 1} of {asked}) to commit, so {asked} servers survive "
        f"{(asked - 1) // 2} failure(s), no more than {asked - 1} would, and split votes become possible"
    )
    if explicit:
        report.lost(
            Feature.CONTROL_PLANE_HA, "mesh",
            f"controlPlane.replicas {asked} is refused for Consul servers: {raft}; use 3 or 5 ({asked + 1} servers are rendered)",
        )
    else:
        report.approximated(
            Feature.CONTROL_PLANE_HA, "mesh",
            f"controlPlane.replicas defaults to {asked}, an even Raft size ({raft}): Consul runs {asked + 1} servers",
        )
    return asked + 1


def control_plane(intent: MeshIntent, report: Report) -> dict[str, Any]:
    """Server, injector and security values of the consul chart."""
    cp = intent.spec.mesh.control_plane
    report.use(Feature.CONTROL_PLANE_HA, "mesh")
    servers = server_replicas(intent, report)
    if servers == 1:
        report.approximated(
            Feature.CONTROL_PLANE_HA, "mesh",
            "controlPlane.replicas 1: one Consul server is a single point of failure: while it is down no certificate is "
            "signed, no intention or config entry changes, and new pods cannot register; set replicas: 3 for production",
        )
    if cp.max_replicas is not None:
        report.approximated(
            Feature.CONTROL_PLANE_HA, "mesh",
            f"Consul servers are a Raft cluster of fixed size: maxReplicas {cp.max_replicas} is not applied",
        )
    injectors = 1 if servers == 1 else 2
    values: dict[str, Any] = {
        "global": {
            "name": RELEASE,
            "acls": {"manageSystemACLs": True},
            "tls": {"enabled": True, "enableAutoEncrypt": True, "verify": True},
            "gossipEncryption": {"autoGenerate": True},
        },
        "server": {
            "replicas": servers,
            "bootstrapExpect": servers,
            "disruptionBudget": {"enabled": True, "maxUnavailable": 1},
        },
        "connectInject": {
            "enabled": True,
            "default": True,
            # Multi-line string: the chart renders it with tpl into the webhook's namespaceSelector.
            "namespaceSelector": f"matchLabels:\n  {INJECT_LABEL}: enabled\n",
            "transparentProxy": {"defaultEnabled": True, "defaultOverwriteProbes": True},
            "replicas": injectors,
            "disruptionBudget": {"enabled": injectors > 1},
            "failurePolicy": "Fail",
        },
    }
    return values


def certificates(intent: MeshIntent, report: Report) -> tuple[dict[str, Any], list[ExpiryWatch]]:
    """CA values and the expiry watches of the Connect CA."""
    ca = intent.spec.mesh.ca
    report.use({"mesh": Feature.CA_MESH, "cert-manager": Feature.CA_CERT_MANAGER, "vault": Feature.CA_VAULT, "spire": Feature.CA_SPIRE}[ca.type], "mesh")
    ttl = {
        "leaf_cert_ttl": duration(ca.cert_lifetime),
        "intermediate_cert_ttl": duration(ca.issuer_lifetime),
    }
    values: dict[str, Any] = {}
    watches: list[ExpiryWatch] = []
    if ca.type == "vault":
        report.approximated(
            Feature.CA_VAULT, "mesh",
            "Consul's Vault CA provider talks to Vault directly, not through the cert-manager issuerRef: add "
            "global.secretsBackend.vault.connectCA.address and authMethodPath and the Vault roles "
            "(global.secretsBackend.vault.consulServerRole, consulCARole) for your Vault",
        )
        values["global"] = {
            "secretsBackend": {
                "vault": {
                    "enabled": True,
                    "connectCA": {
                        "rootPKIPath": "connect_root",
                        "intermediatePKIPath": "connect_inter",
                        "additionalConfig": json.dumps({"connect": [{"ca_config": [ttl]}]}, sort_keys=True),
                    },
                }
            }
        }
    else:
        if ca.type in ("cert-manager", "spire"):
            report.use(
                Feature.CA_CERT_MANAGER if ca.type == "cert-manager" else Feature.CA_SPIRE, "mesh",
                f"ca.type {ca.type} is not a Consul Connect CA provider: Consul's built-in CA signs workload certificates instead",
            )
        ttl["root_cert_ttl"] = duration(ca.root_lifetime)
        values["server"] = {"extraConfig": json.dumps({"connect": {"ca_config": ttl}}, sort_keys=True)}
        if ca.renew_before is not None:
            report.approximated(
                Feature.CA_MESH, "mesh",
                f"renewBefore {ca.renew_before} is not applied: Consul renews leaf certificates on its own schedule and never "
                "rotates its root by itself (rotate it with a new CA configuration before it expires; it is alerted)",
            )
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    watches.append(
        ExpiryWatch(
            "root",
            "the Consul Connect root CA",
            "max(consul_mesh_active_root_ca_expiry)",
            days * 86_400,
            "Consul never rotates its root CA by itself: configure a new root (consul connect ca set-config) before it expires",
        )
    )
    return values, watches


def pod_monitors(intent: MeshIntent, report: Report) -> list[PlannedObject]:
    """A PodMonitor per namespace for the sidecars' merged metrics endpoint."""
    if not intent.spec.telemetry.metrics:
        return []
    report.use(Feature.METRICS, "mesh")
    labels = {**gapi.labels_for(intent), **intent.spec.telemetry.monitor_labels}
    endpoint = {
        "path": "/metrics",
        "interval": "15s",
        "relabelings": [
            {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": "consul-dataplane"},
            {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape"]},
            {
                "action": "replace",
                "sourceLabels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                "regex": "([^:]+)(?::\\d+)?;(\\d+)",
                "replacement": "$1:$2",
                "targetLabel": "__address__",
            },
        ],
    }
    selector = {"matchLabels": {"consul.hashicorp.com/connect-inject-status": "injected"}}
    return [
        PlannedObject(
            "prometheus/pod-monitor.yaml.j2", MONITORING, "PodMonitor", "consul-sidecars", ns,
            {"labels": labels, "job_label": "consul-sidecars", "selector": selector, "namespaces": [], "endpoints": [endpoint]},
        )
        for ns in intent.namespaces()
    ]


def _service_rules(intent: MeshIntent, svc: Service) -> list[dict[str, Any]]:
    threshold = float(intent.spec.telemetry.alerts.error_rate_percent)
    sel = f'local_cluster="{svc.name}",envoy_cluster_name="local_app"'
    errors = f'sum(rate(envoy_cluster_upstream_rq_xx{{{sel},envoy_response_code_class="5"}}[{WINDOW}]))'
    total = f"sum(rate(envoy_cluster_upstream_rq_xx{{{sel}}}[{WINDOW}]))"
    who = {"service": svc.name, "namespace": svc.namespace or ""}
    rules = [
        {
            "alert": "MeshServiceErrorRateHigh",
            "expr": f"({errors}) / ({total}) > {threshold / 100:g}",
            "for": "10m",
            "labels": {"severity": "critical", **who},
            "annotations": {
                "summary": f"{svc.namespace}/{svc.name}: more than {threshold:g}% of requests fail",
                "description": f"HTTP 5xx answers of {svc.namespace}/{svc.name} (its sidecar's local_app cluster) have been above "
                f"{threshold:g}% of its requests for 10 minutes.",
            },
        }
    ]
    if svc.timeout is not None:
        p99 = f"histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{{{sel}}}[{WINDOW}])))"
        rules.append(
            {
                "alert": "MeshServiceLatencyAboveTimeout",
                "expr": f"{p99} > {svc.timeout.ms:g}",
                "for": "10m",
                "labels": {"severity": "warning", **who},
                "annotations": {
                    "summary": f"{svc.namespace}/{svc.name}: p99 latency above its {svc.timeout} timeout",
                    "description": f"The 99th percentile latency of {svc.namespace}/{svc.name} has been above its request timeout "
                    f"({svc.timeout}) for 10 minutes: at least 1% of its calls time out.",
                },
            }
        )
    return rules


def _control_plane_rules(intent: MeshIntent, servers: int) -> list[dict[str, Any]]:
    ns = control_plane_namespace(intent)
    quorum = servers // 2 + 1
    sts = f'namespace="{ns}",statefulset="{RELEASE}-server"'
    dep = f'namespace="{ns}",deployment="{RELEASE}-connect-injector"'
    return [
        {
            "alert": "ConsulServersBelowQuorum",
            "expr": f"kube_statefulset_status_replicas_ready{{{sts}}} < {quorum}",
            "for": "2m",
            "labels": {"severity": "critical", "component": "consul-server"},
            "annotations": {
                "summary": f"fewer than {quorum} of {servers} Consul servers are ready: Raft has no quorum",
                "description": "Without a Raft majority Consul commits nothing: no certificate is signed, intentions and config "
                "entries do not change, and new pods cannot register.",
            },
        },
        {
            "alert": "ConsulServersDegraded",
            "expr": f"kube_statefulset_status_replicas_ready{{{sts}}} < {servers}",
            "for": "15m",
            "labels": {"severity": "warning", "component": "consul-server"},
            "annotations": {
                "summary": "a Consul server is not ready",
                "description": f"Consul has had fewer than {servers} ready servers for 15 minutes: "
                f"{servers - quorum} more failure(s) lose quorum.",
            },
        },
        {
            "alert": "MeshControlPlaneDown",
            "expr": f"sum(kube_deployment_status_replicas_available{{{dep}}}) == 0",
            "for": "5m",
            "labels": {"severity": "critical", "component": "consul-connect-injector"},
            "annotations": {
                "summary": "the Consul connect injector has no available replica",
                "description": "With failurePolicy Fail, no pod of an injected namespace can be created while the injector is down.",
            },
        },
    ]


def prometheus_rule(intent: MeshIntent, servers: int, watches: list[ExpiryWatch], report: Report) -> list[PlannedObject]:
    """The PrometheusRule of the mesh (nothing when alerts are off)."""
    alerts = intent.spec.telemetry.alerts
    if not alerts.enabled:
        return []
    report.use(Feature.ALERTS, "mesh")
    service_rules = []
    for svc in sorted(intent.spec.services, key=lambda s: (s.namespace or "", s.name)):
        if not is_l7(svc):
            report.approximated(Feature.ALERTS, subject(svc), "not HTTP to Consul: its sidecar counts no requests, so there is no error-rate or latency alert")
            continue
        service_rules.extend(_service_rules(intent, svc))
    report.approximated(
        Feature.ALERTS, "mesh",
        "the Connect CA expiry alert reads consul_mesh_active_root_ca_expiry from the Consul servers' /v1/agent/metrics, "
        "which needs an ACL token with agent:read: give Prometheus one (the chart does not) or the alert never fires",
    )
    groups = []
    if service_rules:
        groups.append({"name": "meshgen.consul.services", "rules": service_rules})
    groups.append({"name": "meshgen.consul.control-plane", "rules": _control_plane_rules(intent, servers)})
    groups.append(
        {
            "name": "meshgen.consul.certificates",
            "rules": [
                {
                    "alert": "MeshCertificateExpiringSoon",
                    "expr": f"({w.remaining}) < {w.threshold_s}",
                    "for": "10m",
                    "labels": {"severity": "warning", "certificate": w.level},
                    "annotations": {
                        "summary": f"{w.what} expires in less than {human_seconds(w.threshold_s)}",
                        "description": f"{w.what} expires in less than {human_seconds(w.threshold_s)}; {w.why}. When it expires, "
                        "mTLS between consul workloads fails.",
                    },
                }
                for w in watches
            ],
        }
    )
    return [
        PlannedObject(
            "prometheus/prometheus-rule.yaml.j2", MONITORING, "PrometheusRule", object_name(intent.metadata.name, "mesh-alerts"),
            alerts.namespace, {"labels": {**gapi.labels_for(intent), **alerts.labels}, "groups": groups},
        )
    ]


def plan_operations(intent: MeshIntent, report: Report, egress: bool) -> Section:
    """Helm values, monitors and alerts of ``intent`` on Consul; findings go to ``report``."""
    out = Section()
    out.add_values(CHART, control_plane(intent, report))
    ca_values, watches = certificates(intent, report)
    out.add_values(CHART, ca_values)
    metrics = intent.spec.telemetry.metrics
    out.add_values(
        CHART,
        {
            "global": {"metrics": {"enabled": metrics, "enableAgentMetrics": metrics, "agentMetricsRetentionTime": "1m"}},
            "connectInject": {"metrics": {"defaultEnabled": metrics, "defaultEnableMerging": metrics}},
        },
    )
    if egress:
        out.add_values(CHART, {"terminatingGateways": {"enabled": True}})
    out.objects.extend(pod_monitors(intent, report))
    servers = out.values[CHART]["server"]["replicas"]
    out.objects.extend(prometheus_rule(intent, servers, watches, report))
    return out
