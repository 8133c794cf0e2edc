"""Istio sidecar mode's column of the capability matrix: how it expresses each intent feature.

Source: ../shared/design/platform-matrix.md, each row verified against ../shared/crds.
"""

from __future__ import annotations

from meshgen.capabilities import Capability, Feature
from meshgen.capabilities import Support as _S

N, A, X = _S.NATIVE, _S.APPROXIMATED, _S.NOT_EXPRESSIBLE

#: feature -> capability; every :class:`~meshgen.capabilities.Feature` has a cell.
COLUMN: dict[Feature, Capability] = {
    Feature.MTLS_STRICT: Capability(N, "PeerAuthentication mtls.mode STRICT per namespace"),
    Feature.MTLS_PERMISSIVE: Capability(N, "PeerAuthentication mtls.mode PERMISSIVE"),
    Feature.CA_MESH: Capability(N, "istiod's built-in CA"),
    Feature.CA_CERT_MANAGER: Capability(N, "cert-manager istio-csr; istiod's CA server off"),
    Feature.CA_VAULT: Capability(A, "through cert-manager's Vault issuer and istio-csr"),
    Feature.CA_SPIRE: Capability(N, "SPIRE agent SDS socket through the SPIFFE CSI driver"),
    Feature.CANARY_WEIGHTS: Capability(N, "VirtualService weighted routes to DestinationRule subsets"),
    Feature.REQUEST_ROUTING: Capability(N, "VirtualService http[].match, tried in order"),
    Feature.MIRRORING: Capability(N, "VirtualService mirror + mirrorPercentage"),
    Feature.RETRIES: Capability(N, "VirtualService retries (attempts, retryOn)"),
    Feature.PER_TRY_TIMEOUT: Capability(N, "VirtualService retries.perTryTimeout"),
    Feature.RETRY_BUDGET: Capability(
        A,
        "DestinationRule trafficPolicy.retryBudget: a concurrency budget (percent of active requests, minRetryConcurrency) rather than retries per second",
    ),
    Feature.TIMEOUT: Capability(N, "VirtualService http[].timeout"),
    Feature.OUTLIER_DETECTION: Capability(N, "DestinationRule outlierDetection"),
    Feature.EJECTION_LIMITS: Capability(N, "DestinationRule outlierDetection interval / maxEjectionPercent"),
    Feature.CONNECTION_POOL: Capability(N, "DestinationRule connectionPool"),
    Feature.RATE_LIMIT: Capability(
        A,
        "EnvoyFilter local_ratelimit on the inbound sidecar; a token bucket per pod, so the service rate is divided by replicas",
    ),
    Feature.RATE_LIMIT_BURST: Capability(N, "token bucket max_tokens"),
    Feature.FAULT_DELAY: Capability(N, "VirtualService fault.delay"),
    Feature.FAULT_ABORT: Capability(N, "VirtualService fault.abort"),
    Feature.AUTHZ_IDENTITY: Capability(N, "AuthorizationPolicy ALLOW with SPIFFE principals"),
    Feature.AUTHZ_L7: Capability(N, "AuthorizationPolicy operation methods/paths"),
    Feature.AUTHZ_DEFAULT_DENY: Capability(N, "allow-nothing AuthorizationPolicy per namespace"),
    Feature.AUTHZ_DENY_RULES: Capability(N, "AuthorizationPolicy DENY, evaluated before ALLOW"),
    Feature.AUTHZ_BY_VERSION: Capability(
        A, "principals of each version's own service account; versions sharing an identity cannot be told apart"
    ),
    Feature.AUTHZ_AUDIT: Capability(N, "istio.io/dry-run: \"true\" annotation on the AuthorizationPolicies; a per-service audit under defaultDeny adds an enforced allow-all for the service so allow-nothing does not refuse it"),
    Feature.AUTHZ_BY_SELECTOR: Capability(A, "principals of the intent's workloads carrying those labels"),
    Feature.REQUEST_AUTHENTICATION: Capability(N, "RequestAuthentication + AuthorizationPolicy requestPrincipals"),
    Feature.EGRESS_ALLOW_LIST: Capability(
        N, "ServiceEntry per host; Sidecar outboundTrafficPolicy REGISTRY_ONLY (not a security boundary)"
    ),
    Feature.GATEWAY_HTTP: Capability(N, "Gateway API Gateway (class istio) + HTTPRoute"),
    Feature.GATEWAY_L4: Capability(
        A,
        "TLSRoute/TCPRoute (gateway.networking.k8s.io/v1 since Gateway API 1.6); Istio documents TLS and TCP routes as Alpha",
    ),
    Feature.GATEWAY_FILTERS: Capability(N, "HTTPRoute filters"),
    Feature.CONTROL_PLANE_HA: Capability(
        N, "istiod chart replicaCount/autoscaleMin, PodDisruptionBudget, anti-affinity"
    ),
    Feature.PROXY_RESOURCES: Capability(N, "istiod chart global.proxy.resources (every injected sidecar)"),
    Feature.TRACING: Capability(N, "Telemetry tracing randomSamplingPercentage"),
    Feature.ACCESS_LOGS: Capability(N, "Telemetry accessLogging"),
    Feature.METRICS: Capability(N, "istio_requests_total and friends, scraped through PodMonitor"),
    Feature.ALERTS: Capability(N, "PrometheusRule on istio_requests_total, istiod and CA metrics"),
    Feature.ROLLOUT_FLAGGER: Capability(
        N,
        "Canary (provider istio): Flagger writes the VirtualService and primary/canary DestinationRules, carrying timeout, retries and traffic policy; built-in istio_requests_total analysis",
    ),
    Feature.ROLLOUT_ARGO: Capability(
        A,
        "Rollout with trafficRouting.istio: the VirtualService routes to DestinationRule subsets stable/canary; "
        "analysis on istio_requests_total, whose destination_workload is the Rollout's name for stable and canary pods alike",
    ),
}
