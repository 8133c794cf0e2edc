"""Progressive delivery on Linkerd: Flagger's ``linkerd`` provider.

Metrics: Flagger's built-in Linkerd queries (fluxcd/flagger ``pkg/metrics/observers/linkerd.go``):
the proxy's inbound ``response_total`` (``classification``, ``direction``, ``deployment``
labels) and ``response_latency_ms_bucket`` (https://linkerd.io/2.19/reference/proxy-metrics/).
"""

from meshgen.delivery.support import DeliverySupport, RequestMetrics

_SEL = 'namespace="${namespace}",deployment=~"${workload}",direction="inbound"'

METRICS = RequestMetrics(
    success_rate=(
        f'sum(rate(response_total{{{_SEL},classification!="failure"}}[${{interval}}])) / '
        f"sum(rate(response_total{{{_SEL}}}[${{interval}}])) * 100"
    ),
    latency_p99=f"histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{{{_SEL}}}[${{interval}}])) by (le))",
    source="https://linkerd.io/2.19/reference/proxy-metrics/",
)

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider="linkerd",
    flagger_builtin_metrics=True,
    flagger_shifts_traffic=True,
    argo_traffic_routing=None,
)
