"""Progressive delivery on Istio (sidecar): Flagger's ``istio`` provider and Argo Rollouts' Istio traffic routing.

Metrics: Flagger's built-in Istio queries (fluxcd/flagger ``pkg/metrics/observers/istio.go``):
``istio_requests_total`` / ``istio_request_duration_milliseconds_bucket`` reported by the
destination sidecar, selected by ``destination_workload_namespace`` and ``destination_workload``
(https://istio.io/latest/docs/reference/config/metrics/).
"""

from meshgen.delivery.support import DeliverySupport, RequestMetrics

_SEL = 'reporter="destination",destination_workload_namespace="${namespace}",destination_workload=~"${workload}"'

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
    flagger_provider="istio",
    flagger_builtin_metrics=True,
    flagger_shifts_traffic=True,
    flagger_routing="VirtualService",
    argo_traffic_routing="istio",
)
