"""Alerts in ambient mode: request health from the waypoints, istiod (and istio-csr).

Only a waypoint sees requests: it reports ``istio_requests_total`` /
``istio_request_duration_milliseconds_bucket`` with ``reporter="waypoint"`` and
``destination_service`` = the Service's FQDN (https://istio.io/latest/docs/reference/config/metrics/,
label ``reporter``: ``source``, ``destination`` or ``waypoint``). A service without a waypoint only
has ztunnel's connection metrics, so it gets no error-rate or latency alert (reported).
The rule itself: :func:`meshgen.platforms.prometheus.plan_alerts`; the control-plane
Deployments are Istio's (:func:`meshgen.platforms.istio.alerts.deployments`).
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms.istio.alerts import deployments, destination_service
from meshgen.platforms.istio_ambient.waypoints import plan_waypoints
from meshgen.platforms.prometheus import GRPC_FAILURE_CODES, WINDOW, has_grpc
from meshgen.platforms.prometheus import plan_alerts as _plan
from meshgen.platforms.sections import ExpiryWatch, Section


def service_queries(svc: Service) -> tuple[str, str, str, str]:
    """(failed/s, all/s, p99 in ms, "ms") of ``svc`` as its waypoint reports them."""
    sel = f'reporter="waypoint",{destination_service(svc)}'
    failed = f'rate(istio_requests_total{{{sel},response_code=~"5.."}}[{WINDOW}])'
    if has_grpc(svc):
        # gRPC failures usually travel as HTTP 200 with a grpc-status trailer.
        failed += f' or rate(istio_requests_total{{{sel},response_code!~"5..",grpc_response_status=~"{GRPC_FAILURE_CODES}"}}[{WINDOW}])'
    errors = f"sum({failed})"
    total = f"sum(rate(istio_requests_total{{{sel}}}[{WINDOW}]))"
    p99 = f"histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{{{sel}}}[{WINDOW}])))"
    return errors, total, p99, "ms"


def plan_alerts(intent: MeshIntent, report: Report, cp_ns: str, watches: list[ExpiryWatch]) -> Section:
    """The PrometheusRule: service rules for waypoint-bound services only."""
    if not intent.spec.telemetry.alerts.enabled:
        return Section()
    waypoints = plan_waypoints(intent)
    bound = [s for s in intent.spec.services if (s.namespace or "", s.name) in waypoints]
    for svc in intent.spec.services:
        if (svc.namespace or "", svc.name) not in waypoints and any(p.is_l7 for p in svc.ports):
            report.approximated(
                Feature.ALERTS,
                f"{svc.namespace}/{svc.name}",
                "no waypoint (its intent needs no L7 feature): ztunnel records connections (istio_tcp_*), not "
                "requests, so there is no error-rate or latency alert",
            )
    narrowed = intent.model_copy(update={"spec": intent.spec.model_copy(update={"services": bound})})
    return _plan(
        narrowed,
        report,
        watches,
        platform="istio-ambient",
        queries=service_queries,
        deployments=deployments(intent, cp_ns),
    )
