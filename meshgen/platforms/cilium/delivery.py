"""Progressive delivery on Cilium: weights in Gateway API routes (Flagger ``gatewayapi:v1``).

Metrics: Hubble's ``httpV2`` metrics as meshgen configures them (``labelsContext`` with
``destination_namespace`` and ``destination_workload``, see :mod:`.telemetry`):
``hubble_http_requests_total`` (``status``) and ``hubble_http_request_duration_seconds_bucket``
in seconds, turned into milliseconds (https://docs.cilium.io/en/stable/observability/metrics/#http).
Flagger has no built-in queries for this provider, so meshgen writes MetricTemplates.

Argo Rollouts: the Gateway API traffic-router plugin (``argoproj-labs/gatewayAPI``) sets the
weights of the stable and canary backendRefs of the service's HTTPRoute
(rollouts-plugin-trafficrouter-gatewayapi ``examples/cilium``). Cilium names a pod's workload
after its Deployment only when the pod has a ``pod-template-hash`` label
(cilium ``pkg/k8s/utils/workload.go`` GetWorkloadMetaFromPod); a Rollout's pods carry
``rollouts-pod-template-hash`` instead, so ``destination_workload`` is the ReplicaSet
``<rollout>-<hash>``: the canary's alone.
"""

from meshgen.delivery.support import ARGO_GATEWAY_API_PLUGIN, DeliverySupport, RequestMetrics

_SEL = 'destination_namespace="${namespace}",destination_workload=~"${workload}"'

METRICS = RequestMetrics.over(
    _SEL,
    requests="hubble_http_requests_total",
    success='status!~"5.."',
    buckets="hubble_http_request_duration_seconds_bucket",
    source="https://docs.cilium.io/en/stable/observability/metrics/#http",
    to_ms=" * 1000",
)

DELIVERY = DeliverySupport(
    metrics=METRICS,
    flagger_provider="gatewayapi:v1",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=True,
    flagger_routing="HTTPRoute",
    argo_traffic_routing=ARGO_GATEWAY_API_PLUGIN,
    argo_metrics=METRICS,
    argo_canary_only=True,
)
