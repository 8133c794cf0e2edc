"""Progressive delivery on Cilium: weights in Gateway API routes (Flagger ``gatewayapi:v1``).

Metrics: Hubble's ``httpV2`` metrics as meshgen configures them (``labelsContext`` with
``destination_namespace`` and ``destination_workload``, see :mod:`.telemetry`):
``hubble_http_requests_total`` (``status``) and ``hubble_http_request_duration_seconds_bucket``
in seconds, turned into milliseconds (https://docs.cilium.io/en/stable/observability/metrics/#http).
Flagger has no built-in queries for this provider, so meshgen writes MetricTemplates.
"""

from meshgen.delivery.support import DeliverySupport, RequestMetrics

_SEL = 'destination_namespace="${namespace}",destination_workload=~"${workload}"'

METRICS = RequestMetrics(
    success_rate=(
        f'sum(rate(hubble_http_requests_total{{{_SEL},status!~"5.."}}[${{interval}}])) / '
        f"sum(rate(hubble_http_requests_total{{{_SEL}}}[${{interval}}])) * 100"
    ),
    latency_p99=(
        f"histogram_quantile(0.99, sum(rate(hubble_http_request_duration_seconds_bucket{{{_SEL}}}[${{interval}}])) by (le)) * 1000"
    ),
    source="https://docs.cilium.io/en/stable/observability/metrics/#http",
)

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider="gatewayapi:v1",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=True,
    flagger_routing="HTTPRoute",
    argo_traffic_routing=None,
)
