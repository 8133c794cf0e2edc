"""Progressive delivery on Istio (sidecar): Flagger's ``istio`` provider and Argo Rollouts' Istio traffic routing.

Metrics: Flagger's built-in Istio queries (fluxcd/flagger ``pkg/metrics/observers/istio.go``):
``istio_requests_total`` / ``istio_request_duration_milliseconds_bucket`` reported by the
destination sidecar, selected by ``destination_workload_namespace`` and ``destination_workload``
(https://istio.io/latest/docs/reference/config/metrics/).

Argo Rollouts: subset-level traffic splitting (``trafficRouting.istio`` with a VirtualService
route to the DestinationRule subsets ``stable`` and ``canary``,
https://argo-rollouts.readthedocs.io/en/stable/features/traffic-management/istio/). The sidecar
injector names a Rollout's pods' workload after the Rollout, for stable and canary alike
(istio/istio#49256, ``pkg/kube/util.go`` GetDeployMetaFromPod), so ``destination_workload``
cannot tell the canary from the stable pods: the analysis measures both.
"""

from meshgen.delivery.support import ARGO_ISTIO_SUBSETS, DeliverySupport, RequestMetrics


def istio_metrics(reporter: str) -> RequestMetrics:
    """``istio_requests_total`` and its duration histogram (ms) as ``reporter`` (``destination``
    for sidecars, ``waypoint`` in ambient) reports them for one workload."""
    selector = f'reporter="{reporter}",destination_workload_namespace="${{namespace}}",destination_workload=~"${{workload}}"'
    return RequestMetrics.over(
        selector,
        requests="istio_requests_total",
        success='response_code!~"5.*"',
        buckets="istio_request_duration_milliseconds_bucket",
        source="https://istio.io/latest/docs/reference/config/metrics/",
    )


METRICS = istio_metrics("destination")

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider="istio",
    flagger_builtin_metrics=True,
    flagger_shifts_traffic=True,
    flagger_routing="VirtualService",
    argo_traffic_routing=ARGO_ISTIO_SUBSETS,
    argo_metrics=METRICS,
    argo_canary_only=False,
)
