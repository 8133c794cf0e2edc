"""What a platform offers progressive-delivery controllers: the seam every platform package fills.

Each platform package has a ``delivery`` module exporting ``DELIVERY``, a :class:`DeliverySupport`.
Controller planners (:mod:`meshgen.delivery`) read only this, never a platform's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

#: ``argo_traffic_routing``: Argo's ``trafficRouting.istio`` with DestinationRule subsets
#: (subset-level splitting, https://argo-rollouts.readthedocs.io/en/stable/features/traffic-management/istio/).
ARGO_ISTIO_SUBSETS = "istio-subsets"
#: ``argo_traffic_routing``: the Gateway API plugin, by its ``trafficRouting.plugins`` key
#: (github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi, README and pkg/plugin/types.go).
ARGO_GATEWAY_API_PLUGIN = "argoproj-labs/gatewayAPI"
#: ``argo_traffic_routing``: HashiCorp's Consul plugin, by its ``trafficRouting.plugins`` key
#: (github.com/hashicorp/rollouts-plugin-trafficrouter-consul, pkg/plugin/types.go ``ConfigKey``).
ARGO_CONSUL_PLUGIN = "hashicorp/consul"
#: Every value ``argo_traffic_routing`` may take besides None.
ARGO_ROUTINGS: frozenset[str] = frozenset({ARGO_ISTIO_SUBSETS, ARGO_GATEWAY_API_PLUGIN, ARGO_CONSUL_PLUGIN})


@dataclass(frozen=True)
class RequestMetrics:
    """PromQL over one workload's inbound requests, as the platform's data plane reports them.

    Both queries are :class:`string.Template` texts with placeholders ``${namespace}`` (the
    workload's namespace), ``${workload}`` (a regex matching the workload's name, as in
    Flagger's ``{{ target }}``) and ``${interval}`` (a Prometheus range such as ``1m``); ``$``
    never occurs in PromQL, so the templates need no escaping.

    Attributes:
        success_rate: the share of non-5xx responses in percent (0-100), as Flagger's built-in
            ``request-success-rate``.
        latency_p99: the 99th percentile of request duration in milliseconds, as Flagger's
            built-in ``request-duration``.
        source: where the metric and label names are documented (URL).
    """

    success_rate: str
    latency_p99: str
    source: str

    def success_rate_for(self, namespace: str, workload: str, interval: str) -> str:
        """The success-rate query with its placeholders filled (percent)."""
        return Template(self.success_rate).substitute(namespace=namespace, workload=workload, interval=interval)

    def latency_p99_for(self, namespace: str, workload: str, interval: str) -> str:
        """The p99-latency query with its placeholders filled (milliseconds)."""
        return Template(self.latency_p99).substitute(namespace=namespace, workload=workload, interval=interval)

    @classmethod
    def over(cls, selector: str, *, requests: str, success: str, buckets: str, source: str, to_ms: str = "") -> RequestMetrics:
        """The two queries every platform writes alike, from its metric and label names.

        Args:
            selector: label matchers of the workload's inbound requests (with the placeholders).
            requests: the request counter, e.g. ``istio_requests_total``.
            success: the matcher of successful responses on it, e.g. ``response_code!~"5.*"``.
            buckets: the request-duration histogram's ``_bucket`` series.
            source: where the names are documented (URL).
            to_ms: what turns the histogram's unit into milliseconds, e.g. `` * 1000`` for seconds.
        """
        return cls(
            success_rate=(
                f"sum(rate({requests}{{{selector},{success}}}[${{interval}}])) / "
                f"sum(rate({requests}{{{selector}}}[${{interval}}])) * 100"
            ),
            latency_p99=f"histogram_quantile(0.99, sum(rate({buckets}{{{selector}}}[${{interval}}])) by (le)){to_ms}",
            source=source,
        )


@dataclass(frozen=True)
class DeliverySupport:
    """How Flagger and Argo Rollouts work on one platform.

    Attributes:
        metrics: the platform's request metrics, or None where nothing observes requests (no mesh):
            analysis by success rate and latency is then lost.
        flagger_provider: ``Canary.spec.provider`` on this platform (``istio``, ``linkerd``,
            ``gatewayapi:v1``, ``kubernetes``), or None where Flagger has no router for it.
        flagger_builtin_metrics: Flagger ships ``request-success-rate`` / ``request-duration``
            queries for that provider; otherwise meshgen writes ``MetricTemplate`` objects from
            :attr:`metrics`.
        flagger_shifts_traffic: the provider shifts traffic by weight (False: ``kubernetes``,
            blue-green only, so canary steps are lost).
        argo_traffic_routing: how Argo Rollouts shifts weights here, one of :data:`ARGO_ROUTINGS`
            (Istio subset-level splitting, or a traffic-router plugin by its ``plugins`` key), or
            None where it can only scale ReplicaSets (weights are then approximated by pod counts).
        argo_metrics: :attr:`metrics` as they read for pods of an Argo ``Rollout``, whose pods are
            owned by ReplicaSets named ``<rollout>-<rollouts-pod-template-hash>`` that the Rollout,
            not a Deployment, owns; None where nothing observes requests.
        argo_canary_only: whether ``${workload}`` of :attr:`argo_metrics` is matched against that
            ReplicaSet name, so the analysis can select the canary's pods alone (True), or against
            the Rollout's name, which stable and canary pods share (False: the analysis sees both).
        notes: platform-specific facts a finding should repeat (with their sources).
        flagger_routing: the kind of routing object Flagger's router for :attr:`flagger_provider`
            writes and owns, named after the service: ``VirtualService`` (istio router, with
            ``<name>-primary`` / ``<name>-canary`` DestinationRules), ``HTTPRoute`` (gatewayapi
            router, parentRefs from ``service.gatewayRefs``), or None (no router: kubernetes, or
            no provider). Source: fluxcd/flagger ``pkg/router/istio.go``, ``pkg/router/gateway_api.go``.
    """

    metrics: RequestMetrics | None
    flagger_provider: str | None
    flagger_builtin_metrics: bool
    flagger_shifts_traffic: bool
    argo_traffic_routing: str | None
    argo_metrics: RequestMetrics | None = None
    argo_canary_only: bool = False
    notes: tuple[str, ...] = ()
    flagger_routing: str | None = None
