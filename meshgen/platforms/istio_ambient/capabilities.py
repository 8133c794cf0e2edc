"""Istio ambient mode's column of the capability matrix: how it expresses each intent feature.

ztunnel (one per node) carries every enrolled pod's traffic over mTLS (HBONE) and enforces L4
authorization; a waypoint (a Gateway API ``Gateway`` of class ``istio-waypoint``) adds L7
processing for the Services bound to it. meshgen routes east-west traffic with GAMMA
``HTTPRoute``/``GRPCRoute`` (Beta on waypoints) and keeps to the Gateway API standard channel,
so features that exist only in Istio's classic APIs (VirtualService, DestinationRule: Alpha on
waypoints, and not supported mixed with Gateway API routes for the same traffic) are
approximated or lost.

Sources: ../shared/design/platform-matrix.md (section 1, "Istio ambient" column; sections 11.1,
14.2), https://istio.io/latest/docs/ambient/usage/l4-policy/,
https://istio.io/latest/docs/ambient/usage/l7-features/,
https://istio.io/latest/docs/ambient/usage/waypoint/, https://istio.io/latest/docs/ambient/migrate/
(what ambient does not support: SPIRE, EnvoyFilter on waypoints), each row checked against
../shared/crds.
"""

from __future__ import annotations

from meshgen.capabilities import Capability, Feature
from meshgen.capabilities import Support as _S

N, A, X = _S.NATIVE, _S.APPROXIMATED, _S.NOT_EXPRESSIBLE

_CLASSIC_ON_WAYPOINT = (
    "DestinationRule on the waypoint for every backend Service; Istio documents its classic APIs as Alpha on "
    "waypoints and mixing them with Gateway API routes as unsupported"
)

