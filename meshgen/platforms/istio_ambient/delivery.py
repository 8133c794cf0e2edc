"""Progressive delivery on Istio ambient: weights live in Gateway API routes bound to the waypoint.

Flagger drives ambient through its Gateway API provider (``gatewayapi:v1``): ambient routes L7
traffic by HTTPRoutes whose parentRef is the Service, applied by the waypoint
(https://istio.io/latest/docs/ambient/usage/l7-features/). Flagger has no built-in queries for
that provider (``pkg/metrics/observers/factory.go`` maps it to the generic HTTP observer), so
meshgen writes MetricTemplates. Only a waypoint sees requests: ``istio_requests_total`` with
``reporter="waypoint"`` (https://istio.io/latest/docs/reference/config/metrics/).
"""

from meshgen.delivery.support import DeliverySupport, RequestMetrics

_SEL = 'reporter="waypoint",destination_workload_namespace="${namespace}",destination_workload=~"${workload}"'

METRICS = RequestMetrics(
    success_rate=(
        f'sum(rate(istio_requests_total{{{_SEL},response_code!~"5.*"}}[${{interval}}])) / '
        f"sum(rate(istio_requests_total{{{_SEL}}}[${{interval}}])) * 100"
    ),
    latency_p99=(
        f"histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{{{_SEL}}}[${{interval}}])) by (le))"
    ),
    source="https://istio.io/latest/docs/reference/config/metrics/",
)

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider="gatewayapi:v1",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=True,
    flagger_routing="HTTPRoute",
    argo_traffic_routing=None,
)
