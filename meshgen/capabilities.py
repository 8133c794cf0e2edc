"""The vocabulary of the capability matrix: features, support levels, findings, the report.

Each platform package holds its own column (``meshgen/platforms/<name>/capabilities.py``): for
every :class:`Feature`, whether the platform expresses it natively, approximates it (and how), or
cannot express it at all. :func:`meshgen.platforms.registry.matrix` assembles the columns of the
registered platforms into the matrix ``meshgen platforms`` prints. Platforms never decide a
support level in their planning code: they record a :class:`Finding` through :class:`Report`,
which takes the level from their column. ``meshgen render`` prints the findings of one intent and
refuses to write when intent would be lost (``NOT_EXPRESSIBLE``) unless ``--allow-loss`` is given.

Sources: ../shared/design/platform-matrix.md (Istio 1.30, Linkerd 2.19, Cilium 1.19, Gateway
API 1.6), each cell verified against ../shared/crds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping


class Support(str, Enum):
    """How well a platform expresses a feature."""

    NATIVE = "native"
    APPROXIMATED = "approximated"
    NOT_EXPRESSIBLE = "not-expressible"


class Severity(str, Enum):
    """How much a finding matters, most severe first (``meshgen render`` prints them in this order).

    * ``critical``: an outage waiting to happen, whatever else the intent says: a trust anchor or
      issuer that nothing rotates, a rotation that needs a manual step, after which every meshed
      connection fails at once. Marked ``CRITICAL`` and printed first.
    * ``error``: intent is lost (support ``not-expressible``): the render is refused (exit 3) unless
      the loss is accepted. Every loss is at least an error.
    * ``warning``: intent is kept with different semantics (support ``approximated``).
    * ``info``: nothing the intent asks for happens differently: a setting that has no effect where
      it is written (a retry budget on a service that does not retry, ``caNamespace`` with a CA that
      has no cert-manager root), or a note.

    The names follow the analyzers' severities (:mod:`meshgen.analyze`, SARIF's levels) plus
    ``critical``, as in syslog (RFC 5424 severity 2).
    """

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical ... 3 for info: sort key, most severe first."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.ERROR: 1, Severity.WARNING: 2, Severity.INFO: 3}
_DEFAULT_SEVERITY = {Support.NOT_EXPRESSIBLE: Severity.ERROR, Support.APPROXIMATED: Severity.WARNING, Support.NATIVE: Severity.INFO}


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
    AUTHZ_AUDIT = "authz-audit"
    REQUEST_AUTHENTICATION = "request-authentication"
    EGRESS_ALLOW_LIST = "egress-allow-list"
    GATEWAY_HTTP = "gateway-http"
    GATEWAY_L4 = "gateway-l4"
    GATEWAY_FILTERS = "gateway-filters"
    CONTROL_PLANE_HA = "control-plane-ha"
    PROXY_RESOURCES = "proxy-resources"
    TRACING = "tracing"
    ACCESS_LOGS = "access-logs"
    METRICS = "metrics"
    ALERTS = "alerts"
    ROLLOUT_FLAGGER = "rollout-flagger"
    ROLLOUT_ARGO = "rollout-argo-rollouts"


#: Port protocols the matrix tells apart (``services[].ports[].protocol``; udp carries no L7 and
#: no mesh feature beyond L4, so it is judged as tcp).
PROTOCOLS: tuple[str, ...] = ("http", "http2", "grpc", "tcp", "tls")


@dataclass(frozen=True)
class Capability:
    """One cell of the matrix: how ``platform`` handles ``feature``, per port protocol.

    Attributes:
        support: the level on every protocol not listed in ``protocols``.
        how: how the platform expresses it (or why it cannot).
        protocols: the protocols where the level differs, as ``(protocol, support, why)`` with
            ``protocol`` in :data:`PROTOCOLS`. Default: none (the same on every protocol).
            Request-level features on tcp and tls come from :data:`CONNECTION_ONLY` instead, the
            same for every platform (see :func:`cell`).
    """

    support: Support
    how: str
    protocols: tuple[tuple[str, Support, str], ...] = ()

    def on(self, protocol: str) -> Support:
        """The support level on ``protocol`` (udp counts as tcp)."""
        protocol = "tcp" if protocol == "udp" else protocol
        return next((s for p, s, _ in self.protocols if p == protocol), self.support)

    def why_on(self, protocol: str) -> str:
        """What happens on ``protocol``: its own reason where it differs, else :attr:`how`."""
        protocol = "tcp" if protocol == "udp" else protocol
        return next((w for p, _, w in self.protocols if p == protocol), self.how)


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
    Feature.AUTHZ_AUDIT: "mesh.enforcement / services[].enforcement: audit",
    Feature.REQUEST_AUTHENTICATION: "services[].requestAuthentication (JWT)",
    Feature.EGRESS_ALLOW_LIST: "egress / mesh.egressDefaultDeny",
    Feature.GATEWAY_HTTP: "gateways (HTTP/HTTPS listeners)",
    Feature.GATEWAY_L4: "gateways (TCP / TLS passthrough listeners)",
    Feature.GATEWAY_FILTERS: "gateways[].routes[].rewrite / redirect / headers",
    Feature.CONTROL_PLANE_HA: "mesh.controlPlane.replicas",
    Feature.PROXY_RESOURCES: "mesh.proxy.resources",
    Feature.TRACING: "telemetry.tracing",
    Feature.ACCESS_LOGS: "telemetry.accessLogs",
    Feature.METRICS: "telemetry.metrics",
    Feature.ALERTS: "telemetry.alerts",
    Feature.ROLLOUT_FLAGGER: "services[].rollout with controller flagger",
    Feature.ROLLOUT_ARGO: "services[].rollout with controller argo-rollouts",
}


#: Features that act on requests: a tcp or tls port carries connections, so no platform can apply
#: them there (Istio: timeouts, retries and fault injection are HTTPRoute fields, TCPRoute has only
#: match and route, https://istio.io/latest/docs/reference/config/networking/virtual-service/#TCPRoute;
#: Gateway API: TCPRoute/TLSRoute rules have only backendRefs; Linkerd: "timeouts and retries ...
#: HTTPRoute or GRPCRoute", https://linkerd.io/2-edge/reference/timeouts/; Cilium: L7 policy
#: needs an L7 parser on the port, https://docs.cilium.io/en/stable/security/policy/language/#layer-7-examples).
CONNECTION_ONLY_REASON = "a tcp or tls port carries connections, not requests: nothing to time out, retry, limit or match"
CONNECTION_ONLY: frozenset[Feature] = frozenset(
    {
        Feature.TIMEOUT,
        Feature.RETRIES,
        Feature.PER_TRY_TIMEOUT,
        Feature.RETRY_BUDGET,
        Feature.RATE_LIMIT,
        Feature.RATE_LIMIT_BURST,
        Feature.FAULT_DELAY,
        Feature.FAULT_ABORT,
        Feature.MIRRORING,
        Feature.AUTHZ_L7,
        Feature.REQUEST_AUTHENTICATION,
    }
)


def cell(feature: Feature, capability: Capability) -> Capability:
    """``capability`` with the shared protocol rule added: request-level features
    (:data:`CONNECTION_ONLY`) are not expressible on tcp and tls, unless the column says otherwise.

    The one place both the printed matrix (:func:`meshgen.platforms.registry.matrix`) and the loss
    judge (:mod:`meshgen.platforms.effects`) read a cell from.
    """
    if feature not in CONNECTION_ONLY:
        return capability
    own = {p for p, _, _ in capability.protocols}
    extra = tuple((p, Support.NOT_EXPRESSIBLE, CONNECTION_ONLY_REASON) for p in ("tcp", "tls") if p not in own)
    return Capability(capability.support, capability.how, capability.protocols + extra)


def protocol_note(capability: Capability) -> str:
    """The protocols where a cell differs, for the printed matrix: ``""`` when it does not, else
    e.g. ``"tcp, tls: not-expressible"`` (protocols with the same level joined, in :data:`PROTOCOLS` order)."""
    levels: dict[Support, list[str]] = {}
    for protocol in PROTOCOLS:
        level = capability.on(protocol)
        if level is not capability.support:
            levels.setdefault(level, []).append(protocol)
    return "; ".join(f"{', '.join(ps)}: {level.value}" for level, ps in levels.items())


@dataclass(frozen=True, order=True)
class Finding:
    """One place where this intent meets a platform limit.

    Attributes:
        subject: what it concerns: ``bookinfo/reviews`` (a service), ``gateway bookinfo/public``, ``mesh``.
        feature: the matrix row.
        support: taken from the platform's column (or NOT_EXPRESSIBLE when this instance cannot be kept).
        detail: what happens to this intent on this platform.
        severity: how much it matters (:class:`Severity`); default from ``support`` (not-expressible:
            error, approximated: warning, native: info). A loss is never below error. Not part of
            equality or order: the same finding is the same whatever its severity.
    """

    subject: str
    feature: Feature
    support: Support
    detail: str
    severity: Severity = field(default=None, compare=False)  # type: ignore[assignment]  # None -> from support

    def __post_init__(self) -> None:
        severity = self.severity or _DEFAULT_SEVERITY[self.support]
        if self.support is Support.NOT_EXPRESSIBLE and severity.rank > Severity.ERROR.rank:
            severity = Severity.ERROR
        object.__setattr__(self, "severity", severity)

    @property
    def loses_intent(self) -> bool:
        """Whether rendering would drop part of the intent."""
        return self.support is Support.NOT_EXPRESSIBLE


@dataclass
class Report:
    """Collects the findings of one platform's plan; support levels come from its column.

    Attributes:
        platform: the platform's registered name.
        column: its capabilities, feature -> :class:`Capability` (``Platform.capabilities``).
    """

    platform: str
    column: Mapping[Feature, Capability] = field(repr=False)
    findings: list[Finding] = field(default_factory=list)
    _seen: set[Finding] = field(default_factory=set, repr=False, compare=False)  # O(1) de-duplication

    def use(self, feature: Feature, subject: str, detail: str | None = None, severity: Severity | None = None) -> None:
        """Record that ``subject`` uses ``feature``; kept only when the platform is not native."""
        cap = self.column[feature]
        if cap.support is not Support.NATIVE:
            self._add(Finding(subject, feature, cap.support, detail or cap.how, severity))

    def lost(self, feature: Feature, subject: str, detail: str, severity: Severity | None = None) -> None:
        """Record that this instance of ``feature`` cannot be expressed, whatever the matrix says (error or critical)."""
        self._add(Finding(subject, feature, Support.NOT_EXPRESSIBLE, detail, severity))

    def approximated(self, feature: Feature, subject: str, detail: str, severity: Severity | None = None) -> None:
        """Record an instance-specific approximation (the intent is kept, with different semantics; default warning)."""
        self._add(Finding(subject, feature, Support.APPROXIMATED, detail, severity))

    def no_effect(self, feature: Feature, subject: str, detail: str) -> None:
        """Record a setting that has no effect where it is written and loses nothing (severity info)."""
        self._add(Finding(subject, feature, Support.APPROXIMATED, detail, Severity.INFO))

    def _add(self, finding: Finding) -> None:
        if finding not in self._seen:
            self._seen.add(finding)
            self.findings.append(finding)

    def sorted(self) -> tuple[Finding, ...]:
        """Findings in a stable order: by subject, then feature."""
        return tuple(sorted(self.findings, key=lambda f: (f.subject, f.feature.value, f.detail)))