#: feature -> capability; every :class:`~meshgen.capabilities.Feature` has a cell.
COLUMN: dict[Feature, Capability] = {
    Feature.MTLS_STRICT: Capability(
        N, "ztunnel always uses mTLS (HBONE); PeerAuthentication STRICT also refuses plaintext from outside the mesh"
    ),
    Feature.MTLS_PERMISSIVE: Capability(
        A,
        "PeerAuthentication PERMISSIVE only admits plaintext from callers outside the mesh: traffic between ambient "
        "pods is always mTLS and a DISABLE mode is ignored",
    ),
    Feature.CA_MESH: Capability(N, "istiod's built-in CA signs ztunnel's and waypoints' certificates"),
    Feature.CA_CERT_MANAGER: Capability(
        N, "cert-manager istio-csr (ztunnel trusted for node authentication); istiod's CA server off"
    ),
    Feature.CA_VAULT: Capability(A, "through cert-manager's Vault issuer and istio-csr"),
    Feature.CA_SPIRE: Capability(X, "Istio's ambient migration guide: ambient mode does not support SPIRE integration"),
    Feature.CANARY_WEIGHTS: Capability(N, "waypoint + GAMMA HTTPRoute weighted backendRefs to per-version Services"),
    Feature.REQUEST_ROUTING: Capability(
        N,
        "waypoint + GAMMA HTTPRoute matches (gRPC methods as paths; header prefix matches become regular expressions)",
    ),
    Feature.MIRRORING: Capability(N, "waypoint + HTTPRoute RequestMirror filter"),
    Feature.RETRIES: Capability(
        A,
        "HTTPRoute rules[].retry is Gateway API experimental-channel only: the waypoint applies the mesh-wide "
        "meshConfig.defaultHttpRetryPolicy, which meshgen sets from defaults.retries",
    ),
    Feature.PER_TRY_TIMEOUT: Capability(
        A, "meshConfig.defaultHttpRetryPolicy.perTryTimeout, mesh-wide (from defaults.retries)"
    ),
    Feature.RETRY_BUDGET: Capability(
        A,
        f"{_CLASSIC_ON_WAYPOINT}; trafficPolicy.retryBudget is a concurrency budget (percent of active requests, "
        "minRetryConcurrency) rather than retries per second",
    ),
    Feature.TIMEOUT: Capability(
        N, "waypoint + HTTPRoute timeouts.request (gRPC ports are routed with HTTPRoute too: GRPCRoute has no timeouts)"
    ),
    Feature.OUTLIER_DETECTION: Capability(A, f"outlierDetection in a {_CLASSIC_ON_WAYPOINT}"),
    Feature.EJECTION_LIMITS: Capability(
        A, f"outlierDetection interval / maxEjectionPercent in a {_CLASSIC_ON_WAYPOINT}"
    ),
    Feature.CONNECTION_POOL: Capability(A, f"connectionPool in a {_CLASSIC_ON_WAYPOINT}"),
    Feature.RATE_LIMIT: Capability(
        X,
        "ztunnel cannot rate limit and Istio's ambient migration guide lists EnvoyFilter on waypoints as not "
        "supported; there is no other request rate limit API",
    ),
    Feature.RATE_LIMIT_BURST: Capability(X, "no request rate limit in ambient mode"),
    Feature.FAULT_DELAY: Capability(
        X,
        "Gateway API routes have no fault filter; fault injection exists only in VirtualService, which cannot be mixed "
        "with the service's HTTPRoute",
    ),
    Feature.FAULT_ABORT: Capability(
        X,
        "Gateway API routes have no fault filter; fault injection exists only in VirtualService, which cannot be mixed "
        "with the service's HTTPRoute",
    ),
    Feature.AUTHZ_IDENTITY: Capability(
        N, "AuthorizationPolicy with SPIFFE principals: selector (ztunnel) without a waypoint, targetRefs Service on it"
    ),
    Feature.AUTHZ_L7: Capability(
        N, "waypoint + AuthorizationPolicy targetRefs Service with operation methods/paths (ztunnel would deny all)"
    ),
    Feature.AUTHZ_DEFAULT_DENY: Capability(N, "allow-nothing AuthorizationPolicy per namespace, enforced by ztunnel"),
    Feature.AUTHZ_DENY_RULES: Capability(
        N, "AuthorizationPolicy DENY, evaluated before ALLOW (on the waypoint when L7)"
    ),
    Feature.AUTHZ_BY_VERSION: Capability(
        A, "principals of each version's own service account; versions sharing an identity cannot be told apart"
    ),
    Feature.AUTHZ_AUDIT: Capability(A, "istio.io/dry-run: \"true\" on the AuthorizationPolicies: waypoints log what they would refuse, but ztunnel treats dry-run policies as absent (istio/istio#55414), so L4 rules are not enforced and not logged"),
    Feature.AUTHZ_BY_SELECTOR: Capability(A, "principals of the intent's workloads carrying those labels"),
    Feature.REQUEST_AUTHENTICATION: Capability(
        N, "waypoint + RequestAuthentication and AuthorizationPolicy requestPrincipals, both targetRefs Service"
    ),
    Feature.EGRESS_ALLOW_LIST: Capability(
        A,
        "ServiceEntry per host registers the hosts; ztunnel has no REGISTRY_ONLY outbound policy, so "
        "egressDefaultDeny cannot block other hosts",
    ),
    Feature.GATEWAY_HTTP: Capability(N, "Gateway API Gateway (class istio) + HTTPRoute"),
    Feature.GATEWAY_L4: Capability(
        A,
        "TLSRoute/TCPRoute (gateway.networking.k8s.io/v1 since Gateway API 1.6); Istio documents TLS and TCP routes as Alpha",
    ),
    Feature.GATEWAY_FILTERS: Capability(N, "HTTPRoute filters"),
    Feature.CONTROL_PLANE_HA: Capability(
        N,
        "istiod chart replicaCount/autoscaleMin, PodDisruptionBudget, anti-affinity; waypoints the same through their "
        "Gateway's parametersRef ConfigMap; ztunnel and istio-cni are DaemonSets",
    ),
    Feature.PROXY_RESOURCES: Capability(
        A,
        "ztunnel chart resources (one ztunnel per node, shared by its pods) and istiod chart "
        "global.waypoint.resources (every waypoint)",
    ),
    Feature.TRACING: Capability(
        N, "Telemetry tracing randomSamplingPercentage, applied by waypoints (ztunnel makes no spans)"
    ),
    Feature.ACCESS_LOGS: Capability(N, "Telemetry accessLogging on waypoints; ztunnel logs every connection"),
    Feature.METRICS: Capability(
        N, "istio_requests_total from waypoints, istio_tcp_* from ztunnel, scraped through PodMonitors"
    ),
    Feature.ALERTS: Capability(N, "PrometheusRule on waypoint istio_requests_total, istiod and CA metrics"),
    Feature.ROLLOUT_FLAGGER: Capability(
        N,
        "Canary (provider gatewayapi:v1): Flagger writes the HTTPRoute on the Service that the waypoint applies; MetricTemplates on waypoint istio_requests_total",
    ),
    Feature.ROLLOUT_ARGO: Capability(
        A,
        "Rollout with the Gateway API plugin (argoproj-labs/gatewayAPI) on the service's HTTPRoute with stable/canary "
        "Services; analysis on waypoint istio_requests_total, whose destination_workload is the Rollout's name for stable and canary pods alike",
    ),
}
