"""The alerts a mesh team needs, as one PrometheusRule (``spec.telemetry.alerts``).

Groups: per-service request health (5xx/gRPC-failure ratio above ``errorRatePercent``; p99
latency above the service's timeout, where one is set), control-plane availability (down, and
running below its replicas), and certificate expiry (the watches that
:mod:`meshgen.platforms.certificates` plans for root, issuer and workload certificates).

None of the projects ships maintained alert rules; the expressions are meshgen's, on the metric
and label names the projects document (platform-matrix.md section 13.2):

* Istio: ``istio_requests_total`` / ``istio_request_duration_milliseconds_bucket``
  (``reporter="destination"``, ``destination_service`` = the Service's FQDN); gRPC failures are
  ``grpc_response_status`` 2, 4, 12, 13, 14, 15 (https://istio.io/latest/docs/reference/config/metrics/).
* Linkerd 2.19: ``outbound_http_route_request_statuses_total`` / ``..._duration_seconds_bucket``
  and their ``outbound_grpc_route_*`` twins, by ``parent_namespace``/``parent_name`` (the
  Service), measured by the callers' proxies (https://linkerd.io/2.19/reference/proxy-metrics/).
* Cilium: Hubble ``hubble_http_requests_total`` / ``hubble_http_request_duration_seconds_bucket``
  with the ``destination_namespace``/``destination_workload`` labels meshgen's ``httpV2``
  ``labelsContext`` adds (https://docs.cilium.io/en/stable/observability/metrics/).
* Control plane: kube-state-metrics ``kube_deployment_status_replicas_available`` and
  ``kube_deployment_spec_replicas``.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.ops_base import ExpiryWatch, Section, control_plane_namespace, human_seconds

#: gRPC codes that mean the server failed (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
#: UNAVAILABLE, DATA_LOSS): by number for Istio, by name for Linkerd.
GRPC_FAILURE_CODES = "2|4|12|13|14|15"
GRPC_FAILURE_NAMES = "UNKNOWN|DEADLINE_EXCEEDED|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS"
WINDOW = "5m"


def plan_alerts(platform: str, intent: MeshIntent, report: Report, watches: list[ExpiryWatch]) -> Section:
    """The PrometheusRule for ``intent`` on ``platform`` (nothing when alerts are disabled)."""
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
                Feature.ALERTS, f"{svc.namespace}/{svc.name}",
                "only TCP/UDP ports: the mesh records no requests, so there is no error-rate or latency alert",
            )
            continue
        service_rules.extend(_service_rules(platform, intent, svc))
    if platform == "cilium" and service_rules:
        report.approximated(
            Feature.ALERTS, "mesh",
            "Hubble labels HTTP metrics with the destination workload, not the Service: a service's alerts match "
            "workloads named <service> or <service>-*, and only traffic through an L7 policy is measured",
        )
    groups = []
    if service_rules:
        groups.append({"name": f"meshgen.{platform}.services", "rules": service_rules})
    groups.append({"name": f"meshgen.{platform}.control-plane", "rules": _control_plane_rules(platform, intent)})
    if watches:
        groups.append({"name": f"meshgen.{platform}.certificates", "rules": [_expiry_rule(platform, w) for w in watches]})
    out.objects.append(
        PlannedObject(
            "prometheus/prometheus-rule.yaml.j2",
            "monitoring.coreos.com/v1",
            "PrometheusRule",
            object_name(intent.metadata.name, "mesh-alerts"),
            alerts.namespace,
            {"labels": {**gapi.labels_for(intent), **alerts.labels}, "groups": groups},
        )
    )
    return out


# --- services -----------------------------------------------------------------------------


def _service_rules(platform: str, intent: MeshIntent, svc: Service) -> list[dict[str, Any]]:
    threshold = float(intent.spec.telemetry.alerts.error_rate_percent)
    errors, total, p99, unit = {"istio": _istio, "linkerd": _linkerd, "cilium": _cilium}[platform](svc)
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


def _has_grpc(svc: Service) -> bool:
    return any(p.protocol == "grpc" for p in svc.ports)


def _has_http(svc: Service) -> bool:
    return any(p.protocol in ("http", "http2") for p in svc.ports)


def _istio(svc: Service) -> tuple[str, str, str, str]:
    sel = f'reporter="destination",destination_service="{svc.name}.{svc.namespace}.svc.cluster.local"'
    failed = f'rate(istio_requests_total{{{sel},response_code=~"5.."}}[{WINDOW}])'
    if _has_grpc(svc):
        # gRPC failures usually travel as HTTP 200 with a grpc-status trailer.
        failed += (
            f' or rate(istio_requests_total{{{sel},response_code!~"5..",grpc_response_status=~"{GRPC_FAILURE_CODES}"}}[{WINDOW}])'
        )
    errors = f"sum({failed})"
    total = f"sum(rate(istio_requests_total{{{sel}}}[{WINDOW}]))"
    p99 = f"histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{{{sel}}}[{WINDOW}])))"
    return errors, total, p99, "ms"


def _linkerd(svc: Service) -> tuple[str, str, str, str]:
    sel = f'parent_namespace="{svc.namespace}",parent_name="{svc.name}"'
    failed, every, buckets = [], [], []
    if _has_http(svc):
        m = "outbound_http_route_request"
        failed.append(f'rate({m}_statuses_total{{{sel},http_status=~"5.."}}[{WINDOW}])')
        failed.append(f'rate({m}_statuses_total{{{sel},http_status!~"5..",error!=""}}[{WINDOW}])')
        every.append(f"rate({m}_statuses_total{{{sel}}}[{WINDOW}])")
        buckets.append(f"rate({m}_duration_seconds_bucket{{{sel}}}[{WINDOW}])")
    if _has_grpc(svc):
        m = "outbound_grpc_route_request"
        failed.append(f'rate({m}_statuses_total{{{sel},grpc_status=~"{GRPC_FAILURE_NAMES}"}}[{WINDOW}])')
        failed.append(f'rate({m}_statuses_total{{{sel},grpc_status!~"{GRPC_FAILURE_NAMES}",error!=""}}[{WINDOW}])')
        every.append(f"rate({m}_statuses_total{{{sel}}}[{WINDOW}])")
        buckets.append(f"rate({m}_duration_seconds_bucket{{{sel}}}[{WINDOW}])")
    errors = f"sum({' or '.join(failed)})"
    total = f"sum({' or '.join(every)})"
    p99 = f"histogram_quantile(0.99, sum by (le) ({' or '.join(buckets)}))"
    return errors, total, p99, "s"


def _cilium(svc: Service) -> tuple[str, str, str, str]:
    sel = f'destination_namespace="{svc.namespace}",destination_workload=~"{svc.name}(-.+)?"'
    errors = f'sum(rate(hubble_http_requests_total{{{sel},status=~"5.."}}[{WINDOW}]))'
    total = f"sum(rate(hubble_http_requests_total{{{sel}}}[{WINDOW}]))"
    p99 = f"histogram_quantile(0.99, sum by (le) (rate(hubble_http_request_duration_seconds_bucket{{{sel}}}[{WINDOW}])))"
    return errors, total, p99, "s"


# --- control plane ------------------------------------------------------------------------


def _deployments(platform: str, intent: MeshIntent) -> list[tuple[str, list[str], str]]:
    """(namespace, Deployments, what) of the control plane, as kube-state-metrics names them."""
    cp_ns = control_plane_namespace(platform, intent)
    if platform == "istio":
        out = [(cp_ns, ["istiod"], "istiod")]
        if intent.spec.mesh.ca.type in ("cert-manager", "vault"):
            out.append((intent.spec.mesh.ca.ca_namespace, ["cert-manager-istio-csr"], "istio-csr"))
        return out
    if platform == "linkerd":
        return [(cp_ns, ["linkerd-destination", "linkerd-identity", "linkerd-proxy-injector"], "the Linkerd control plane")]
    return [(cp_ns, ["cilium-operator"], "cilium-operator")]


def _control_plane_rules(platform: str, intent: MeshIntent) -> list[dict[str, Any]]:
    rules = []
    for ns, names, what in _deployments(platform, intent):
        sel = f'namespace="{ns}",deployment=~"{"|".join(names)}"'
        rules.append(
            {
                "alert": "MeshControlPlaneDown",
                "expr": f"sum by (namespace, deployment) (kube_deployment_status_replicas_available{{{sel}}}) == 0",
                "for": "5m",
                "labels": {"severity": "critical", "component": names[0] if len(names) == 1 else "linkerd"},
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
                "labels": {"severity": "warning", "component": names[0] if len(names) == 1 else "linkerd"},
                "annotations": {
                    "summary": f"{what} runs below its replicas",
                    "description": f"{{{{ $labels.namespace }}}}/{{{{ $labels.deployment }}}} ({what}) has had fewer available "
                    "replicas than desired for 15 minutes: one more failure may take it down.",
                },
            }
        )
    if platform == "cilium":
        rules.append(
            {
                "alert": "MeshCiliumAgentUnavailable",
                "expr": 'kube_daemonset_status_number_unavailable{namespace="%s",daemonset="cilium"} > 0'
                % control_plane_namespace(platform, intent),
                "for": "10m",
                "labels": {"severity": "critical", "component": "cilium"},
                "annotations": {
                    "summary": "Cilium agents are unavailable",
                    "description": "{{ $value }} Cilium agent pods have been unavailable for 10 minutes: pods on those nodes "
                    "lose policy enforcement updates and new pods get no networking.",
                },
            }
        )
    return rules


# --- certificates -------------------------------------------------------------------------


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
