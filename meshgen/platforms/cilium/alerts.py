"""Cilium's alert inputs: Hubble HTTP metrics per service, the operator and the agent DaemonSet.

Metrics: Hubble ``hubble_http_requests_total`` / ``hubble_http_request_duration_seconds_bucket`` with
the ``destination_namespace``/``destination_workload`` labels that meshgen's ``httpV2``
``labelsContext`` adds. Source: https://docs.cilium.io/en/stable/observability/metrics/. The rule
itself: :func:`meshgen.platforms.prometheus.plan_alerts`.
"""

from __future__ import annotations

from meshgen.capabilities import Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms.prometheus import WINDOW, ControlPlaneDeployments
from meshgen.platforms.prometheus import plan_alerts as _plan
from meshgen.platforms.sections import ExpiryWatch, Section


def service_queries(svc: Service) -> tuple[str, str, str, str]:
    """(failed/s, all/s, p99 in s, "s") of ``svc`` from Hubble's L7 flows."""
    sel = f'destination_namespace="{svc.namespace}",destination_workload=~"{svc.name}(-.+)?"'
    errors = f'sum(rate(hubble_http_requests_total{{{sel},status=~"5.."}}[{WINDOW}]))'
    total = f"sum(rate(hubble_http_requests_total{{{sel}}}[{WINDOW}]))"
    p99 = (
        f"histogram_quantile(0.99, sum by (le) (rate(hubble_http_request_duration_seconds_bucket{{{sel}}}[{WINDOW}])))"
    )
    return errors, total, p99, "s"


def plan_alerts(intent: MeshIntent, report: Report, cp_ns: str, watches: list[ExpiryWatch]) -> Section:
    """Cilium's PrometheusRule (see :func:`meshgen.platforms.prometheus.plan_alerts`)."""
    agent = {
        "alert": "MeshCiliumAgentUnavailable",
        "expr": 'kube_daemonset_status_number_unavailable{namespace="%s",daemonset="cilium"} > 0' % cp_ns,
        "for": "10m",
        "labels": {"severity": "critical", "component": "cilium"},
        "annotations": {
            "summary": "Cilium agents are unavailable",
            "description": "{{ $value }} Cilium agent pods have been unavailable for 10 minutes: pods on those nodes "
            "lose policy enforcement updates and new pods get no networking.",
        },
    }
    return _plan(
        intent,
        report,
        watches,
        platform="cilium",
        queries=service_queries,
        deployments=[ControlPlaneDeployments(cp_ns, ("cilium-operator",), "cilium-operator", "cilium-operator")],
        extra_rules=[agent],
        services_note="Hubble labels HTTP metrics with the destination workload, not the Service: a service's alerts match "
        "workloads named <service> or <service>-*, and only traffic through an L7 policy is measured",
    )
