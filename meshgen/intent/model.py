"""The intent: what a team wants from its mesh, in no mesh's vocabulary.

One ``MeshIntent`` document (``apiVersion: meshgen.dev/v1alpha1``, ``kind: MeshIntent``) says
which services exist, how traffic between them is shifted, retried and timed out, who may call
whom, and how the mesh's identity and control plane are set up. Platforms (``meshgen.platforms``)
turn it into Istio, Linkerd or Cilium objects.

Conventions: YAML keys are camelCase (the model's aliases); unknown keys are errors
(``extra="forbid"``); durations are Go-style strings (:class:`~meshgen.intent.types.Duration`);
weights and percentages are integer or decimal percent (0-100), never ratios; names follow
DNS-1123. Cross-field rules (weights sum to 100, references resolve, ...) live in
:mod:`meshgen.intent.rules`.
"""

# No ``from __future__ import annotations``: pydantic would evaluate every field annotation from
# its string when building the models, about 6-13 ms of every command (issue 17); the schemas
# are the same either way. Annotations naming a class defined further down are quoted.
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from meshgen.capabilities import Feature
from meshgen.intent.rollout import Delivery, Rollout
from meshgen.intent.types import (
    CpuQuantity,
    Duration,
    HeaderName,
    Hostname,
    HttpPath,
    Labels,
    MemoryQuantity,
    Name,
    QueryParamName,
    Subdomain,
    Text,
    Token,
    cpu_millicores,
    memory_mib,
)

API_VERSION = "meshgen.dev/v1alpha1"
KIND = "MeshIntent"

Protocol = Literal["http", "http2", "grpc", "tcp", "tls", "udp"]
#: Protocols whose requests a mesh proxy parses, so L7 routing and authorization apply.
L7_PROTOCOLS: frozenset[str] = frozenset({"http", "http2", "grpc"})


