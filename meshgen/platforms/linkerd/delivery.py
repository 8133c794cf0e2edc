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

Argo Rollouts: the Gateway API traffic-router plugin (``argoproj-labs/gatewayAPI``) sets the
weights of the stable and canary backendRefs of the service's GAMMA HTTPRoute
(rollouts-plugin-trafficrouter-gatewayapi ``examples/linkerd``). The proxy injector labels a pod
after its owner's owner only when a ReplicaSet's owner is a Job, StatefulSet, DaemonSet or
Deployment (linkerd2 ``controller/k8s`` isValidRSParent); a Rollout's pods keep
``linkerd.io/proxy-replicaset: <rollout>-<rollouts-pod-template-hash>``, so their metrics carry
``replicaset``, not ``deployment``, and name the canary's ReplicaSet alone.
"""

from meshgen.delivery.support import ARGO_GATEWAY_API_PLUGIN, DeliverySupport, RequestMetrics

_SEL = 'namespace="${namespace}",deployment=~"${workload}",direction="inbound"'

_ARGO_SEL = 'namespace="${namespace}",replicaset=~"${workload}",direction="inbound"'

METRICS = RequestMetrics.over(
    _SEL,
    requests="response_total",
    success='classification!="failure"',
    buckets="response_latency_ms_bucket",
    source="https://linkerd.io/2.19/reference/proxy-metrics/",
)

#: As :data:`METRICS`, selected by the ReplicaSet a Rollout's pods belong to.
ARGO_METRICS = RequestMetrics.over(
    _ARGO_SEL,
    requests="response_total",
    success='classification!="failure"',
    buckets="response_latency_ms_bucket",
    source="https://linkerd.io/2.19/reference/proxy-metrics/",
)

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider="gatewayapi:v1",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=True,
    flagger_routing="HTTPRoute",
    argo_traffic_routing=ARGO_GATEWAY_API_PLUGIN,
    argo_metrics=ARGO_METRICS,
    argo_canary_only=True,
)
