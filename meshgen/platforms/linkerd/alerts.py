"""Linkerd's alert inputs: route metrics per service and the control-plane Deployments.

Metrics (Linkerd 2.19): ``outbound_http_route_request_statuses_total`` /
``..._duration_seconds_bucket`` and their ``outbound_grpc_route_*`` twins, by
``parent_namespace``/``parent_name`` (the Service), measured by the callers' proxies.
Source: https://linkerd.io/2.19/reference/proxy-metrics/. The rule itself:
:func:`meshgen.platforms.prometheus.plan_alerts`.
"""

from __future__ import annotations

from meshgen.capabilities import Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms.prometheus import GRPC_FAILURE_NAMES, WINDOW, ControlPlaneDeployments, has_grpc, has_http
from meshgen.platforms.prometheus import plan_alerts as _plan
from meshgen.platforms.sections import ExpiryWatch, Section


def service_queries(svc: Service) -> tuple[str, str, str, str]:
    """(failed/s, all/s, p99 in s, "s") of ``svc`` as its callers' proxies measure them."""
    sel = f'parent_namespace="{svc.namespace}",parent_name="{svc.name}"'
    failed, every, buckets = [], [], []
    if has_http(svc):
        m = "outbound_http_route_request"
        failed.append(f'rate({m}_statuses_total{{{sel},http_status=~"5.."}}[{WINDOW}])')
        failed.append(f'rate({m}_statuses_total{{{sel},http_status!~"5..",error!=""}}[{WINDOW}])')
        every.append(f"rate({m}_statuses_total{{{sel}}}[{WINDOW}])")
        buckets.append(f"rate({m}_duration_seconds_bucket{{{sel}}}[{WINDOW}])")
    if has_grpc(svc):
        m = "outbound_grpc_route_request"
        failed.append(f'rate({m}_statuses_total{{{sel},grpc_status=~"{GRPC_FAILURE_NAMES}"}}[{WINDOW}])')
        failed.append(f'rate({m}_statuses_total{{{sel},grpc_status!~"{GRPC_FAILURE_NAMES}",error!=""}}[{WINDOW}])')
        every.append(f"rate({m}_statuses_total{{{sel}}}[{WINDOW}])")
        buckets.append(f"rate({m}_duration_seconds_bucket{{{sel}}}[{WINDOW}])")
    errors = f"sum({' or '.join(failed)})"
    total = f"sum({' or '.join(every)})"
    p99 = f"histogram_quantile(0.99, sum by (le) ({' or '.join(buckets)}))"
    return errors, total, p99, "s"


def plan_alerts(intent: MeshIntent, report: Report, cp_ns: str, watches: list[ExpiryWatch]) -> Section:
    """Linkerd's PrometheusRule (see :func:`meshgen.platforms.prometheus.plan_alerts`)."""
    controllers = ControlPlaneDeployments(
        cp_ns,
        ("linkerd-destination", "linkerd-identity", "linkerd-proxy-injector"),
        "the Linkerd control plane",
        "linkerd",
    )
    return _plan(intent, report, watches, platform="linkerd", queries=service_queries, deployments=[controllers])
