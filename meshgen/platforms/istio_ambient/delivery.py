"""Progressive delivery on Istio ambient: weights live in Gateway API routes bound to the waypoint.

Flagger drives ambient through its Gateway API provider (``gatewayapi:v1``): ambient routes L7
traffic by HTTPRoutes whose parentRef is the Service, applied by the waypoint
(https://istio.io/latest/docs/ambient/usage/l7-features/). Flagger has no built-in queries for
that provider (``pkg/metrics/observers/factory.go`` maps it to the generic HTTP observer), so
meshgen writes MetricTemplates. Only a waypoint sees requests: ``istio_requests_total`` with
``reporter="waypoint"`` (https://istio.io/latest/docs/reference/config/metrics/).

Argo Rollouts: the Gateway API traffic-router plugin (``argoproj-labs/gatewayAPI``) sets the
weights of the stable and canary backendRefs of the service's HTTPRoute
(https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi, ``examples/istio``).
istiod names a Rollout's pods' workload after the Rollout (istio/istio#49256), so
``destination_workload`` cannot tell the canary from the stable pods.
"""

from meshgen.delivery.support import ARGO_GATEWAY_API_PLUGIN, DeliverySupport
from meshgen.platforms.istio.delivery import istio_metrics

METRICS = istio_metrics("waypoint")

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider="gatewayapi:v1",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=True,
    flagger_routing="HTTPRoute",
    argo_traffic_routing=ARGO_GATEWAY_API_PLUGIN,
    argo_metrics=METRICS,
    argo_canary_only=False,
)
