"""Progressive delivery on Consul: Flagger has no Consul router.

Flagger's routers (fluxcd/flagger ``pkg/router/factory.go``) cover istio, linkerd, appmesh,
smi, contour, gloo, nginx, skipper, traefik, apisix, osm, kuma, gatewayapi, knative and
kubernetes; none writes Consul's ServiceSplitter. Metrics: the inbound Envoy cluster of each
sidecar (``local_app``), as :mod:`.operations` alerts on
(https://developer.hashicorp.com/consul/docs/connect/observability/ui-visualization).
"""

from meshgen.delivery.support import DeliverySupport, RequestMetrics

_SEL = 'namespace="${namespace}",pod=~"${workload}-[0-9a-z]+-[0-9a-z]+",envoy_cluster_name="local_app"'

METRICS = RequestMetrics(
    success_rate=(
        f'sum(rate(envoy_cluster_upstream_rq_xx{{{_SEL},envoy_response_code_class!="5"}}[${{interval}}])) / '
        f"sum(rate(envoy_cluster_upstream_rq_xx{{{_SEL}}}[${{interval}}])) * 100"
    ),
    latency_p99=f"histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{{{_SEL}}}[${{interval}}])) by (le))",
    source="https://developer.hashicorp.com/consul/docs/connect/observability",
)

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider=None,
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=False,
    argo_traffic_routing=None,
)
