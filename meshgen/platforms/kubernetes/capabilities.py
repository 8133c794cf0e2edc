"""The no-mesh baseline's column of the capability matrix: what plain Kubernetes expresses.

Derived from the APIs the baseline renders, not from a mesh: Kubernetes ``NetworkPolicy``
(``networking.k8s.io/v1``, https://kubernetes.io/docs/concepts/services-networking/network-policies/),
Gateway API at the edge (``gateway.networking.k8s.io/v1``, Gateway API 1.6 CRDs in
../shared/crds/gateway-api/standard) served by the gateway class's own controller, and
cert-manager / trust-manager for application-level TLS certificates (../shared/crds/cert-manager,
../shared/crds/trust-manager). ../shared/design/platform-matrix.md has no no-mesh column; its
NetworkPolicy rows (sections 11 and 12, source [K8S-NP]) say the same: L3/L4 only, no service
account selector, no methods or paths, no cryptographic identity, enforcement by the CNI, egress by
IP block only (no FQDN).

Everything a mesh does inside a request (routing by header or path, retries, timeouts, faults,
mirroring, outlier detection, rate limits, JWT validation, request metrics) has no Kubernetes API
between pods: those cells are ``not-expressible``, and the finding names what the application
must do instead.
"""

from __future__ import annotations

from meshgen.capabilities import Capability, Feature, Support

N, A, X = Support.NATIVE, Support.APPROXIMATED, Support.NOT_EXPRESSIBLE

