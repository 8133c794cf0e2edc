"""Progressive delivery on Linkerd: Flagger's Gateway API provider on a GAMMA HTTPRoute.

Flagger's ``linkerd`` provider writes SMI ``TrafficSplit`` objects (fluxcd/flagger
``pkg/router/factory.go`` -> ``SmiRouter``), which Linkerd 2.12+ reads only with the separate
linkerd-smi extension. Flagger's own Linkerd tutorial
(``docs/gitbook/tutorials/linkerd-progressive-delivery.md``) uses ``gatewayapi`` with
``gatewayRefs`` naming the Service (group core, kind Service), and meshgen's Linkerd routes are
``gateway.networking.k8s.io/v1`` already (:mod:`.authorization`), so the provider is
``gatewayapi:v1``. Flagger has no built-in queries for that provider
(``pkg/metrics/observers/factory.go`` maps it to the generic HTTP observer), so meshgen writes
MetricTemplates with the tutorial's queries: the proxy's inbound ``response_total``
(``classification``, ``direction``, ``deployment`` labels) and ``response_latency_ms_bucket``
(https://linkerd.io/2.19/reference/proxy-metrics/).
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
    flagger_provider="gatewayapi:v1",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=True,
    flagger_routing="HTTPRoute",
    argo_traffic_routing=None,
)
