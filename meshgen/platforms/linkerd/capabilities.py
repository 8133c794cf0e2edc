"""Linkerd 2.19's column of the capability matrix: how it expresses each intent feature.

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
        "meshed traffic is always mTLS; namespaces get default-inbound-policy all-authenticated so unauthenticated callers are refused",
    ),
    Feature.MTLS_PERMISSIVE: Capability(N, "default-inbound-policy all-unauthenticated"),
    Feature.CA_MESH: Capability(
        A, "trust anchor and issuer made once by the CLI; nothing rotates them (expiry takes the mesh down)"
    ),
    Feature.CA_CERT_MANAGER: Capability(
        N, "cert-manager Certificates for trust anchor and identity issuer, trust-manager Bundle"
    ),
    Feature.CA_VAULT: Capability(A, "through a cert-manager Vault issuer signing the identity issuer"),
    Feature.CA_SPIRE: Capability(X, "SPIRE only issues identities to non-Kubernetes ExternalWorkloads"),
    Feature.CANARY_WEIGHTS: Capability(N, "GAMMA HTTPRoute/GRPCRoute weighted backendRefs to per-version Services"),
    Feature.REQUEST_ROUTING: Capability(
        N, "GAMMA HTTPRoute/GRPCRoute matches (header prefix matches become regular expressions)"
    ),
    Feature.MIRRORING: Capability(X, "Linkerd routes do not support the RequestMirror filter"),
    Feature.RETRIES: Capability(
        A,
        "retry.linkerd.io/http|grpc and retry.linkerd.io/limit annotations; only status-based conditions are configurable",
    ),
    Feature.PER_TRY_TIMEOUT: Capability(N, "retry.linkerd.io/timeout annotation"),
    Feature.RETRY_BUDGET: Capability(
        X,
        "only the deprecated ServiceProfile has a budget, and a ServiceProfile disables the annotations' retries, timeouts and circuit breaking; retry.linkerd.io/limit still caps retries per request",
    ),
    Feature.TIMEOUT: Capability(N, "timeout.linkerd.io/request annotation"),
    Feature.OUTLIER_DETECTION: Capability(
        A, "balancer.linkerd.io/failure-accrual consecutive (5xx only; baseEjectionTime becomes the minimum penalty)"
    ),
    Feature.EJECTION_LIMITS: Capability(X, "failure accrual has no evaluation interval or maximum ejection percent"),
    Feature.CONNECTION_POOL: Capability(X, "Linkerd has no connection-pool limits"),
    Feature.RATE_LIMIT: Capability(
        A,
        "HTTPLocalRateLimitPolicy on the Server; enforced per pod, so the service rate is divided by replicas; applied only to HTTP/1 and HTTP/2 Servers, so rate-limited gRPC ports are declared HTTP/2",
    ),
    Feature.RATE_LIMIT_BURST: Capability(X, "HTTPLocalRateLimitPolicy has no burst"),
    Feature.FAULT_DELAY: Capability(X, "no delay injection"),
    Feature.FAULT_ABORT: Capability(
        X, "only by splitting traffic to a hand-deployed error backend, which meshgen does not generate"
    ),
    Feature.AUTHZ_IDENTITY: Capability(N, "Server + AuthorizationPolicy + MeshTLSAuthentication"),
    Feature.AUTHZ_L7: Capability(N, "HTTPRoute on the Server + AuthorizationPolicy targeting it"),
    Feature.AUTHZ_DEFAULT_DENY: Capability(N, "default-inbound-policy deny and a Server per port"),
    Feature.AUTHZ_DENY_RULES: Capability(X, "Linkerd authorization is allow-only"),
    Feature.AUTHZ_BY_VERSION: Capability(
        A, "identities of each version's own service account; versions sharing an identity cannot be told apart"
    ),
    Feature.AUTHZ_AUDIT: Capability(N, "Server accessPolicy audit and namespace default-inbound-policy audit: callers no authorization admits are allowed and flagged in logs and metrics"),
    Feature.AUTHZ_BY_SELECTOR: Capability(A, "identities of the intent's workloads carrying those labels"),
    Feature.REQUEST_AUTHENTICATION: Capability(X, "Linkerd does not validate JWTs"),
    Feature.EGRESS_ALLOW_LIST: Capability(N, "EgressNetwork with routes per host (enforced in the client proxy)"),
    Feature.GATEWAY_HTTP: Capability(
        X, "Linkerd has no ingress controller; set gateways[].className to another Gateway API implementation"
    ),
    Feature.GATEWAY_L4: Capability(
        A,
        "TLSRoute/TCPRoute (gateway.networking.k8s.io/v1) served by the gateways[].className implementation (Linkerd has no ingress controller)",
    ),
    Feature.GATEWAY_FILTERS: Capability(
        N, "HTTPRoute filters, applied by the gateways[].className implementation (Linkerd has no ingress controller)"
    ),
    Feature.CONTROL_PLANE_HA: Capability(N, "linkerd-control-plane HA values"),
    Feature.PROXY_RESOURCES: Capability(
        N, "linkerd-control-plane chart proxy.resources.{cpu,memory}.{request,limit} (every injected proxy)"
    ),
    Feature.TRACING: Capability(
        A, "proxy.tracing exports spans but has no sampling rate: the caller's trace context decides"
    ),
    Feature.ACCESS_LOGS: Capability(N, "config.linkerd.io/access-log annotation"),
    Feature.METRICS: Capability(N, "proxy metrics, scraped through PodMonitor"),
    Feature.ALERTS: Capability(N, "PrometheusRule on proxy route metrics and certificate expiry"),
    Feature.ROLLOUT_FLAGGER: Capability(
        N,
        "Canary (provider gatewayapi:v1): Flagger writes the GAMMA HTTPRoute on the Service; MetricTemplates on the proxy's inbound response_total",
    ),
    Feature.ROLLOUT_ARGO: Capability(
        N,
        "Rollout with the Gateway API plugin (argoproj-labs/gatewayAPI) on the service's GAMMA HTTPRoute with stable/canary "
        "Services; analysis on response_total of the canary's ReplicaSet (replicaset label)",
    ),
}