class IntentModel(BaseModel):
    """Base of every intent model: camelCase keys, unknown keys rejected, frozen once validated.

    Defaults are applied by :func:`meshgen.intent.resolve.resolve`, which returns a new intent.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )


# --- matching -------------------------------------------------------------------------------


class StringMatch(IntentModel):
    """How a request attribute must match: exactly one of ``exact``, ``prefix``, ``regex`` (RE2)."""

    exact: Text | None = Field(None, max_length=4096, description="Match the whole value exactly.")
    prefix: Text | None = Field(None, max_length=4096, description="Match values that start with this text.")
    regex: Text | None = Field(
        None, max_length=4096, description="Match an RE2 regular expression (whole value)."
    )

    @model_validator(mode="after")
    def _one_operator(self) -> "StringMatch":
        given = [k for k in ("exact", "prefix", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"set exactly one of exact, prefix, regex (got {', '.join(given) or 'none'})")
        return self

    @property
    def operator(self) -> str:
        """``exact``, ``prefix`` or ``regex``."""
        return next(k for k in ("exact", "prefix", "regex") if getattr(self, k) is not None)

    @property
    def value(self) -> str:
        """The text to match with :attr:`operator`."""
        return getattr(self, self.operator)


class GrpcMethodMatch(IntentModel):
    """A gRPC method: the fully qualified service (``package.Service``) and optionally a method.

    Rendered as the HTTP/2 path ``/package.Service/Method`` (or a prefix ``/package.Service/``)
    on platforms without a gRPC match, or as a GRPCRoute ``method`` match.
    """

    service: str = Field(
        description="Fully qualified gRPC service, e.g. hipstershop.CartService.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
    )
    method: str | None = Field(
        None, description="Method name, e.g. GetCart; omitted = every method.", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"
    )


class GrpcMethods(IntentModel):
    """gRPC methods a caller may invoke: one fully qualified service and some (or all) of its methods."""

    service: str = Field(
        description="Fully qualified gRPC service, e.g. hipstershop.CartService.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
    )
    methods: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] = Field(
        default_factory=list, description="Method names, e.g. [GetCart]. Default: every method of the service."
    )

    def paths(self) -> list[str]:
        """HTTP/2 paths: ``/hipstershop.CartService/GetCart``, or ``/hipstershop.CartService/*`` for all."""
        if not self.methods:
            return [f"/{self.service}/*"]
        return [f"/{self.service}/{m}" for m in self.methods]


class RequestMatch(IntentModel):
    """Which requests a route applies to. All given conditions must hold (AND).

    Source: Istio HTTPMatchRequest and Gateway API HTTPRouteMatch.
    """

    # At most 16: Gateway API HTTPRouteMatch/GRPCRouteMatch headers and queryParams maxItems 16.
    headers: dict[HeaderName, StringMatch] = Field(
        default_factory=dict, max_length=16, description="Request headers by lower-case name, at most 16. Default: none."
    )
    path: StringMatch | None = Field(None, description="The request path. Default: any path.")
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] | None = Field(
        None, description="The HTTP method. Default: any method."
    )
    query_params: dict[QueryParamName, StringMatch] = Field(
        default_factory=dict, max_length=16, description="Query parameters by name (exact or regex), at most 16. Default: none."
    )
    grpc: GrpcMethodMatch | None = Field(None, description="A gRPC service/method (grpc ports only).")

    @model_validator(mode="after")
    def _gateway_api_lengths(self) -> "RequestMatch":
        # Gateway API HTTPPathMatch.value and HTTPQueryParamMatch.value: maxLength 1024
        # (header values may be 4096, the StringMatch limit).
        for where, match in [("path", self.path), *((f"queryParams.{k}", m) for k, m in self.query_params.items())]:
            if match is not None and len(match.value) > 1024:
                raise ValueError(f"{where} value is {len(match.value)} characters; at most 1024")
        return self


# --- resilience -----------------------------------------------------------------------------

#: Retry triggers: Envoy-style HTTP conditions, then gRPC status names (Istio HTTPRetry.retryOn).
RetryCondition = Literal[
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "refused-stream",
    "retriable-4xx",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
]


class Retries(IntentModel):
    """Retries of failed requests, made by the caller's proxy.

    Source semantics: Istio ``HTTPRetry`` (``attempts`` counts retries, so at most
    ``1 + attempts`` requests), Linkerd ``retry.linkerd.io/*`` annotations.
    """

    attempts: int = Field(
        2, ge=0, le=10, description="Retries after the first try (0 = no retries). Default 2; at most 10."
    )
    per_try_timeout: Duration | None = Field(
        None, description="Timeout of each try, e.g. 200ms. Default: none (the request timeout bounds all tries)."
    )
    retry_on: list[RetryCondition | int] = Field(
        default_factory=lambda: ["5xx", "reset", "connect-failure"],
        description=(
            "Conditions that trigger a retry: Envoy-style names (5xx, gateway-error, reset, connect-failure, "
            "refused-stream, retriable-4xx), gRPC status names (cancelled, deadline-exceeded, internal, "
            "resource-exhausted, unavailable) or HTTP status codes 400-599. Default [5xx, reset, connect-failure]."
        ),
    )

    @model_validator(mode="after")
    def _codes_in_range(self) -> "Retries":
        for cond in self.retry_on:
            if isinstance(cond, int) and not 400 <= cond <= 599:
                raise ValueError(f"retryOn status code {cond} must be between 400 and 599")
        return self


class RetryBudget(IntentModel):
    """A cap on retries relative to regular traffic, so retries cannot snowball into a retry storm.

    Source: Istio DestinationRule ``trafficPolicy.retryBudget`` (percent of active requests,
    minimum retry *concurrency*), Gateway API XBackendTrafficPolicy ``retryConstraint``, Linkerd
    ServiceProfile ``retryBudget`` (ratio 0-1, min retries per second).
    """

    percent: float = Field(20, ge=0, le=100, description="Retries allowed as a percent (0-100) of requests. Default 20.")
    min_retries_per_second: int = Field(
        10, ge=0, le=10_000, description="Retries always allowed per second, whatever the traffic. Default 10."
    )


class CircuitBreaker(IntentModel):
    """Outlier detection (eject failing endpoints) and connection-pool limits.

    Source: Istio DestinationRule ``outlierDetection`` and ``connectionPool``.
    Each field is optional: only what is set is rendered.
    """

    consecutive_errors: int | None = Field(
        None, ge=1, le=1000, description="Consecutive 5xx responses that eject an endpoint. Default: not set."
    )
    interval: Duration | None = Field(None, description="How often endpoints are evaluated, e.g. 10s.")
    base_ejection_time: Duration | None = Field(
        None, description="Minimum ejection time, multiplied by the number of ejections, e.g. 30s."
    )
    max_ejection_percent: int | None = Field(
        None, ge=0, le=100, description="Most endpoints (percent, 0-100) that may be ejected at once."
    )
    max_connections: int | None = Field(None, ge=1, description="Most TCP connections to the service per caller pod.")
    max_pending_requests: int | None = Field(
        None, ge=1, description="Most requests queued waiting for a connection per caller pod."
    )
    max_requests: int | None = Field(None, ge=1, description="Most concurrent requests per caller pod.")

    @property
    def has_outlier_detection(self) -> bool:
        """Whether any outlier-detection (ejection) field is set."""
        return any(
            v is not None
            for v in (self.consecutive_errors, self.interval, self.base_ejection_time, self.max_ejection_percent)
        )

    @property
    def has_connection_pool(self) -> bool:
        """Whether any connection-pool limit is set."""
        return any(v is not None for v in (self.max_connections, self.max_pending_requests, self.max_requests))


class RateLimit(IntentModel):
    """Inbound request rate limit for the whole service (all its pods together)."""

    requests_per_second: int = Field(ge=1, le=1_000_000, description="Sustained requests per second for the service.")
    burst: int | None = Field(
        None, ge=1, description="Requests allowed in a burst above the rate. Default: equal to requestsPerSecond."
    )


class FaultDelay(IntentModel):
    """Delay a share of requests (Istio ``HTTPFaultInjection.Delay``)."""

    fixed_delay: Duration = Field(description="How long to delay, e.g. 7s.")
    percent: float = Field(100, gt=0, le=100, description="Share of requests delayed, percent 0-100. Default 100.")


class FaultAbort(IntentModel):
    """Fail a share of requests with a status (Istio ``HTTPFaultInjection.Abort``)."""

    http_status: int = Field(ge=200, le=599, description="HTTP status returned, e.g. 500.")
    percent: float = Field(100, gt=0, le=100, description="Share of requests aborted, percent 0-100. Default 100.")


class Fault(IntentModel):
    """Fault injection for testing resilience: a delay, an abort, or both."""

    delay: FaultDelay | None = Field(None, description="Delay matched requests.")
    abort: FaultAbort | None = Field(None, description="Fail matched requests.")

    @model_validator(mode="after")
    def _something(self) -> "Fault":
        if self.delay is None and self.abort is None:
            raise ValueError("set delay, abort or both")
        return self


class Mirror(IntentModel):
    """Copy a share of requests to a version; responses of the copy are discarded."""

    version: Name = Field(description="The version receiving the copies.")
    percent: float = Field(100, gt=0, le=100, description="Share of requests copied, percent 0-100. Default 100.")


# --- services -------------------------------------------------------------------------------


class Port(IntentModel):
    """A port of a service."""

    name: Name = Field(description="Port name, unique in the service, e.g. http.")
    port: int = Field(ge=1, le=65535, description="The Service port callers use.")
    target_port: int | None = Field(
        None, ge=1, le=65535, description="The container port the pods listen on. Default: same as port."
    )
    protocol: Protocol = Field("http", description="http | http2 | grpc | tcp | tls | udp. Default http.")

    @property
    def pod_port(self) -> int:
        """The pod's port: ``targetPort`` or ``port``."""
        return self.target_port or self.port

    @property
    def is_l7(self) -> bool:
        """Whether the mesh parses requests on this port (http, http2, grpc)."""
        return self.protocol in L7_PROTOCOLS


class Version(IntentModel):
    """A version (subset) of a service's pods, e.g. a canary."""

    name: Name = Field(description="Version name, e.g. v2.")
    labels: Labels | None = Field(None, description="Pod labels of this version. Default {version: <name>}.")
    weight: int = Field(0, ge=0, le=100, description="Share of default traffic, integer percent. Weights sum to 100.")
    service_account: Name | None = Field(
        None,
        description=(
            "Service account of this version's pods, when versions have their own identity. "
            "Default: the service's serviceAccount."
        ),
    )

    @property
    def pod_labels(self) -> dict[str, str]:
        """The labels selecting this version's pods (on top of the service's selector)."""
        return dict(self.labels) if self.labels is not None else {"version": self.name}


class Route(IntentModel):
    """A rule tried in order before the weighted default route.

    A route without ``match`` applies to all traffic (for example a fault on every request).
    A route without ``version`` sends matched traffic to the service's weighted default split.
    """

    name: Name | None = Field(None, description="Optional name, used in generated rule names.")
    match: RequestMatch | None = Field(None, description="Which requests. Default: all requests.")
    version: Name | None = Field(None, description="Send matched requests to this version. Default: the weighted split.")
    timeout: Duration | None = Field(None, description="Request timeout for matched requests. Default: the service's.")
    retries: Retries | None = Field(None, description="Retries for matched requests. Default: the service's.")
    fault: Fault | None = Field(None, description="Inject faults into matched requests.")
    mirror: Mirror | None = Field(None, description="Copy matched requests to a version.")


class JwtRule(IntentModel):
    """JWT request authentication (Istio ``RequestAuthentication.jwtRules``)."""

    issuer: Text = Field(
        min_length=1, max_length=1024, description="Expected ``iss`` claim, e.g. https://auth.example.com."
    )
    jwks_uri: Token = Field(
        pattern=r"^https?://",
        max_length=2048,
        description="Where the issuer publishes its signing keys (JWKS).",
    )
    audiences: list[Annotated[Text, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, description="Accepted ``aud`` values. Default: any."
    )
    required_claims: dict[
        Annotated[Text, Field(min_length=1, max_length=256)], list[Annotated[Text, Field(max_length=1024)]]
    ] = Field(
        default_factory=dict,
        description="Claims a token must carry, claim name -> accepted values, e.g. {groups: [admin]}.",
    )


class Peer(IntentModel):
    """One caller (or group of callers) in an ``allowFrom`` / ``denyFrom`` list.

    Exactly one of ``service``, ``gateway``, ``serviceAccount``, ``selector``, ``namespace`` names
    the caller (``namespace`` may also qualify ``serviceAccount`` and ``selector``). ``ports``,
    ``methods``, ``paths`` and ``grpc`` narrow what the caller may do; ``methods``, ``paths`` and
    ``grpc`` only apply to http, http2 and grpc ports.
    """

    service: Name | None = Field(None, description="A service of this intent.")
    versions: list[Name] = Field(
        default_factory=list, description="Only these versions of `service` (default: every version)."
    )
    gateway: Name | None = Field(None, description="A gateway of this intent.")
    service_account: Name | None = Field(None, description="A workload identity outside the intent (with namespace).")
    selector: Labels | None = Field(
        None,
        description=(
            "Workloads carrying these labels (with namespace). An empty selector ({}) is refused unless "
            "namespaceWide is true."
        ),
    )
    namespace_wide: bool = Field(
        False,
        description=(
            "Confirms that an empty selector ({}) means every workload of the namespace (namespace, default: the "
            "callee's), inside or outside the intent, as namespace alone does, on every platform. Default false."
        ),
    )
    namespace: Name | None = Field(
        None,
        description=(
            "Alone: any workload of this namespace. With serviceAccount or selector: their namespace. "
            "With service: which namespace's service of that name (only needed when the name is ambiguous)."
        ),
    )
    ports: list[Name | int] = Field(
        default_factory=list, description="Only these ports of the callee, by name or number. Default: all its ports."
    )
    methods: list[Annotated[Text, Field(max_length=64)]] = Field(
        default_factory=list, description="Only these HTTP methods, e.g. [GET]. Default: any."
    )
    paths: list[Annotated[Text, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list,
        description="Only these paths: exact (/a), prefix (/a/*), or suffix (*.png). Default: any.",
    )
    grpc: GrpcMethods | None = Field(None, description="Only these gRPC methods (grpc ports only).")

    @model_validator(mode="after")
    def _one_caller(self) -> "Peer":
        named = [k for k in ("service", "gateway", "service_account", "selector") if getattr(self, k) is not None]
        if len(named) > 1:
            raise ValueError(f"name one caller: service, gateway, serviceAccount or selector (got {', '.join(named)})")
        if not named and self.namespace is None:
            raise ValueError("name the caller: service, gateway, serviceAccount, selector or namespace")
        if self.service_account is not None and self.namespace is None:
            raise ValueError("serviceAccount needs namespace (the namespace of that service account)")
        if self.versions and self.service is None:
            raise ValueError("versions only narrows a service caller")
        if self.namespace_wide and self.selector != {}:
            raise ValueError("namespaceWide only confirms an empty selector: write selector: {} with it")
        if named and named[0] == "gateway" and self.namespace is not None:
            raise ValueError("gateway callers take their namespace from the intent; remove namespace")
        for method in self.methods:
            if not re.fullmatch(r"[A-Z]+", method):
                raise ValueError(f"method {method!r} must be an upper-case HTTP method such as GET")
        for path in self.paths:
            if not (path.startswith("/") or path.startswith("*")) or "*" in path[1:-1]:
                raise ValueError(f"path {path!r} must be /exact, /prefix/* or *suffix (one * at an end)")
        return self

    @property
    def is_l7(self) -> bool:
        """Whether this entry restricts requests (methods, paths, gRPC), not only connections."""
        return bool(self.methods or self.paths or self.grpc)


class Probe(IntentModel):
    """A kubelet health probe of the service's pods, declared so meshes keep admitting it.

    The kubelet calls from the node, without a mesh identity. Meshes that authorize every caller
    must let these requests through; Linkerd does so by itself only while no route is attached
    to the port's ``Server`` (https://linkerd.io/2.19/features/server-policy/#default-authorizations).
    """

    port: Name | int = Field(description="The service port the probe targets, by name or Service port number.")
    path: HttpPath | None = Field(
        None,
        description=(
            "httpGet path, e.g. /healthz (http and http2 ports: required). Omit on grpc ports: a gRPC probe "
            "calls grpc.health.v1.Health/Check."
        ),
    )


class Suppression(IntentModel):
    """A finding of ``meshgen analyze`` that a team accepts, with the reason (reported, never hidden).

    The codes are listed in docs/analyzers.md; an unknown code is an error.
    """

    code: str = Field(pattern=r"^MG[0-9]{3}$", description="The analyzer code, e.g. MG103.")
    reason: Text = Field(min_length=1, max_length=1024, description="Why the finding is accepted; printed with -o json.")


#: What a service may accept to be widened to where a platform cannot enforce its restriction
#: (``services[].widenAccess``). Without it, meshgen refuses the caller instead (fails closed).
Widening = Literal["shared-identity", "l4", "without-jwt"]


class Service(IntentModel):
    """A service of the application and everything the mesh should do for calls to it."""

    name: Name = Field(description="Service name (the Kubernetes Service).")
    namespace: Name | None = Field(None, description="Namespace. Default: defaults.namespace.")
    service_account: Name | None = Field(None, description="Service account of its pods. Default: the service name.")
    selector: Labels | None = Field(None, description="Labels of its pods. Default {app: <name>}.")
    replicas: int = Field(1, ge=1, le=10_000, description="Pods of the service; per-pod limits divide by it. Default 1.")
    ports: list[Port] = Field(min_length=1, description="Ports, at least one.")
    # At most 16: the weighted default is one rule whose backendRefs (maxItems 16 in Gateway API
    # HTTPRoute/GRPCRoute) name one per-version Service each.
    versions: list[Version] = Field(default_factory=list, max_length=16, description="Versions, at most 16; integer weights summing to 100.")
    routes: list[Route] = Field(default_factory=list, description="Rules tried in order before the weighted default.")
    timeout: Duration | None = Field(None, description="Request timeout (all tries). Default: defaults.timeout.")
    retries: Retries | None = Field(None, description="Retries. Default: defaults.retries; none there = no retries.")
    retry_budget: RetryBudget | None = Field(None, description="Retry budget. Default: defaults.retryBudget.")
    circuit_breaker: CircuitBreaker | None = Field(None, description="Circuit breaking. Default: defaults.circuitBreaker.")
    rate_limit: RateLimit | None = Field(None, description="Inbound rate limit for the whole service. Default: none.")
    allow_from: list[Peer] = Field(
        default_factory=list, description="Who may call this service; under mesh.defaultDeny all else is denied."
    )
    deny_from: list[Peer] = Field(
        default_factory=list, description="Callers always denied, evaluated before allowFrom."
    )
    request_authentication: JwtRule | None = Field(
        None, description="Require a valid JWT from this issuer on every request to the service."
    )
    probes: list[Probe] = Field(
        default_factory=list,
        description="Kubelet httpGet and gRPC probes of its pods (tcpSocket probes need none). Default: none.",
    )
    suppress: list[Suppression] = Field(
        default_factory=list,
        description="Findings of meshgen analyze accepted for this service, each with a reason. Default: none.",
    )
    enforcement: Literal["enforce", "audit"] | None = Field(
        None,
        description="This service's access rules: enforce | audit (see mesh.enforcement). Default: mesh.enforcement.",
    )
    rollout: Rollout | None = Field(
        None,
        description=(
            "Progressive delivery: a controller (Flagger or Argo Rollouts) shifts traffic to a new version in steps "
            "and rolls back on failed analysis. Replaces static versions. Default: none."
        ),
    )
    widen_access: list[Widening] = Field(
        default_factory=list,
        description=(
            "Where a platform cannot enforce one of this service's access restrictions, admit more instead of "
            "refusing: shared-identity (callers scoped by versions or labels are admitted as their whole service "
            "account), l4 (callers restricted by methods, paths or gRPC methods are admitted on the whole port), "
            "without-jwt (requestAuthentication is not checked). Default: none, so what cannot be enforced is refused."
        ),
    )

    @model_validator(mode="after")
    def _probes_on_l7_ports(self) -> "Service":
        for probe in self.probes:
            port = self.port_named(probe.port)
            if port is None:
                known = ", ".join(p.name for p in self.ports)
                raise ValueError(f"probe port {probe.port!r} is not a port of {self.name}; expected one of: {known}")
            if port.protocol in ("http", "http2") and probe.path is None:
                raise ValueError(f"probe on {port.protocol} port {port.name} needs path (the httpGet path)")
            if port.protocol == "grpc" and probe.path is not None:
                raise ValueError(f"probe on grpc port {port.name} takes no path: gRPC probes call grpc.health.v1.Health/Check")
            if not port.is_l7:
                raise ValueError(f"probe on {port.protocol} port {port.name}: only httpGet and gRPC probes are declared")
        return self

    #: Settings taken from ``spec.defaults`` by :func:`meshgen.intent.resolve.resolve` (attribute names).
    _inherited: frozenset[str] = PrivateAttr(default=frozenset())

    def inherited(self, attr: str) -> bool:
        """Whether ``attr`` (``timeout``, ``retries``, ``retry_budget``, ``circuit_breaker``) came from defaults."""
        return attr in self._inherited

    @property
    def pod_selector(self) -> dict[str, str]:
        """Labels selecting every pod of the service (the resolved ``selector``)."""
        return dict(self.selector or {"app": self.name})

    @property
    def identity(self) -> str:
        """The resolved service account name."""
        return self.service_account or self.name

    def port_named(self, ref: str | int) -> Port | None:
        """The port with this name or Service port number, if any."""
        for port in self.ports:
            if port.name == ref or port.port == ref:
                return port
        return None

    def version_named(self, name: str) -> Version | None:
        """The version with this name, if any."""
        return next((v for v in self.versions if v.name == name), None)


# --- gateways -------------------------------------------------------------------------------


class Listener(IntentModel):
    """A port a gateway accepts traffic on (Gateway API ``Gateway.spec.listeners[]``)."""

    name: Name | None = Field(None, description="Listener name. Default: <protocol>-<port>, e.g. https-443.")
    port: int = Field(ge=1, le=65535, description="Port the gateway listens on.")
    protocol: Literal["HTTP", "HTTPS", "TLS", "TCP"] = Field(description="HTTP | HTTPS | TLS | TCP.")
    hostname: Hostname | None = Field(None, description="Only this hostname (SNI / Host). Default: the gateway's.")
    tls_secret: Name | None = Field(None, description="Secret with the certificate (HTTPS, or TLS terminate).")
    tls_mode: Literal["terminate", "passthrough"] = Field(
        "terminate", description="TLS listeners: terminate at the gateway or pass through to the backend."
    )

    @property
    def resolved_name(self) -> str:
        """The listener's name, given or derived."""
        return self.name or f"{self.protocol.lower()}-{self.port}"


class HeaderEdits(IntentModel):
    """Header changes applied to a request or response (Gateway API HeaderModifier filters)."""

    set: dict[HeaderName, Annotated[Text, Field(min_length=1, max_length=4096)]] = Field(
        default_factory=dict, max_length=16, description="Set (replace) these headers, at most 16."
    )
    add: dict[HeaderName, Annotated[Text, Field(min_length=1, max_length=4096)]] = Field(
        default_factory=dict, max_length=16, description="Add these header values, at most 16."
    )
    # set/add/remove: Gateway API HTTPHeaderFilter set, add and remove maxItems 16 each.
    remove: list[HeaderName] = Field(default_factory=list, max_length=16, description="Remove these headers, at most 16.")


class Rewrite(IntentModel):
    """Rewrite a request before forwarding (Gateway API URLRewrite)."""

    path_prefix: HttpPath | None = Field(None, description="Replace the matched path prefix with this.")
    path: HttpPath | None = Field(None, description="Replace the whole path.")
    hostname: Hostname | None = Field(None, description="Replace the Host header.")


class Redirect(IntentModel):
    """Answer with a redirect instead of forwarding (Gateway API RequestRedirect)."""

    scheme: Literal["http", "https"] | None = Field(None, description="Redirect to this scheme. Default: unchanged.")
    hostname: Hostname | None = Field(None, description="Redirect to this host. Default: unchanged.")
    port: int | None = Field(None, ge=1, le=65535, description="Redirect to this port. Default: the scheme's.")
    path: HttpPath | None = Field(None, description="Redirect to this path. Default: unchanged.")
    status_code: Literal[301, 302] = Field(302, description="301 (permanent) or 302 (temporary). Default 302.")


class GatewayRoute(IntentModel):
    """A north-south route from a gateway to a service of the intent."""

    name: Name | None = Field(None, description="Route name. Default: derived from the gateway and service.")
    # Gateway API HTTPRoute/GRPCRoute spec.hostnames maxItems 16.
    hostnames: list[Hostname] = Field(default_factory=list, max_length=16, description="Only these hostnames, at most 16. Default: the gateway's.")
    listener: Name | None = Field(None, description="Attach to this listener only. Default: every matching listener.")
    match: RequestMatch | None = Field(None, description="Which requests (HTTP). Default: all.")
    service: Name | None = Field(None, description="Backend service (not with redirect).")
    namespace: Name | None = Field(None, description="Namespace of the backend service. Default: the service's.")
    port: int | None = Field(None, ge=1, le=65535, description="Service port. Default: the service's first port.")
    timeout: Duration | None = Field(None, description="Request timeout at the gateway.")
    rewrite: Rewrite | None = Field(None, description="Rewrite path or host before forwarding (HTTP).")
    redirect: Redirect | None = Field(None, description="Answer with a redirect instead of forwarding (HTTP).")
    request_headers: HeaderEdits | None = Field(None, description="Edit request headers before forwarding (HTTP).")
    response_headers: HeaderEdits | None = Field(None, description="Edit response headers (HTTP).")

    @model_validator(mode="after")
    def _backend_or_redirect(self) -> "GatewayRoute":
        if (self.service is None) == (self.redirect is None):
            raise ValueError("a gateway route needs exactly one of service or redirect")
        return self


class Gateway(IntentModel):
    """A north-south entry point: a Gateway API ``Gateway`` and its routes."""

    name: Name = Field(description="Gateway name (the Gateway API Gateway).")
    namespace: Name | None = Field(None, description="Namespace. Default: defaults.namespace.")
    class_name: Subdomain | None = Field(
        None, description="GatewayClass. Default: the platform's own (istio, cilium; nginx without a mesh); Linkerd has none."
    )
    service_account: Name | None = Field(
        None, description="Identity of the gateway's pods. Default: what the platform deploys (<name>-istio on Istio)."
    )
    # Gateway API: route spec.hostnames maxItems 16, Gateway spec.listeners maxItems 64, and a
    # route's spec.parentRefs (one per listener it attaches to) maxItems 32.
    hostnames: list[Hostname] = Field(default_factory=list, max_length=16, description="Hostnames served, at most 16. Default: any.")
    listeners: list[Listener] = Field(min_length=1, max_length=32, description="Ports the gateway accepts, 1 to 32.")
    routes: list[GatewayRoute] = Field(default_factory=list, description="Routes to services of the intent.")


# --- egress ---------------------------------------------------------------------------------


class EgressHost(IntentModel):
    """An external host the mesh's workloads may call."""

    host: str = Field(
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$",
        description="DNS name, e.g. api.stripe.com, or *.example.com.",
    )
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: [443], min_length=1, description="Ports (1-65535, each once). Default [443]."
    )
    protocol: Literal["http", "tls", "tcp", "grpc"] = Field("tls", description="http | tls | tcp | grpc. Default tls.")

    @field_validator("ports")
    @classmethod
    def _ports_once(cls, ports: list[int]) -> list[int]:
        # Each port becomes an object (or a rule) of its own on some platforms: a repeat would be
        # planned twice.
        repeated = sorted({p for p in ports if ports.count(p) > 1})
        if repeated:
            raise ValueError(f"port {repeated[0]} is listed more than once")
        return ports


# --- mesh -----------------------------------------------------------------------------------


class IssuerRef(IntentModel):
    """A cert-manager issuer (``cert-manager.io`` Issuer or ClusterIssuer)."""

    kind: Literal["Issuer", "ClusterIssuer"] = "ClusterIssuer"
    name: Name
    group: Subdomain = "cert-manager.io"


class CertificateAuthority(IntentModel):
    """Who signs workload certificates, and how long each level of the chain lives.

    Chain: root (trust anchor) -> issuer (intermediate) -> workload certificate. Lifetimes must be
    strictly ordered: ``certLifetime < issuerLifetime < rootLifetime``.
    """

    type: Literal["mesh", "cert-manager", "vault", "spire"] = Field(
        "mesh", description="mesh (the mesh's own CA) | cert-manager | vault (via cert-manager) | spire."
    )
    cert_lifetime: Duration = Field(Duration(24 * 3_600_000), description="Workload certificate lifetime. Default 24h.")
    issuer_lifetime: Duration = Field(
        Duration(8760 * 3_600_000), description="Intermediate (issuer) lifetime. Default 8760h (1 year)."
    )
    root_lifetime: Duration = Field(
        Duration(87600 * 3_600_000), description="Root / trust anchor lifetime. Default 87600h (10 years)."
    )
    renew_before: Duration | None = Field(
        None, description="Renew issuer and root this long before expiry. Default: a third of each lifetime."
    )
    issuer_ref: IssuerRef | None = Field(
        None, description="The cert-manager issuer of the mesh root (vault: required). Default: a self-signed root."
    )
    ca_namespace: Name = Field(
        "cert-manager",
        description=(
            "cert-manager and vault: namespace of the self-signed root (trust anchor) Certificate and its Secret. "
            "Must be cert-manager's cluster resource namespace (where a ClusterIssuer reads its CA Secret) and "
            "trust-manager's trust namespace. Default cert-manager."
        ),
    )


class ControlPlane(IntentModel):
    """Control-plane availability: replicas of istiod, the Linkerd controllers, or the Cilium operator."""

    replicas: int = Field(2, ge=1, le=20, description="Control-plane replicas. 1 is a single point of failure. Default 2.")
    max_replicas: int | None = Field(
        None, ge=1, le=50, description="Autoscale up to this many where the chart supports it. Default: no autoscaling."
    )
    namespace: Name | None = Field(
        None,
        description="Namespace the control plane is installed in. Default: the platform's own (meshgen platforms lists it).",
    )


class ResourceAmounts(IntentModel):
    """CPU and memory of one container, as Kubernetes quantities; either may be left out.

    Semantics: a container's ``resources.requests`` / ``resources.limits``
    (https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/).
    """

    cpu: CpuQuantity | None = Field(None, description="CPU, e.g. 100m or 0.5 (cores).")
    memory: MemoryQuantity | None = Field(None, description="Memory, e.g. 128Mi or 1Gi.")


class ProxyResources(IntentModel):
    """Requests (what the scheduler reserves) and limits (the most the proxy may use) of the proxy.

    A request above its limit is refused, as Kubernetes refuses the pod
    (https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits).
    A value left out keeps the platform chart's default.
    """

    requests: ResourceAmounts | None = Field(None, description="Requests: cpu and memory.")
    limits: ResourceAmounts | None = Field(None, description="Limits: cpu and memory.")

    @model_validator(mode="after")
    def _request_within_limit(self) -> "ProxyResources":
        if self.requests is None or self.limits is None:
            return self
        for name, measure in (("cpu", cpu_millicores), ("memory", memory_mib)):
            request, limit = getattr(self.requests, name), getattr(self.limits, name)
            if request is not None and limit is not None and measure(request) > measure(limit):
                raise ValueError(f"requests.{name} {request} is above limits.{name} {limit}")
        return self


class Proxy(IntentModel):
    """The data-plane proxy, mesh-wide (the sidecar, or the per-node proxy where the platform has one)."""

    resources: ProxyResources | None = Field(
        None,
        description=(
            "Requests and limits of every data-plane proxy, rendered into the platform's Helm values and used "
            "by meshgen cost. Default: the chart's."
        ),
    )


class Mesh(IntentModel):
    """Mesh-wide security settings."""

    mtls: Literal["strict", "permissive"] = Field("strict", description="strict | permissive. Default strict.")
    trust_domain: str = Field(
        "cluster.local", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="SPIFFE trust domain. Default cluster.local."
    )
    default_deny: bool = Field(True, description="Deny every call not allowed by an allowFrom. Default true.")
    # Staged rollout of default-deny; semantics per platform in meshgen/platforms/enforcement.py
    # (Istio istio.io/dry-run, Linkerd audit policy, Cilium policyAuditMode).
    enforcement: Literal["enforce", "audit"] = Field(
        "enforce",
        description=(
            "enforce | audit. audit renders each platform's dry-run/audit mode: calls the rules would refuse "
            "are logged, not refused (Istio istio.io/dry-run, Linkerd audit, Cilium policyAuditMode); a "
            "platform without one reports it and enforces. Default enforce."
        ),
    )
    egress_default_deny: bool = Field(
        False, description="Only the hosts in spec.egress may be called outside the mesh. Default false."
    )
    ca: CertificateAuthority = Field(default_factory=CertificateAuthority)
    control_plane: ControlPlane = Field(default_factory=ControlPlane)
    proxy: Proxy | None = Field(
        None, description="The data-plane proxy's resources (meshgen platforms says which proxy each target has)."
    )
    encryption: Literal["wireguard", "ipsec"] = Field(
        "wireguard",
        description=(
            "Cilium only: transparent node-to-node encryption, wireguard | ipsec. Default wireguard. "
            "Istio and Linkerd encrypt with their own mTLS and ignore it."
        ),
    )


class Tracing(IntentModel):
    """Distributed tracing."""

    sampling_percent: float = Field(1.0, ge=0, le=100, description="Percent (0-100) of requests traced. Default 1.")
    provider: Name = Field("otel", description="Name of the tracing provider. Default otel.")
    endpoint: Token | None = Field(
        None, max_length=512, description="OTLP gRPC collector, host:port, e.g. otel-collector.observability:4317."
    )


class AccessLogs(IntentModel):
    """Proxy access logs."""

    enabled: bool = True
    format: Literal["text", "json"] = "json"


class Alerts(IntentModel):
    """Prometheus alerts for the mesh team (a PrometheusRule)."""

    enabled: bool = True
    namespace: Name | None = Field(None, description="Namespace of the PrometheusRule. Default: defaults.namespace.")
    error_rate_percent: float = Field(5, gt=0, le=100, description="Alert above this percent of 5xx. Default 5.")
    certificate_expiry_days: int = Field(30, ge=1, le=365, description="Alert this many days before expiry. Default 30.")
    labels: Labels = Field(default_factory=dict, description="Labels the Prometheus rule selector expects.")


class Telemetry(IntentModel):
    """Observability: tracing, access logs, metrics and alerts."""

    tracing: Tracing | None = None
    access_logs: AccessLogs | None = None
    metrics: bool = Field(True, description="Scrape proxy metrics (ServiceMonitor/PodMonitor where needed).")
    monitor_labels: Labels = Field(
        default_factory=dict,
        description="Labels on generated PodMonitor/ServiceMonitor objects, for Prometheus' monitor selectors. Default: none.",
    )
    alerts: Alerts = Field(default_factory=Alerts)


# --- document -------------------------------------------------------------------------------


class Defaults(IntentModel):
    """Values every service inherits unless it sets its own."""

    namespace: Name = Field("default", description="Namespace of services and gateways. Default: default.")
    timeout: Duration | None = Field(None, description="Request timeout of every service. Default: none.")
    retries: Retries | None = Field(None, description="Retries of every service. Default: no retries.")
    retry_budget: RetryBudget | None = Field(None, description="Retry budget of every service. Default: none.")
    circuit_breaker: CircuitBreaker | None = Field(None, description="Circuit breaking of every service. Default: none.")


def _registered_platform(value: str) -> str:
    """``spec.platform`` must name a registered platform (meshgen.platforms.registry)."""
    from meshgen.errors import did_you_mean
    from meshgen.platforms.registry import names  # imported late: the platforms import this module

    known = names()
    if value not in known:
        raise ValueError(f"unknown platform {value!r}{did_you_mean(value, known)}; expected one of: {', '.join(known)}")
    return value


def _default_platform() -> str:
    from meshgen.platforms.registry import DEFAULT

    return DEFAULT


def _platform_enum(schema: dict[str, Any]) -> None:
    """JSON Schema of ``spec.platform``: an enum of the registered names (editors complete them)."""
    from meshgen.platforms.registry import DEFAULT, names

    schema["enum"] = list(names())
    schema["default"] = DEFAULT


class AcceptedLoss(IntentModel):
    """A loss the team accepts on a platform that cannot express part of the intent (``acceptedLosses``).

    ``meshgen render`` still prints it (as ``accepted``), but does not refuse (exit 3) because of it.
    A security restriction is never widened by accepting its loss: see ``services[].widenAccess``.
    """

    feature: Literal[tuple(f.value for f in Feature)] = Field(  # type: ignore[valid-type]
        description="The capability feature, as `meshgen platforms` and the findings name it, e.g. retry-budget."
    )
    service: str | None = Field(
        None,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Only for this service (name or namespace/name), or mesh, or gateway <ns>/<name>. Default: everywhere.",
    )
    platform: Annotated[str, AfterValidator(_registered_platform)] | None = Field(
        None, description="Only on this platform. Default: every platform."
    )
    reason: Text = Field(
        min_length=1, max_length=1024, description="Why the loss is acceptable (shown with the finding)."
    )


class Context(IntentModel):
    """Where and by whom the application runs: read by ``meshgen advise`` and ``meshgen cost`` only,
    never rendered. Every field is optional; an unknown fact is left out, not guessed.

    The thresholds these facts are compared with live in ``meshgen/data/advise-rules.yaml``, each
    with its source (README "Before you choose").
    """

    teams: int | None = Field(
        None, ge=1, le=10_000, description="Teams owning the services (2 or more: a mesh gives them one policy layer)."
    )
    languages: int | None = Field(
        None, ge=1, le=100, description="Programming languages the services are written in (2 or more: polyglot)."
    )
    mtls_required: bool = Field(
        False, description="Mutual TLS between workloads is a hard requirement (compliance), not a default. Default false."
    )
    clusters: int = Field(1, ge=1, le=1_000, description="Kubernetes clusters (or datacenters) the services span. Default 1.")
    vms: bool = Field(False, description="Workloads on virtual machines outside Kubernetes must join. Default false.")
    kernel_version: str | None = Field(
        None,
        pattern=r"^[0-9]{1,3}\.[0-9]{1,3}$",
        description='Oldest Linux kernel of the nodes, major.minor, quoted ("5.15": YAML reads 5.10 as 5.1).',
    )
    latency_slo: Duration | None = Field(
        None, description="Budget the mesh may add to the p99 of one request along the longest call path, e.g. 20ms."
    )
    operational_capacity: Literal["low", "medium", "high"] = Field(
        "medium",
        description="How much platform operation the team can take on: low | medium | high. Default medium.",
    )
    nodes: int | None = Field(None, ge=1, le=100_000, description="Nodes of the cluster(s), for per-node costs.")


class Spec(IntentModel):
    """The body of an intent."""

    platform: Annotated[str, AfterValidator(_registered_platform)] = Field(
        default_factory=_default_platform,
        description="Default target; the --platform option overrides it.",
        json_schema_extra=_platform_enum,
    )
    mesh: Mesh = Field(default_factory=Mesh)
    telemetry: Telemetry = Field(default_factory=Telemetry)
    defaults: Defaults = Field(default_factory=Defaults, description="Values every service inherits.")
    services: list[Service] = Field(default_factory=list, description="The application's services.")
    gateways: list[Gateway] = Field(default_factory=list, description="North-south entry points.")
    egress: list[EgressHost] = Field(default_factory=list, description="External hosts workloads may call.")
    delivery: Delivery = Field(default_factory=Delivery, description="Progressive-delivery settings of every rollout.")
    suppress: list[Suppression] = Field(
        default_factory=list,
        description=(
            "Findings of meshgen analyze accepted everywhere in the intent (mesh-wide ones such as MG301), "
            "each with a reason. Default: none."
        ),
    )
    accepted_losses: list[AcceptedLoss] = Field(
        default_factory=list,
        description="Losses accepted with a reason: rendered without refusing (the --accept-loss option does the same).",
    )
    context: Context | None = Field(
        None, description="Facts for meshgen advise and cost (teams, clusters, kernel, latency SLO...); never rendered."
    )


class Metadata(IntentModel):
    """Intent metadata."""

    name: Name = Field(description="Name of the application, used in generated names and comments.")


class MeshIntent(IntentModel):
    """A meshgen intent document."""

    api_version: Literal["meshgen.dev/v1alpha1"] = Field(description="Always meshgen.dev/v1alpha1.")
    kind: Literal["MeshIntent"] = Field(description="Always MeshIntent.")
    metadata: Metadata = Field(description="Which application this intent describes.")
    spec: Spec = Field(description="What the application wants from its mesh.")
    #: Lookup tables built on first use by :func:`meshgen.intent.index.memo`; not part of the intent.
    _tables: tuple[list, int, dict[str, Any]] | None = PrivateAttr(default=None)

    def service(self, name: str, namespace: str | None = None) -> Service | None:
        """The service with this name (and namespace, when given)."""
        for svc in self.spec.services:
            if svc.name == name and (namespace is None or svc.namespace == namespace):
                return svc
        return None

    def gateway(self, name: str) -> Gateway | None:
        """The gateway with this name."""
        return next((g for g in self.spec.gateways if g.name == name), None)

    def namespaces(self) -> list[str]:
        """Namespaces of the intent's services and gateways (resolved), sorted."""
        spec = self.spec
        return sorted({s.namespace or "" for s in spec.services} | {g.namespace or "" for g in spec.gateways})
