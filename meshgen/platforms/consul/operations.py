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

The planners follow the seam (:func:`meshgen.platforms.sections.compose`): certificates, control
plane and telemetry return Sections of values and objects, alerts build on
:func:`meshgen.platforms.prometheus.plan_alerts`. Alerts: per service, 5xx ratio and p99 latency from the service's own inbound Envoy cluster
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
from meshgen.platforms import prometheus
from meshgen.platforms.consul.common import INJECT_LABEL
from meshgen.platforms.consul.traffic import duration
from meshgen.platforms.high_availability import no_autoscaling
from meshgen.platforms.proxy_resources import kubernetes_shape, proxy_resources
from meshgen.platforms.sections import DAY_S, ExpiryWatch, Section

CHART = "consul"
#: Release name of the values file's install command: the chart names its objects consul-*.
RELEASE = "consul"
WINDOW = prometheus.WINDOW


def server_count(intent: MeshIntent) -> int:
    """Consul servers for ``mesh.controlPlane.replicas``: the number, or the next odd one (see module docstring)."""
    asked = intent.spec.mesh.control_plane.replicas
    return asked if asked % 2 == 1 else asked + 1


def _server_findings(intent: MeshIntent, report: Report) -> None:
    cp = intent.spec.mesh.control_plane
    asked = cp.replicas
    if asked % 2 == 1:
        if asked > 5:
            report.approximated(
                Feature.CONTROL_PLANE_HA, "mesh",
                f"{asked} Consul servers: Raft tolerates {(asked - 1) // 2} failures, but every write waits for "
                f"{asked // 2 + 1} servers; Consul recommends 3 or 5",
            )
        if asked == 1:
            report.approximated(
                Feature.CONTROL_PLANE_HA, "mesh",
                "controlPlane.replicas 1: one Consul server is a single point of failure: while it is down no certificate "
                "is signed, no intention or config entry changes and new pods cannot register; set replicas: 3 for production",
            )
        return
    raft = (
        f"Raft commits a write only on a majority ({asked // 2 + 1} of {asked}), so {asked} servers survive "
        f"{(asked - 1) // 2} failure(s), no more than {asked - 1} would, while every extra server slows each write"
    )
    if "replicas" in cp.model_fields_set:
        report.lost(
            Feature.CONTROL_PLANE_HA, "mesh",
            f"controlPlane.replicas {asked} is refused for Consul servers: {raft}; use 3 or 5 "
            f"({asked + 1} servers are rendered with --allow-loss)",
        )
    else:
        report.approximated(
            Feature.CONTROL_PLANE_HA, "mesh",
            f"controlPlane.replicas defaults to {asked}, an even Raft size ({raft}): Consul runs {asked + 1} servers",
        )


