"""Consul's column of the capability matrix (consul-k8s 2.0, Consul CE, ``consul.hashicorp.com/v1alpha1``).

Verified against ../shared/design/platform-matrix.md (summary table, "Consul" column, and sections
2-17) and the CRDs in ../shared/crds/consul (consul-k8s v2.0.3). Where meshgen's level differs
from the matrix, the reason is meshgen's convention, not a different reading of Consul:

* Rate limit: the matrix says N, but the CRD's own field description says "Rate limiting is a
  Consul enterprise feature" (``ServiceDefaults.spec.rateLimits``, consul-k8s v2.0.3). meshgen
  targets Consul CE, so request rate limits are X.
* Authorization by version and by label selector: the matrix has no row. Consul authorizes by
  Consul service name; every version of a service registers under the same name, so a caller
  cannot be narrowed to some versions (X), and a label selector becomes the service names of the
  intent's workloads carrying those labels (A).
* Egress: N as in the matrix: the allow-list is enforced (``Mesh`` ``meshDestinationsOnly``
  refuses every other outbound destination), through a terminating gateway the Helm values
  enable; wildcard hosts and plain TCP to a hostname are lost per instance.
* Gateways: Consul's API gateway implements only HTTPRoute and TCPRoute, refuses TLS passthrough,
  and translates only header modifiers and prefix rewrites (consul-k8s
  ``control-plane/api-gateway/binding/validation.go``, ``.../common/translation.go`` at v2.0.3).
* Tracing: A, as in the matrix (Envoy JSON escape hatches in ProxyDefaults ``config``).

Sources: https://developer.hashicorp.com/consul/docs/reference/config-entry,
https://developer.hashicorp.com/consul/docs/connect/k8s, hashicorp/consul-k8s
``control-plane/api/v1alpha1/*_types.go`` and ``charts/consul/values.yaml`` (v2.0.3).
"""

from __future__ import annotations

from meshgen.capabilities import Capability, Feature, Support

N, A, X = Support.NATIVE, Support.APPROXIMATED, Support.NOT_EXPRESSIBLE

