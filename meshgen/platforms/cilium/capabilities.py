"""Cilium 1.19's column of the capability matrix: how it expresses each intent feature.

Source: ../shared/design/platform-matrix.md, each row verified against ../shared/crds.
"""

from __future__ import annotations

from meshgen.capabilities import Capability, Feature
from meshgen.capabilities import Support as _S

N, A, X = _S.NATIVE, _S.APPROXIMATED, _S.NOT_EXPRESSIBLE

#: feature -> capability; every :class:`~meshgen.capabilities.Feature` has a cell.
COLUMN: dict[Feature, Capability] = {
    Feature.MTLS_STRICT: Capability(
        A,
        "ingress rules require SPIRE mutual authentication (authentication.mode: required; beta in 1.19, deprecated from 1.20): an out-of-band handshake between agents that authenticates label identities but encrypts nothing (WireGuard does, between nodes only), and cannot cover gateway traffic (reserved ingress identity)",
    ),
    Feature.MTLS_PERMISSIVE: Capability(
        A,
        "rules admit callers by label identity without mutual authentication; no per-service or per-port mode; encryption only if WireGuard/IPsec is on",
    ),
    Feature.CA_MESH: Capability(A, "bundled SPIRE server for mutual authentication"),
    Feature.CA_CERT_MANAGER: Capability(
        X,
        "Cilium's bundled SPIRE server signs workload identities with its own CA (the chart has no upstream-authority setting); the issuer is used for Hubble's TLS certificates only",
    ),
    Feature.CA_VAULT: Capability(
        X,
        "Cilium's bundled SPIRE server signs workload identities with its own CA; the Vault issuer (through cert-manager) is used for Hubble's TLS certificates only",
    ),
    Feature.CA_SPIRE: Capability(N, "SPIRE for mutual authentication"),
    Feature.CANARY_WEIGHTS: Capability(N, "GAMMA HTTPRoute/GRPCRoute weighted backendRefs to per-version Services"),
    Feature.REQUEST_ROUTING: Capability(
        N, "GAMMA HTTPRoute/GRPCRoute matches (header prefix matches become regular expressions)"
    ),
    Feature.MIRRORING: Capability(A, "HTTPRoute RequestMirror filter; not covered by Cilium's mesh conformance report"),
    Feature.RETRIES: Capability(
        X,
        "HTTPRoute rules[].retry exists only in the Gateway API experimental channel (and GRPCRoute has none); meshgen emits standard-channel routes, so Cilium's Envoy does not retry",
    ),
    Feature.PER_TRY_TIMEOUT: Capability(
        A,
        "HTTPRoute timeouts.backendRequest (gateway-profile conformance only; without retries it bounds the only try); GRPCRoute has no timeouts",
        protocols=(("grpc", X, "GRPCRoute has no timeouts field (Gateway API v1 grpcroutes CRD)"),),
    ),
    Feature.RETRY_BUDGET: Capability(X, "no retry budget API"),
    Feature.TIMEOUT: Capability(
        N,
        "HTTPRoute timeouts.request (GRPCRoute has no timeouts: lost on grpc ports)",
        protocols=(("grpc", X, "GRPCRoute has no timeouts field (Gateway API v1 grpcroutes CRD)"),),
    ),
    Feature.OUTLIER_DETECTION: Capability(
        X, "only through a hand-written CiliumEnvoyConfig that takes over the Service's Envoy cluster"
    ),
    Feature.EJECTION_LIMITS: Capability(X, "only through a hand-written CiliumEnvoyConfig"),
    Feature.CONNECTION_POOL: Capability(X, "only through a hand-written CiliumEnvoyConfig"),
    Feature.RATE_LIMIT: Capability(X, "Bandwidth Manager limits bits per second, not requests"),
    Feature.RATE_LIMIT_BURST: Capability(X, "no request rate limit"),
    Feature.FAULT_DELAY: Capability(X, "no fault injection API"),
    Feature.FAULT_ABORT: Capability(X, "no fault injection API"),
    Feature.AUTHZ_IDENTITY: Capability(
        A,
        "CiliumNetworkPolicy fromEndpoints by service-account and namespace labels (gateways: the reserved ingress identity every Cilium Gateway shares); cryptographic only with mutual authentication",
    ),
    Feature.AUTHZ_L7: Capability(N, "toPorts rules.http (anchored regular expressions)"),
    Feature.AUTHZ_DEFAULT_DENY: Capability(N, "any CiliumNetworkPolicy selecting a pod makes it default-deny"),
    Feature.AUTHZ_DENY_RULES: Capability(
        A,
        "ingressDeny rules are L3/L4 only: a denyFrom narrowed by methods, paths or gRPC methods denies the caller the whole port",
    ),
    Feature.AUTHZ_BY_VERSION: Capability(N, "fromEndpoints with the version's pod labels"),
    Feature.AUTHZ_AUDIT: Capability(A, "policyAuditMode in the agent Helm values: agent-wide, so only mesh-wide audit; audit for some services only is lost"),
    Feature.AUTHZ_BY_SELECTOR: Capability(N, "fromEndpoints matchLabels"),
    Feature.REQUEST_AUTHENTICATION: Capability(X, "Cilium does not validate JWTs"),
    Feature.EGRESS_ALLOW_LIST: Capability(N, "toFQDNs with DNS visibility"),
    Feature.GATEWAY_HTTP: Capability(N, "Gateway API Gateway (class cilium) + HTTPRoute"),
    Feature.GATEWAY_L4: Capability(
        A,
        "TLSRoute for TLS passthrough (gateway.networking.k8s.io/v1); TCPRoute is not implemented by Cilium (cilium/cilium#21929), so TCP listeners are lost",
    ),
    Feature.GATEWAY_FILTERS: Capability(N, "HTTPRoute filters"),
    Feature.CONTROL_PLANE_HA: Capability(N, "operator and Hubble Relay replicas with PodDisruptionBudgets"),
    Feature.PROXY_RESOURCES: Capability(
        A, "cilium chart envoy.resources: the per-node cilium-envoy DaemonSet, one proxy per node shared by its pods"
    ),
    Feature.TRACING: Capability(X, "Cilium makes no spans (Hubble records flows)"),
    Feature.ACCESS_LOGS: Capability(A, "Hubble flow export, not per-request proxy logs"),
    Feature.METRICS: Capability(A, "Hubble HTTP metrics only where an L7 policy applies"),
    Feature.ALERTS: Capability(A, "PrometheusRule on Hubble metrics; no certificate metrics for WireGuard"),
    Feature.ROLLOUT_FLAGGER: Capability(
        N,
        "Canary (provider gatewayapi:v1): Flagger writes the GAMMA HTTPRoute on the Service; MetricTemplates on Hubble hubble_http_requests_total",
    ),
    Feature.ROLLOUT_ARGO: Capability(
        N,
        "Rollout with the Gateway API plugin (argoproj-labs/gatewayAPI) on the service's HTTPRoute with stable/canary "
        "Services; analysis on hubble_http_* of the canary's ReplicaSet (destination_workload)",
    ),
}