def plan_control_plane(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Servers, injector, ACLs, TLS and gossip encryption values of the consul chart."""
    out = Section()
    cp = intent.spec.mesh.control_plane
    report.use(Feature.CONTROL_PLANE_HA, "mesh")
    _server_findings(intent, report)
    servers = server_count(intent)
    if cp.max_replicas is not None:
        no_autoscaling(report, "consul", servers, cp.max_replicas)
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
            # One at a time: a second server leaving would shrink the quorum (the chart's own reasoning).
            "disruptionBudget": {"enabled": True, "maxUnavailable": 1},
        },
        "connectInject": {
            "enabled": True,
            "default": True,
            # A multi-line string: the chart renders it with tpl into the webhook's namespaceSelector.
            "namespaceSelector": f"matchLabels:\n  {INJECT_LABEL}: enabled\n",
            "transparentProxy": {"defaultEnabled": True, "defaultOverwriteProbes": True},
            "replicas": injectors,
            "disruptionBudget": {"enabled": injectors > 1},
            "failurePolicy": "Fail",
        },
    }
    if injectors == 1:
        report.approximated(
            Feature.CONTROL_PLANE_HA, "mesh",
            "one connect-injector replica: with failurePolicy Fail no pod of an injected namespace can be created while it "
            "restarts",
        )
    if intent.spec.egress:
        values["terminatingGateways"] = {"enabled": True}
    out.add_values(CHART, values)
    return out


def plan_certificates(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """The Connect CA (built-in or Vault) and its expiry watch."""
    out = Section()
    ca = intent.spec.mesh.ca
    feature = {"mesh": Feature.CA_MESH, "cert-manager": Feature.CA_CERT_MANAGER, "vault": Feature.CA_VAULT, "spire": Feature.CA_SPIRE}
    ttl = {"leaf_cert_ttl": duration(ca.cert_lifetime), "intermediate_cert_ttl": duration(ca.issuer_lifetime)}
    if ca.type == "vault":
        report.use(Feature.CA_VAULT, "mesh")
        report.approximated(
            Feature.CA_VAULT, "mesh",
            "Consul's Vault CA provider talks to Vault directly, not through the cert-manager issuerRef: add "
            "global.secretsBackend.vault.connectCA.address and authMethodPath and the Vault roles "
            "(global.secretsBackend.vault.consulServerRole, consulCARole) for your Vault",
        )
        out.add_values(
            CHART,
            {
                "global": {
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
            },
        )
    else:
        if ca.type == "mesh":
            report.use(Feature.CA_MESH, "mesh")
        else:
            report.use(
                feature[ca.type], "mesh",
                f"ca.type {ca.type} is not a Consul Connect CA provider (consul, vault, aws-pca): Consul's built-in CA "
                "signs workload certificates instead",
            )
        ttl["root_cert_ttl"] = duration(ca.root_lifetime)
        out.add_values(CHART, {"server": {"extraConfig": json.dumps({"connect": {"ca_config": ttl}}, sort_keys=True)}})
        if ca.renew_before is not None:
            report.approximated(
                Feature.CA_MESH if ca.type == "mesh" else feature[ca.type], "mesh",
                f"renewBefore {ca.renew_before} is not applied: Consul renews leaf certificates on its own schedule and never "
                "rotates its root by itself (configure a new root before it expires; it is alerted)",
            )
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    out.watches.append(
        ExpiryWatch(
            "root",
            "the Consul Connect root CA",
            "max(consul_mesh_active_root_ca_expiry)",
            days * DAY_S,
            "Consul never rotates its root CA by itself: set a new root with consul connect ca set-config before it expires",
        )
    )
    return out


def plan_telemetry(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Metrics values and a PodMonitor per namespace for the sidecars' merged endpoint.

    Tracing and access logs are ProxyDefaults fields, planned with it by the platform's ``plan()``.
    """
    out = Section()
    metrics = intent.spec.telemetry.metrics
    out.add_values(
        CHART,
        {
            "global": {"metrics": {"enabled": metrics, "enableAgentMetrics": metrics, "agentMetricsRetentionTime": "1m"}},
            "connectInject": {"metrics": {"defaultEnabled": metrics, "defaultEnableMerging": metrics}},
        },
    )
    if not metrics:
        return out
    report.use(Feature.METRICS, "mesh")
    endpoint = {
        "path": "/metrics",
        "interval": "15s",
        "relabelings": [
            # consul-dataplane merges Envoy's and the application's metrics on the port of prometheus.io/port (20200).
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
    labels = prometheus.monitor_labels(intent)
    for ns in intent.namespaces():
        out.objects.append(prometheus.pod_monitor("consul-sidecars", ns, labels, "consul-sidecars", selector, [endpoint]))
    return out


def service_queries(svc: Service) -> tuple[str, str, str, str]:
    """5xx/s, requests/s and p99 (ms) of the service's own inbound Envoy cluster ``local_app``."""
    sel = f'local_cluster="{svc.name}",envoy_cluster_name="local_app"'
    errors = f'sum(rate(envoy_cluster_upstream_rq_xx{{{sel},envoy_response_code_class="5"}}[{WINDOW}]))'
    total = f"sum(rate(envoy_cluster_upstream_rq_xx{{{sel}}}[{WINDOW}]))"
    p99 = f"histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{{{sel}}}[{WINDOW}])))"
    return errors, total, p99, "ms"


def server_rules(cp_ns: str, servers: int) -> list[dict[str, Any]]:
    """Raft quorum rules on the server StatefulSet (kube-state-metrics)."""
    quorum = servers // 2 + 1
    sts = f'namespace="{cp_ns}",statefulset="{RELEASE}-server"'
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
    ]


def plan_alerts(intent: MeshIntent, report: Report, cp_ns: str, watches: list[ExpiryWatch]) -> Section:
    """The PrometheusRule: services, Raft quorum, the injector, the Connect CA's expiry."""
    section = prometheus.plan_alerts(
        intent,
        report,
        watches,
        platform="consul",
        queries=service_queries,
        deployments=[
            prometheus.ControlPlaneDeployments(cp_ns, (f"{RELEASE}-connect-injector",), "the Consul connect injector", "consul-connect-injector")
        ],
        extra_rules=server_rules(cp_ns, server_count(intent)),
    )
    if section.objects and watches:
        report.approximated(
            Feature.ALERTS, "mesh",
            "the Connect CA expiry alert reads consul_mesh_active_root_ca_expiry from the Consul servers' /v1/agent/metrics, "
            "which with ACLs needs a token with agent:read: give Prometheus one (the chart does not), or the alert never fires",
        )
    return section


def plan_proxy_resources(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """``mesh.proxy.resources`` -> consul chart ``connectInject.sidecarProxy.resources`` (requests and
    limits of every injected Envoy sidecar; keys in tests/fixtures/consul-keys.txt)."""
    out = Section()
    resources = proxy_resources(intent)
    if resources is not None:
        report.use(Feature.PROXY_RESOURCES, "mesh")
        out.add_values(CHART, {"connectInject": {"sidecarProxy": {"resources": kubernetes_shape(resources)}}})
    return out
