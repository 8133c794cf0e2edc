"""Shared prometheus-operator pieces: PodMonitors for proxies and the mesh alerts' PrometheusRule.

Every platform's telemetry module scrapes its proxies with :func:`pod_monitor`; its alerts module
hands :func:`plan_alerts` the platform's own metric queries (:class:`ServiceQueries`) and
control-plane Deployments (:class:`ControlPlaneDeployments`), and gets one PrometheusRule with:

* per-service request health: 5xx / gRPC-failure ratio above ``errorRatePercent``, and p99 latency
  above the service's timeout where one is set;
* control-plane availability: down, and running below its replicas (kube-state-metrics
  ``kube_deployment_status_replicas_available`` / ``kube_deployment_spec_replicas``);
* certificate expiry: the :class:`~meshgen.platforms.sections.ExpiryWatch` es the certificates
  planners recorded for root, issuer and workload certificates.

None of the projects ships maintained alert rules; the expressions are meshgen's, on the metric
and label names each project documents (platform-matrix.md section 13.2).
Sources: https://prometheus-operator.dev/docs/api-reference/api/ (PodMonitor, PrometheusRule),
../shared/crds/prometheus-operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.sections import ExpiryWatch, Section, human_seconds

MONITORING = "monitoring.coreos.com/v1"

#: gRPC codes that mean the server failed (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
#: UNAVAILABLE, DATA_LOSS): by number for Istio, by name for Linkerd.
GRPC_FAILURE_CODES = "2|4|12|13|14|15"
GRPC_FAILURE_NAMES = "UNKNOWN|DEADLINE_EXCEEDED|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS"
#: The rate window of every alert expression.
WINDOW = "5m"


def monitor_labels(intent: MeshIntent) -> dict[str, str]:
    """Labels of generated monitors: meshgen's own plus ``telemetry.monitorLabels`` (Prometheus' selectors)."""
    return {**gapi.labels_for(intent), **intent.spec.telemetry.monitor_labels}


def pod_monitor(
    name: str, ns: str, labels: dict[str, str], job_label: str, selector: dict[str, Any], endpoints: list
) -> PlannedObject:
    """A prometheus-operator PodMonitor for the pods ``selector`` matches in ``ns``."""
    values = {"labels": labels, "job_label": job_label, "selector": selector, "namespaces": [], "endpoints": endpoints}
    return PlannedObject("prometheus/pod-monitor.yaml.j2", MONITORING, "PodMonitor", name, ns, values)


def split_endpoint(endpoint: str) -> tuple[str, int] | None:
    """``host:port`` -> ``(host, port)``; None when it is not a usable endpoint."""
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def has_grpc(svc: Service) -> bool:
    """Whether ``svc`` has a gRPC port."""
    return any(p.protocol == "grpc" for p in svc.ports)


def has_http(svc: Service) -> bool:
    """Whether ``svc`` has an HTTP/1 or HTTP/2 port."""
    return any(p.protocol in ("http", "http2") for p in svc.ports)


#: A platform's PromQL for one service: (failed requests/s, all requests/s, p99 latency, its unit "ms" or "s").
ServiceQueries = Callable[[Service], tuple[str, str, str, str]]


@dataclass(frozen=True)
class ControlPlaneDeployments:
    """Deployments of a control plane as kube-state-metrics names them.

    Attributes:
        namespace: where they run.
        names: Deployment names, alerted on together.
        what: human name in alert texts, e.g. ``istiod``.
        component: the alert's ``component`` label.
    """

    namespace: str
    names: tuple[str, ...]
    what: str
    component: str


def plan_alerts(
    intent: MeshIntent,
    report: Report,
    watches: Sequence[ExpiryWatch],
    *,
    platform: str,
    queries: ServiceQueries,
    deployments: Sequence[ControlPlaneDeployments],
    extra_rules: Sequence[dict[str, Any]] = (),
    services_note: str | None = None,
) -> Section:
    """The PrometheusRule for ``intent`` (an empty section when ``telemetry.alerts.enabled`` is false).

    Args:
        platform: names the rule groups (``meshgen.<platform>.services``) and the expiry texts.
        queries: the platform's request metrics per service.
        deployments: its control-plane Deployments.
        extra_rules: further control-plane rules (Cilium's agent DaemonSet).
        services_note: an approximation to report when any service rule is written.
    """
    out = Section()
    alerts = intent.spec.telemetry.alerts
    if not alerts.enabled:
        return out
    report.use(Feature.ALERTS, "mesh")
    service_rules = []
    # Sorted, so the rule reads the same however the intent is split over files.
    for svc in sorted(intent.spec.services, key=lambda s: (s.namespace or "", s.name)):
        if not any(p.is_l7 for p in svc.ports):
            report.approximated(
                Feature.ALERTS,
                f"{svc.namespace}/{svc.name}",
                "only TCP/UDP ports: the mesh records no requests, so there is no error-rate or latency alert",
            )
            continue
        service_rules.extend(_service_rules(intent, svc, queries))
    if services_note is not None and service_rules:
        report.approximated(Feature.ALERTS, "mesh", services_note)
    groups = []
    if service_rules:
        groups.append({"name": f"meshgen.{platform}.services", "rules": service_rules})
    groups.append(
        {"name": f"meshgen.{platform}.control-plane", "rules": _control_plane_rules(deployments) + list(extra_rules)}
    )
    if watches:
        groups.append(
            {"name": f"meshgen.{platform}.certificates", "rules": [_expiry_rule(platform, w) for w in watches]}
        )
    out.objects.append(
        PlannedObject(
            "prometheus/prometheus-rule.yaml.j2",
            MONITORING,
            "PrometheusRule",
            object_name(intent.metadata.name, "mesh-alerts"),
            alerts.namespace,
            {"labels": {**gapi.labels_for(intent), **alerts.labels}, "groups": groups},
        )
    )
    return out


def _service_rules(intent: MeshIntent, svc: Service, queries: ServiceQueries) -> list[dict[str, Any]]:
    threshold = float(intent.spec.telemetry.alerts.error_rate_percent)
    errors, total, p99, unit = queries(svc)
    who = {"service": svc.name, "namespace": svc.namespace or ""}
    rules = [
        {
            "alert": "MeshServiceErrorRateHigh",
            "expr": f"({errors}) / ({total}) > {threshold / 100:g}",
            "for": "10m",
            "labels": {"severity": "critical", **who},
            "annotations": {
                "summary": f"{svc.namespace}/{svc.name}: more than {threshold:g}% of requests fail",
                "description": f"Server errors (HTTP 5xx, failed gRPC calls) to {svc.namespace}/{svc.name} have been above "
                f"{threshold:g}% of its requests for 10 minutes.",
            },
        }
    ]
    if svc.timeout is not None:
        limit = svc.timeout.ms if unit == "ms" else svc.timeout.ms / 1000
        rules.append(
            {
                "alert": "MeshServiceLatencyAboveTimeout",
                "expr": f"{p99} > {limit:g}",
                "for": "10m",
                "labels": {"severity": "warning", **who},
                "annotations": {
                    "summary": f"{svc.namespace}/{svc.name}: p99 latency above its {svc.timeout} timeout",
                    "description": f"The 99th percentile latency of {svc.namespace}/{svc.name} has been above its request "
                    f"timeout ({svc.timeout}) for 10 minutes: at least 1% of its calls time out.",
                },
            }
        )
    return rules


def _control_plane_rules(deployments: Sequence[ControlPlaneDeployments]) -> list[dict[str, Any]]:
    rules = []
    for dep in deployments:
        ns, names, what = dep.namespace, dep.names, dep.what
        sel = f'namespace="{ns}",deployment=~"{"|".join(names)}"'
        rules.append(
            {
                "alert": "MeshControlPlaneDown",
                "expr": f"sum by (namespace, deployment) (kube_deployment_status_replicas_available{{{sel}}}) == 0",
                "for": "5m",
                "labels": {"severity": "critical", "component": dep.component},
                "annotations": {
                    "summary": f"{what} has no available replica",
                    "description": f"No replica of {{{{ $labels.namespace }}}}/{{{{ $labels.deployment }}}} ({what}) has been "
                    "available for 5 minutes: configuration, certificates and injection stop.",
                },
            }
        )
        rules.append(
            {
                "alert": "MeshControlPlaneDegraded",
                "expr": f"kube_deployment_status_replicas_available{{{sel}}} < kube_deployment_spec_replicas{{{sel}}}",
                "for": "15m",
                "labels": {"severity": "warning", "component": dep.component},
                "annotations": {
                    "summary": f"{what} runs below its replicas",
                    "description": f"{{{{ $labels.namespace }}}}/{{{{ $labels.deployment }}}} ({what}) has had fewer available "
                    "replicas than desired for 15 minutes: one more failure may take it down.",
                },
            }
        )
    return rules


def _expiry_rule(platform: str, watch: ExpiryWatch) -> dict[str, Any]:
    left = human_seconds(watch.threshold_s)
    return {
        "alert": "MeshCertificateExpiringSoon",
        "expr": f"({watch.remaining}) < {watch.threshold_s}",
        "for": "10m",
        # Workload certificates live hours: when renewal fails, the outage is hours away.
        "labels": {"severity": "critical" if watch.level == "workload" else "warning", "certificate": watch.level},
        "annotations": {
            "summary": f"{watch.what} expires in less than {left}",
            "description": f"{watch.what} expires in less than {left}; {watch.why}. When it expires, mTLS between "
            f"{platform} workloads fails.",
        },
    }
