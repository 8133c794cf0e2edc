"""What each platform can do with each intent feature: the one source of truth.

:data:`MATRIX` holds, for every :class:`Feature` and platform, whether the platform expresses it
natively, approximates it (and how), or cannot express it at all. Platforms never decide a
support level themselves: they record a :class:`Finding` through :class:`Report`, which takes the
level from this table. ``meshgen platforms`` prints the table; ``meshgen render`` prints the
findings of one intent and refuses to write when intent would be lost (``NOT_EXPRESSIBLE``)
unless ``--allow-loss`` is given.

Sources: ../shared/design/platform-matrix.md (Istio 1.30, Linkerd 2.19, Cilium 1.19, Gateway
API 1.6), each row verified against ../shared/crds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Support(str, Enum):
    """How well a platform expresses a feature."""

    NATIVE = "native"
    APPROXIMATED = "approximated"
    NOT_EXPRESSIBLE = "not-expressible"


class Feature(str, Enum):
    """An intent feature, named as the capability report and ``meshgen platforms`` show it."""

    MTLS_STRICT = "mtls-strict"
    MTLS_PERMISSIVE = "mtls-permissive"
    CA_MESH = "ca-mesh"
    CA_CERT_MANAGER = "ca-cert-manager"
    CA_VAULT = "ca-vault"
    CA_SPIRE = "ca-spire"
    CANARY_WEIGHTS = "canary-weights"
    REQUEST_ROUTING = "request-routing"
    MIRRORING = "mirroring"
    RETRIES = "retries"
    PER_TRY_TIMEOUT = "per-try-timeout"
    RETRY_BUDGET = "retry-budget"
    TIMEOUT = "timeout"
    OUTLIER_DETECTION = "outlier-detection"
    EJECTION_LIMITS = "ejection-limits"
    CONNECTION_POOL = "connection-pool"
    RATE_LIMIT = "rate-limit"
    RATE_LIMIT_BURST = "rate-limit-burst"
    FAULT_DELAY = "fault-delay"
    FAULT_ABORT = "fault-abort"
    AUTHZ_IDENTITY = "authz-identity"
    AUTHZ_L7 = "authz-l7"
    AUTHZ_DEFAULT_DENY = "authz-default-deny"
    AUTHZ_DENY_RULES = "authz-deny-rules"
    AUTHZ_BY_VERSION = "authz-by-version"
    AUTHZ_BY_SELECTOR = "authz-by-selector"
    REQUEST_AUTHENTICATION = "request-authentication"
    EGRESS_ALLOW_LIST = "egress-allow-list"
    GATEWAY_HTTP = "gateway-http"
    GATEWAY_L4 = "gateway-l4"
    GATEWAY_FILTERS = "gateway-filters"
    CONTROL_PLANE_HA = "control-plane-ha"
    TRACING = "tracing"
    ACCESS_LOGS = "access-logs"
    METRICS = "metrics"
    ALERTS = "alerts"


@dataclass(frozen=True)
class Capability:
    """One cell of the matrix: how ``platform`` handles ``feature``."""

    support: Support
    how: str


N, A, X = Support.NATIVE, Support.APPROXIMATED, Support.NOT_EXPRESSIBLE

#: Human description of each feature: what in the intent uses it.
FEATURE_INTENT: dict[Feature, str] = {
    Feature.MTLS_STRICT: "mesh.mtls: strict",
    Feature.MTLS_PERMISSIVE: "mesh.mtls: permissive",
    Feature.CA_MESH: "mesh.ca.type: mesh",
    Feature.CA_CERT_MANAGER: "mesh.ca.type: cert-manager",
    Feature.CA_VAULT: "mesh.ca.type: vault",
    Feature.CA_SPIRE: "mesh.ca.type: spire",
    Feature.CANARY_WEIGHTS: "services[].versions[].weight",
    Feature.REQUEST_ROUTING: "services[].routes[].match",
    Feature.MIRRORING: "services[].routes[].mirror",
    Feature.RETRIES: "retries.attempts / retryOn",
    Feature.PER_TRY_TIMEOUT: "retries.perTryTimeout",
    Feature.RETRY_BUDGET: "retryBudget",
    Feature.TIMEOUT: "timeout",
    Feature.OUTLIER_DETECTION: "circuitBreaker.consecutiveErrors / baseEjectionTime",
    Feature.EJECTION_LIMITS: "circuitBreaker.interval / maxEjectionPercent",
    Feature.CONNECTION_POOL: "circuitBreaker.maxConnections / maxPendingRequests / maxRequests",
    Feature.RATE_LIMIT: "rateLimit.requestsPerSecond",
    Feature.RATE_LIMIT_BURST: "rateLimit.burst",
    Feature.FAULT_DELAY: "routes[].fault.delay",
    Feature.FAULT_ABORT: "routes[].fault.abort",
    Feature.AUTHZ_IDENTITY: "allowFrom (who may call)",
    Feature.AUTHZ_L7: "allowFrom[].methods / paths / grpc",
    Feature.AUTHZ_DEFAULT_DENY: "mesh.defaultDeny",
    Feature.AUTHZ_DENY_RULES: "denyFrom",
    Feature.AUTHZ_BY_VERSION: "allowFrom[].versions",
    Feature.AUTHZ_BY_SELECTOR: "allowFrom[].selector",
    Feature.REQUEST_AUTHENTICATION: "services[].requestAuthentication (JWT)",
    Feature.EGRESS_ALLOW_LIST: "egress / mesh.egressDefaultDeny",
    Feature.GATEWAY_HTTP: "gateways (HTTP/HTTPS listeners)",
    Feature.GATEWAY_L4: "gateways (TCP / TLS passthrough listeners)",
    Feature.GATEWAY_FILTERS: "gateways[].routes[].rewrite / redirect / headers",
    Feature.CONTROL_PLANE_HA: "mesh.controlPlane.replicas",
    Feature.TRACING: "telemetry.tracing",
    Feature.ACCESS_LOGS: "telemetry.accessLogs",
    Feature.METRICS: "telemetry.metrics",
    Feature.ALERTS: "telemetry.alerts",
}

PLATFORM_NAMES = ("istio", "linkerd", "cilium")

#: feature -> platform -> capability. Every feature has a cell for every platform.
MATRIX: dict[Feature, dict[str, Capability]] = {
    Feature.MTLS_STRICT: {
        "istio": Capability(N, "PeerAuthentication mtls.mode STRICT per namespace"),
        "linkerd": Capability(A, "meshed traffic is always mTLS; namespaces get default-inbound-policy all-authenticated so unauthenticated callers are refused"),
        "cilium": Capability(A, "ingress rules require SPIRE mutual authentication (authentication.mode: required; beta in 1.19, deprecated from 1.20): an out-of-band handshake between agents that authenticates label identities but encrypts nothing (WireGuard does, between nodes only), and cannot cover gateway traffic (reserved ingress identity)"),
    },
    Feature.MTLS_PERMISSIVE: {
        "istio": Capability(N, "PeerAuthentication mtls.mode PERMISSIVE"),
        "linkerd": Capability(N, "default-inbound-policy all-unauthenticated"),
        "cilium": Capability(A, "rules admit callers by label identity without mutual authentication; no per-service or per-port mode; encryption only if WireGuard/IPsec is on"),
    },
    Feature.CA_MESH: {
        "istio": Capability(N, "istiod's built-in CA"),
        "linkerd": Capability(A, "trust anchor and issuer made once by the CLI; nothing rotates them (expiry takes the mesh down)"),
        "cilium": Capability(A, "bundled SPIRE server for mutual authentication"),
    },
    Feature.CA_CERT_MANAGER: {
        "istio": Capability(N, "cert-manager istio-csr; istiod's CA server off"),
        "linkerd": Capability(N, "cert-manager Certificates for trust anchor and identity issuer, trust-manager Bundle"),
        "cilium": Capability(X, "Cilium's bundled SPIRE server signs workload identities with its own CA (the chart has no upstream-authority setting); the issuer is used for Hubble's TLS certificates only"),
    },
    Feature.CA_VAULT: {
        "istio": Capability(A, "through cert-manager's Vault issuer and istio-csr"),
        "linkerd": Capability(A, "through a cert-manager Vault issuer signing the identity issuer"),
        "cilium": Capability(X, "Cilium's bundled SPIRE server signs workload identities with its own CA; the Vault issuer (through cert-manager) is used for Hubble's TLS certificates only"),
    },
    Feature.CA_SPIRE: {
        "istio": Capability(N, "SPIRE agent SDS socket through the SPIFFE CSI driver"),
        "linkerd": Capability(X, "SPIRE only issues identities to non-Kubernetes ExternalWorkloads"),
        "cilium": Capability(N, "SPIRE for mutual authentication"),
    },
    Feature.CANARY_WEIGHTS: {
        "istio": Capability(N, "VirtualService weighted routes to DestinationRule subsets"),
        "linkerd": Capability(N, "GAMMA HTTPRoute/GRPCRoute weighted backendRefs to per-version Services"),
        "cilium": Capability(N, "GAMMA HTTPRoute/GRPCRoute weighted backendRefs to per-version Services"),
    },
    Feature.REQUEST_ROUTING: {
        "istio": Capability(N, "VirtualService http[].match, tried in order"),
        "linkerd": Capability(N, "GAMMA HTTPRoute/GRPCRoute matches (header prefix matches become regular expressions)"),
        "cilium": Capability(N, "GAMMA HTTPRoute/GRPCRoute matches (header prefix matches become regular expressions)"),
    },
    Feature.MIRRORING: {
        "istio": Capability(N, "VirtualService mirror + mirrorPercentage"),
        "linkerd": Capability(X, "Linkerd routes do not support the RequestMirror filter"),
        "cilium": Capability(A, "HTTPRoute RequestMirror filter; not covered by Cilium's mesh conformance report"),
    },
    Feature.RETRIES: {
        "istio": Capability(N, "VirtualService retries (attempts, retryOn)"),
        "linkerd": Capability(A, "retry.linkerd.io/http|grpc and retry.linkerd.io/limit annotations; only status-based conditions are configurable"),
        "cilium": Capability(X, "HTTPRoute rules[].retry exists only in the Gateway API experimental channel (and GRPCRoute has none); meshgen emits standard-channel routes, so Cilium's Envoy does not retry"),
    },
    Feature.PER_TRY_TIMEOUT: {
        "istio": Capability(N, "VirtualService retries.perTryTimeout"),
        "linkerd": Capability(N, "retry.linkerd.io/timeout annotation"),
        "cilium": Capability(A, "HTTPRoute timeouts.backendRequest (gateway-profile conformance only; without retries it bounds the only try); GRPCRoute has no timeouts"),
    },
    Feature.RETRY_BUDGET: {
        "istio": Capability(A, "DestinationRule trafficPolicy.retryBudget: a concurrency budget (percent of active requests, minRetryConcurrency) rather than retries per second"),
        "linkerd": Capability(X, "only the deprecated ServiceProfile has a budget, and a ServiceProfile disables the annotations' retries, timeouts and circuit breaking; retry.linkerd.io/limit still caps retries per request"),
        "cilium": Capability(X, "no retry budget API"),
    },
    Feature.TIMEOUT: {
        "istio": Capability(N, "VirtualService http[].timeout"),
        "linkerd": Capability(N, "timeout.linkerd.io/request annotation"),
        "cilium": Capability(N, "HTTPRoute timeouts.request (GRPCRoute has no timeouts: lost on grpc ports)"),
    },
    Feature.OUTLIER_DETECTION: {
        "istio": Capability(N, "DestinationRule outlierDetection"),
        "linkerd": Capability(A, "balancer.linkerd.io/failure-accrual consecutive (5xx only; baseEjectionTime becomes the minimum penalty)"),
        "cilium": Capability(X, "only through a hand-written CiliumEnvoyConfig that takes over the Service's Envoy cluster"),
    },
    Feature.EJECTION_LIMITS: {
        "istio": Capability(N, "DestinationRule outlierDetection interval / maxEjectionPercent"),
        "linkerd": Capability(X, "failure accrual has no evaluation interval or maximum ejection percent"),
        "cilium": Capability(X, "only through a hand-written CiliumEnvoyConfig"),
    },
    Feature.CONNECTION_POOL: {
        "istio": Capability(N, "DestinationRule connectionPool"),
        "linkerd": Capability(X, "Linkerd has no connection-pool limits"),
        "cilium": Capability(X, "only through a hand-written CiliumEnvoyConfig"),
    },
    Feature.RATE_LIMIT: {
        "istio": Capability(A, "EnvoyFilter local_ratelimit on the inbound sidecar; a token bucket per pod, so the service rate is divided by replicas"),
        "linkerd": Capability(A, "HTTPLocalRateLimitPolicy on the Server; enforced per pod, so the service rate is divided by replicas; applied only to HTTP/1 and HTTP/2 Servers, so rate-limited gRPC ports are declared HTTP/2"),
        "cilium": Capability(X, "Bandwidth Manager limits bits per second, not requests"),
    },
    Feature.RATE_LIMIT_BURST: {
        "istio": Capability(N, "token bucket max_tokens"),
        "linkerd": Capability(X, "HTTPLocalRateLimitPolicy has no burst"),
        "cilium": Capability(X, "no request rate limit"),
    },
    Feature.FAULT_DELAY: {
        "istio": Capability(N, "VirtualService fault.delay"),
        "linkerd": Capability(X, "no delay injection"),
        "cilium": Capability(X, "no fault injection API"),
    },
    Feature.FAULT_ABORT: {
        "istio": Capability(N, "VirtualService fault.abort"),
        "linkerd": Capability(X, "only by splitting traffic to a hand-deployed error backend, which meshgen does not generate"),
        "cilium": Capability(X, "no fault injection API"),
    },
    Feature.AUTHZ_IDENTITY: {
        "istio": Capability(N, "AuthorizationPolicy ALLOW with SPIFFE principals"),
        "linkerd": Capability(N, "Server + AuthorizationPolicy + MeshTLSAuthentication"),
        "cilium": Capability(A, "CiliumNetworkPolicy fromEndpoints by service-account and namespace labels (gateways: the reserved ingress identity every Cilium Gateway shares); cryptographic only with mutual authentication"),
    },
    Feature.AUTHZ_L7: {
        "istio": Capability(N, "AuthorizationPolicy operation methods/paths"),
        "linkerd": Capability(N, "HTTPRoute on the Server + AuthorizationPolicy targeting it"),
        "cilium": Capability(N, "toPorts rules.http (anchored regular expressions)"),
    },
    Feature.AUTHZ_DEFAULT_DENY: {
        "istio": Capability(N, "allow-nothing AuthorizationPolicy per namespace"),
        "linkerd": Capability(N, "default-inbound-policy deny and a Server per port"),
        "cilium": Capability(N, "any CiliumNetworkPolicy selecting a pod makes it default-deny"),
    },
    Feature.AUTHZ_DENY_RULES: {
        "istio": Capability(N, "AuthorizationPolicy DENY, evaluated before ALLOW"),
        "linkerd": Capability(X, "Linkerd authorization is allow-only"),
        "cilium": Capability(A, "ingressDeny rules are L3/L4 only: a denyFrom narrowed by methods, paths or gRPC methods denies the caller the whole port"),
    },
    Feature.AUTHZ_BY_VERSION: {
        "istio": Capability(A, "principals of each version's own service account; versions sharing an identity cannot be told apart"),
        "linkerd": Capability(A, "identities of each version's own service account; versions sharing an identity cannot be told apart"),
        "cilium": Capability(N, "fromEndpoints with the version's pod labels"),
    },
    Feature.AUTHZ_BY_SELECTOR: {
        "istio": Capability(A, "principals of the intent's workloads carrying those labels"),
        "linkerd": Capability(A, "identities of the intent's workloads carrying those labels"),
        "cilium": Capability(N, "fromEndpoints matchLabels"),
    },
    Feature.REQUEST_AUTHENTICATION: {
        "istio": Capability(N, "RequestAuthentication + AuthorizationPolicy requestPrincipals"),
        "linkerd": Capability(X, "Linkerd does not validate JWTs"),
        "cilium": Capability(X, "Cilium does not validate JWTs"),
    },
    Feature.EGRESS_ALLOW_LIST: {
        "istio": Capability(N, "ServiceEntry per host; Sidecar outboundTrafficPolicy REGISTRY_ONLY (not a security boundary)"),
        "linkerd": Capability(N, "EgressNetwork with routes per host (enforced in the client proxy)"),
        "cilium": Capability(N, "toFQDNs with DNS visibility"),
    },
    Feature.GATEWAY_HTTP: {
        "istio": Capability(N, "Gateway API Gateway (class istio) + HTTPRoute"),
        "linkerd": Capability(X, "Linkerd has no ingress controller; set gateways[].className to another Gateway API implementation"),
        "cilium": Capability(N, "Gateway API Gateway (class cilium) + HTTPRoute"),
    },
    Feature.GATEWAY_L4: {
        "istio": Capability(A, "TLSRoute/TCPRoute (gateway.networking.k8s.io/v1 since Gateway API 1.6); Istio documents TLS and TCP routes as Alpha"),
        "linkerd": Capability(A, "TLSRoute/TCPRoute (gateway.networking.k8s.io/v1) served by the gateways[].className implementation (Linkerd has no ingress controller)"),
        "cilium": Capability(A, "TLSRoute for TLS passthrough (gateway.networking.k8s.io/v1); TCPRoute is not implemented by Cilium (cilium/cilium#21929), so TCP listeners are lost"),
    },
    Feature.GATEWAY_FILTERS: {
        "istio": Capability(N, "HTTPRoute filters"),
        "linkerd": Capability(N, "HTTPRoute filters, applied by the gateways[].className implementation (Linkerd has no ingress controller)"),
        "cilium": Capability(N, "HTTPRoute filters"),
    },
    Feature.CONTROL_PLANE_HA: {
        "istio": Capability(N, "istiod chart replicaCount/autoscaleMin, PodDisruptionBudget, anti-affinity"),
        "linkerd": Capability(N, "linkerd-control-plane HA values"),
        "cilium": Capability(N, "operator and Hubble Relay replicas with PodDisruptionBudgets"),
    },
    Feature.TRACING: {
        "istio": Capability(N, "Telemetry tracing randomSamplingPercentage"),
        "linkerd": Capability(A, "proxy.tracing exports spans but has no sampling rate: the caller's trace context decides"),
        "cilium": Capability(X, "Cilium makes no spans (Hubble records flows)"),
    },
    Feature.ACCESS_LOGS: {
        "istio": Capability(N, "Telemetry accessLogging"),
        "linkerd": Capability(N, "config.linkerd.io/access-log annotation"),
        "cilium": Capability(A, "Hubble flow export, not per-request proxy logs"),
    },
    Feature.METRICS: {
        "istio": Capability(N, "istio_requests_total and friends, scraped through PodMonitor"),
        "linkerd": Capability(N, "proxy metrics, scraped through PodMonitor"),
        "cilium": Capability(A, "Hubble HTTP metrics only where an L7 policy applies"),
    },
    Feature.ALERTS: {
        "istio": Capability(N, "PrometheusRule on istio_requests_total, istiod and CA metrics"),
        "linkerd": Capability(N, "PrometheusRule on proxy route metrics and certificate expiry"),
        "cilium": Capability(A, "PrometheusRule on Hubble metrics; no certificate metrics for WireGuard"),
    },
}


@dataclass(frozen=True, order=True)
class Finding:
    """One place where this intent meets a platform limit.

    Attributes:
        subject: what it concerns: ``bookinfo/reviews`` (a service), ``gateway bookinfo/public``, ``mesh``.
        feature: the matrix row.
        support: taken from :data:`MATRIX` (or NOT_EXPRESSIBLE when this instance cannot be kept).
        detail: what happens to this intent on this platform.
    """

    subject: str
    feature: Feature
    support: Support
    detail: str

    @property
    def loses_intent(self) -> bool:
        """Whether rendering would drop part of the intent."""
        return self.support is Support.NOT_EXPRESSIBLE


@dataclass
class Report:
    """Collects the findings of one platform's plan; support levels come from :data:`MATRIX`."""

    platform: str
    findings: list[Finding] = field(default_factory=list)
    _seen: set[Finding] = field(default_factory=set, repr=False, compare=False)  # O(1) de-duplication

    def use(self, feature: Feature, subject: str, detail: str | None = None) -> None:
        """Record that ``subject`` uses ``feature``; kept only when the platform is not native."""
        cap = MATRIX[feature][self.platform]
        if cap.support is not Support.NATIVE:
            self._add(Finding(subject, feature, cap.support, detail or cap.how))

    def lost(self, feature: Feature, subject: str, detail: str) -> None:
        """Record that this instance of ``feature`` cannot be expressed, whatever the matrix says."""
        self._add(Finding(subject, feature, Support.NOT_EXPRESSIBLE, detail))

    def approximated(self, feature: Feature, subject: str, detail: str) -> None:
        """Record an instance-specific approximation (the intent is kept, with different semantics)."""
        self._add(Finding(subject, feature, Support.APPROXIMATED, detail))

    def _add(self, finding: Finding) -> None:
        if finding not in self._seen:
            self._seen.add(finding)
            self.findings.append(finding)

    def sorted(self) -> tuple[Finding, ...]:
        """Findings in a stable order: by subject, then feature."""
        return tuple(sorted(self.findings, key=lambda f: (f.subject, f.feature.value, f.detail)))