#: Feature -> capability of the no-mesh baseline. Every Feature has a cell.
COLUMN: dict[Feature, Capability] = {
    Feature.MTLS_STRICT: Capability(
        X,
        "no mTLS between pods: traffic is plaintext unless the applications terminate TLS themselves (ca.type cert-manager issues each workload a certificate for that)",
    ),
    Feature.MTLS_PERMISSIVE: Capability(
        A, "plaintext is accepted, as permissive allows, but nothing upgrades calls to mTLS"
    ),
    Feature.CA_MESH: Capability(
        A,
        "there is no mesh CA: no workload certificate is issued (ca.type cert-manager issues certificates for application-level TLS)",
    ),
    Feature.CA_CERT_MANAGER: Capability(
        A,
        "a cert-manager Certificate per workload identity (SPIFFE URI SAN) under a root -> intermediate chain, and a trust-manager Bundle of the root; the applications must load, present, verify and reload them",
    ),
    Feature.CA_VAULT: Capability(A, "as cert-manager, with the intermediate signed by the intent's Vault issuer"),
    Feature.CA_SPIRE: Capability(
        X,
        "meshgen generates no SPIRE server or registration entries; applications would fetch SVIDs from the SPIFFE Workload API themselves",
    ),
    Feature.CANARY_WEIGHTS: Capability(
        A,
        "only at the edge: gateway HTTPRoutes split over per-version Services by weight; calls between services spread over every version's pods by endpoint count",
    ),
    Feature.REQUEST_ROUTING: Capability(
        X, "nothing reads requests between pods: header and path routes to versions apply nowhere"
    ),
    Feature.MIRRORING: Capability(X, "no proxy between pods to copy requests"),
    Feature.RETRIES: Capability(X, "the calling application (or its client library) must retry"),
    Feature.PER_TRY_TIMEOUT: Capability(X, "the calling application must bound each try"),
    Feature.RETRY_BUDGET: Capability(X, "the calling application's client library must cap retries"),
    Feature.TIMEOUT: Capability(
        X, "the calling application must time out its calls (gateway routes keep their own timeouts)"
    ),
    Feature.OUTLIER_DETECTION: Capability(
        X,
        "kube-proxy keeps sending to failing endpoints that pass their readiness probe; only client-side load balancing can eject them",
    ),
    Feature.EJECTION_LIMITS: Capability(X, "no outlier detection to limit"),
    Feature.CONNECTION_POOL: Capability(
        X, "the calling application's client library must limit connections and pending requests"
    ),
    Feature.RATE_LIMIT: Capability(X, "no request rate limit between pods (the application must limit itself)"),
    Feature.RATE_LIMIT_BURST: Capability(X, "no request rate limit between pods"),
    Feature.FAULT_DELAY: Capability(X, "no proxy to inject delays"),
    Feature.FAULT_ABORT: Capability(X, "no proxy to inject aborts"),
    Feature.AUTHZ_IDENTITY: Capability(
        A,
        "NetworkPolicy ingress from the caller's pod labels in its namespace (namespaceSelector kubernetes.io/metadata.name + podSelector): labels, not a cryptographic identity, and no service account selector; enforced only by a CNI that implements NetworkPolicy",
    ),
    Feature.AUTHZ_L7: Capability(
        X,
        "NetworkPolicy is L3/L4: a caller restricted to methods, paths or gRPC methods is refused the port entirely (fail closed)",
    ),
    Feature.AUTHZ_DEFAULT_DENY: Capability(
        N,
        "a default-deny-ingress NetworkPolicy (podSelector {}) per namespace: a pod selected by any ingress policy is isolated",
    ),
    Feature.AUTHZ_DENY_RULES: Capability(
        A,
        "NetworkPolicy is allow-only: denied callers are cut out of the allowed selectors (podSelector NotIn expressions, namespaceSelector NotIn)",
    ),
    Feature.AUTHZ_BY_VERSION: Capability(N, "podSelector with the version's pod labels"),
    Feature.AUTHZ_AUDIT: Capability(X, "NetworkPolicy has no audit or dry-run mode"),
    Feature.AUTHZ_BY_SELECTOR: Capability(N, "podSelector matchLabels in the caller's namespace"),
    Feature.REQUEST_AUTHENTICATION: Capability(
        X,
        "no JWT validation between pods: the service admits no caller (fail closed); the application must validate tokens",
    ),
    Feature.EGRESS_ALLOW_LIST: Capability(
        X,
        "NetworkPolicy egress has IP blocks only, no host names: under egressDefaultDeny the listed hosts are refused (fail closed)",
    ),
    Feature.GATEWAY_HTTP: Capability(
        N,
        "Gateway API Gateway + HTTPRoute of the gateways[].className implementation (default nginx, NGINX Gateway Fabric); backends admit the gateway's pods by the GEP-1762 gateway-name label",
    ),
    Feature.GATEWAY_L4: Capability(
        A, "TLSRoute/TCPRoute (gateway.networking.k8s.io/v1) served by the gateways[].className implementation"
    ),
    Feature.GATEWAY_FILTERS: Capability(N, "HTTPRoute filters, applied by the gateways[].className implementation"),
    Feature.CONTROL_PLANE_HA: Capability(
        A,
        "no control plane: NetworkPolicy is enforced by the CNI's per-node agents, and controlPlane.replicas applies to nothing",
    ),
    Feature.PROXY_RESOURCES: Capability(A, "no proxy: mesh.proxy.resources has nothing to size"),
    Feature.TRACING: Capability(X, "no proxy makes spans: the applications must be instrumented (OpenTelemetry SDK)"),
    Feature.ACCESS_LOGS: Capability(X, "no proxy logs requests: only the applications' own logs"),
    Feature.METRICS: Capability(
        X, "no request metrics: nothing observes calls between pods; only the applications' own metrics"
    ),
    Feature.ALERTS: Capability(
        A,
        "only certificate-expiry alerts on cert-manager's metrics (ca.type cert-manager or vault); no request metrics, so no error-rate or latency alerts",
    ),
    Feature.ROLLOUT_FLAGGER: Capability(
        A,
        "Canary (provider kubernetes): blue-green only, switching the Service between primary and canary; canary steps and request-metric analysis are lost",
    ),
    Feature.ROLLOUT_ARGO: Capability(
        X,
        "Rollout without traffic routing: canary weights follow ReplicaSet pod counts, and nothing measures requests, "
        "so the analysis (success rate, latency) cannot run",
    ),
}

assert set(COLUMN) == set(Feature), "every Feature needs a cell"