#: feature -> how Consul expresses it. Every :class:`~meshgen.capabilities.Feature` has a cell.
COLUMN: dict[Feature, Capability] = {
    Feature.MTLS_STRICT: Capability(N, "ProxyDefaults global mutualTLSMode strict; traffic between sidecars is always mTLS"),
    Feature.MTLS_PERMISSIVE: Capability(
        N, "ProxyDefaults mutualTLSMode permissive, allowed by Mesh allowEnablingPermissiveMutualTLS (transparent proxy only)"
    ),
    Feature.CA_MESH: Capability(N, "Consul's built-in Connect CA: servers sign and rotate leaf certificates"),
    Feature.CA_CERT_MANAGER: Capability(
        X, "cert-manager is not a Consul Connect CA provider (the providers are consul, vault and aws-pca)"
    ),
    Feature.CA_VAULT: Capability(
        N, "Vault Connect CA provider (global.secretsBackend.vault.connectCA): Consul talks to Vault's PKI itself"
    ),
    Feature.CA_SPIRE: Capability(X, "Consul has no SPIRE Connect CA provider"),
    Feature.CANARY_WEIGHTS: Capability(N, "ServiceSplitter weights to ServiceResolver subsets (filter on Service.Meta.version)"),
    Feature.REQUEST_ROUTING: Capability(N, "ServiceRouter routes[].match.http, tried in order"),
    Feature.MIRRORING: Capability(X, "Consul's discovery chain has no request mirroring"),
    Feature.RETRIES: Capability(N, "ServiceRouter destination numRetries, retryOn, retryOnStatusCodes"),
    Feature.PER_TRY_TIMEOUT: Capability(X, "ServiceRouter has no per-try timeout: requestTimeout bounds the request and all its retries"),
    Feature.RETRY_BUDGET: Capability(X, "Consul has no retry budget"),
    Feature.TIMEOUT: Capability(N, "ServiceRouter destination requestTimeout"),
    Feature.OUTLIER_DETECTION: Capability(
        N, "passiveHealthCheck in upstreamConfig.overrides of the calling services' ServiceDefaults (the caller's sidecar ejects hosts)"
    ),
    Feature.EJECTION_LIMITS: Capability(N, "passiveHealthCheck interval and maxEjectionPercent"),
    Feature.CONNECTION_POOL: Capability(N, "upstreamConfig limits maxConnections / maxPendingRequests / maxConcurrentRequests"),
    Feature.RATE_LIMIT: Capability(
        X, "ServiceDefaults rateLimits (a token bucket per instance) is a Consul Enterprise feature; meshgen targets Consul CE"
    ),
    Feature.RATE_LIMIT_BURST: Capability(X, "rateLimits.instanceLevel requestsMaxBurst is a Consul Enterprise feature"),
    Feature.FAULT_DELAY: Capability(X, "fault injection is a Consul Enterprise (1.18+) Envoy extension"),
    Feature.FAULT_ABORT: Capability(X, "fault injection is a Consul Enterprise (1.18+) Envoy extension"),
    Feature.AUTHZ_IDENTITY: Capability(N, "ServiceIntentions sources by Consul service name (the caller's SPIFFE ID)"),
    Feature.AUTHZ_L7: Capability(
        N, "ServiceIntentions permissions (methods, pathExact / pathPrefix / pathRegex), closed by a deny-all permission"
    ),
    Feature.AUTHZ_DEFAULT_DENY: Capability(N, "a * -> * deny ServiceIntentions, whatever the ACL default policy"),
    Feature.AUTHZ_DENY_RULES: Capability(N, "deny sources and deny permissions, evaluated before the allows"),
    Feature.AUTHZ_BY_VERSION: Capability(
        X, "every version of a service registers under one Consul service name, the only identity intentions see"
    ),
    Feature.AUTHZ_AUDIT: Capability(X, "ServiceIntentions have no audit or dry-run mode"),
    Feature.AUTHZ_BY_SELECTOR: Capability(A, "the Consul service names of the intent's workloads carrying those labels"),
    Feature.REQUEST_AUTHENTICATION: Capability(N, "JWTProvider and ServiceIntentions jwt.providers with verifyClaims"),
    Feature.EGRESS_ALLOW_LIST: Capability(
        N, "ServiceDefaults destination (transparent-proxy destinations) behind a terminating gateway; Mesh meshDestinationsOnly"
    ),
    Feature.GATEWAY_HTTP: Capability(N, "Gateway API Gateway (class consul, consul-k8s API gateway) + HTTPRoute"),
    Feature.GATEWAY_L4: Capability(
        A, "TCPRoute only: Consul's API gateway refuses TLS passthrough and TLS listeners, and reads TCPRoute as v1alpha2"
    ),
    Feature.GATEWAY_FILTERS: Capability(
        A, "header modifiers and prefix rewrites only; Consul's API gateway drops redirects, full-path and hostname rewrites"
    ),
    Feature.CONTROL_PLANE_HA: Capability(
        N, "consul chart server.replicas (3 or 5 for Raft quorum) with its PodDisruptionBudget; connectInject.replicas"
    ),
    Feature.PROXY_RESOURCES: Capability(N, "consul chart connectInject.sidecarProxy.resources (every injected Envoy)"),
    Feature.TRACING: Capability(
        A, "Envoy tracing through ProxyDefaults config escape hatches (envoy_tracing_json, envoy_extra_static_clusters_json)"
    ),
    Feature.ACCESS_LOGS: Capability(N, "ProxyDefaults accessLogs"),
    Feature.METRICS: Capability(N, "global.metrics and merged Envoy metrics on each sidecar (:20200/metrics), PodMonitor"),
    Feature.ALERTS: Capability(N, "PrometheusRule on Envoy inbound metrics (local_app) and server/injector availability"),
    Feature.ROLLOUT_FLAGGER: Capability(
        X,
        "Flagger has no Consul router (no ServiceSplitter writer in fluxcd/flagger pkg/router): no Canary is written",
    ),
    Feature.ROLLOUT_ARGO: Capability(
        A,
        "Rollout with HashiCorp's Consul plugin (hashicorp/consul): ServiceSplitter over ServiceResolver subsets "
        "stable/canary, told apart by the consul.hashicorp.com/service-meta-version pod annotation the team sets",
    ),
}
