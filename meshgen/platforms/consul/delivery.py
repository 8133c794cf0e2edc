"""Progressive delivery on Consul: Flagger has no Consul router.

Flagger's routers (fluxcd/flagger ``pkg/router/factory.go``) cover istio, linkerd, appmesh,
smi, contour, gloo, nginx, skipper, traefik, apisix, osm, kuma, gatewayapi, knative and
kubernetes; none writes Consul's ServiceSplitter. Metrics: the inbound Envoy cluster of each
sidecar (``local_app``), as :mod:`.operations` alerts on
(https://developer.hashicorp.com/consul/docs/connect/observability/ui-visualization).

Argo Rollouts: HashiCorp's Consul traffic-router plugin (``hashicorp/consul``) sets the weights
of a ServiceSplitter with exactly two splits to the ServiceResolver subsets ``stable`` and
``canary``, and rewrites the subsets' filters to ``Service.Meta.version == <v>`` from the pod
template's ``consul.hashicorp.com/service-meta-version`` annotation
(github.com/hashicorp/rollouts-plugin-trafficrouter-consul, README and ``pkg/plugin/plugin.go``).
A Rollout's pods are named ``<rollout>-<rollouts-pod-template-hash>-<suffix>``, so a pod-name
match selects the canary's alone.
"""

from meshgen.delivery.support import ARGO_CONSUL_PLUGIN, DeliverySupport, RequestMetrics

_SEL = 'namespace="${namespace}",pod=~"${workload}-[0-9a-z]+-[0-9a-z]+",envoy_cluster_name="local_app"'

_ARGO_SEL = 'namespace="${namespace}",pod=~"${workload}-[0-9a-z]+",envoy_cluster_name="local_app"'

METRICS = RequestMetrics.over(
    _SEL,
    requests="envoy_cluster_upstream_rq_xx",
    success='envoy_response_code_class!="5"',
    buckets="envoy_cluster_upstream_rq_time_bucket",
    source="https://developer.hashicorp.com/consul/docs/connect/observability",
)

#: As :data:`METRICS`, selected by the ReplicaSet (``${workload}``) a Rollout's pods belong to.
ARGO_METRICS = RequestMetrics.over(
    _ARGO_SEL,
    requests="envoy_cluster_upstream_rq_xx",
    success='envoy_response_code_class!="5"',
    buckets="envoy_cluster_upstream_rq_time_bucket",
    source="https://developer.hashicorp.com/consul/docs/connect/observability",
)

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider=None,
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=False,
    argo_traffic_routing=ARGO_CONSUL_PLUGIN,
    argo_metrics=ARGO_METRICS,
    argo_canary_only=True,
)
