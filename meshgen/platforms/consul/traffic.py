"""Traffic management: ServiceDefaults, ServiceResolver, ServiceSplitter, ServiceRouter per service.

Consul evaluates a *discovery chain* in the caller's sidecar: router (ordered HTTP matches) ->
splitter (weights) -> resolver (subsets, timeouts). meshgen writes, per service:

* ``ServiceDefaults`` (always): ``protocol`` from the mesh port, so Consul never guesses it and
  L7 config entries are accepted; ``upstreamConfig.overrides`` with the passive health check
  (outlier detection) and limits (connection pool) of every intent service it may call (its
  allowFrom, or every service when the callee is open) that has a ``circuitBreaker``: the
  caller's sidecar enforces them, so they go in the callers' entries
  (https://developer.hashicorp.com/consul/docs/reference/config-entry/service-defaults#upstreamconfig).
* ``ServiceResolver`` (versions): one subset per version, ``filter: Service.Meta.version ==
  "<version>"``, ``onlyPassing: true``. Consul filters on service-instance metadata, not pod
  labels: the pods must carry ``consul.hashicorp.com/service-meta-version: <version>``.
* ``ServiceSplitter`` (versions): weights as percent (float, summing to exactly 100; versions at
  weight 0 are left out, as Consul needs no split for them).
* ``ServiceRouter`` (routes, timeout or retries): the intent's routes in order, then a catch-all
  (``pathPrefix: /``) carrying the service's timeout and retries, because unmatched requests
  skip the router's destinations and would get neither. ``requestTimeout`` covers the request
  *and all its retries*; Consul has no per-try timeout, no retry budget, no mirroring and (CE)
  no fault injection: each is reported.

Field names: ../shared/crds/consul (ServiceDefaults, ServiceResolver, ServiceSplitter,
ServiceRouter); retry conditions: Consul ``isValidRetryCondition`` (``agent/structs/
config_entry_discoverychain.go``), which accepts every intent condition by the same name.
Sources: https://developer.hashicorp.com/consul/docs/reference/config-entry/service-router,
.../service-splitter, .../service-resolver, platform-matrix.md sections 4-8 and 17.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.index import memo
from meshgen.intent.model import CircuitBreaker, MeshIntent, RequestMatch, Retries, Route, Service, StringMatch
from meshgen.intent.types import Duration
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.consul.common import API, META_ANNOTATION, VERSION_META, is_l7, protocol, subject
from meshgen.platforms.identity import workloads

# Characters with a meaning in RE2; escaping them with "\" keeps them literal.
_RE2_SPECIAL = frozenset(".[]{}()*+?^$|\\")


def literal(text: str) -> str:
    """``text`` as an RE2 expression matching exactly it: ``a.b`` -> ``a\\.b``."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


def duration(value: Duration) -> str:
    """A Go duration (Consul parses config-entry durations with ``time.ParseDuration``)."""
    return gapi.duration(value)


def subset_filter(version: str) -> str:
    """The ServiceResolver subset filter selecting instances of ``version``."""
    return f'Service.Meta.{VERSION_META} == "{version}"'


def version_annotation(version: str) -> dict[str, str]:
    """The pod annotation that makes an instance match :func:`subset_filter` (``version``)."""
    return {META_ANNOTATION + VERSION_META: version}


# --- ServiceDefaults ------------------------------------------------------------------------


def passive_health_check(cb: CircuitBreaker) -> dict[str, Any]:
    """Intent outlier detection -> ``passiveHealthCheck`` (Envoy outlier detection on consecutive 5xx).

    ``consecutiveErrors`` -> ``maxFailures`` with ``enforcingConsecutive5xx: 100`` (always eject
    when detected, Envoy's default, written out); ``interval``, ``baseEjectionTime`` (multiplied
    by the ejection count, as in the intent) and ``maxEjectionPercent`` keep their names.
    """
    out: dict[str, Any] = {}
    if cb.interval is not None:
        out["interval"] = duration(cb.interval)
    if cb.consecutive_errors is not None:
        out["maxFailures"] = cb.consecutive_errors
        out["enforcingConsecutive5xx"] = 100
    if cb.max_ejection_percent is not None:
        out["maxEjectionPercent"] = cb.max_ejection_percent
    if cb.base_ejection_time is not None:
        out["baseEjectionTime"] = duration(cb.base_ejection_time)
    return out


def limits(cb: CircuitBreaker) -> dict[str, Any]:
    """Intent connection pool -> ``limits`` (Envoy circuit breakers of the caller's upstream cluster)."""
    out: dict[str, Any] = {}
    if cb.max_connections is not None:
        out["maxConnections"] = cb.max_connections
    if cb.max_pending_requests is not None:
        out["maxPendingRequests"] = cb.max_pending_requests
    if cb.max_requests is not None:
        out["maxConcurrentRequests"] = cb.max_requests
    return out


def upstream_overrides(intent: MeshIntent, report: Report) -> dict[str, list[dict[str, Any]]]:
    """Per calling service name, the ``upstreamConfig.overrides`` entries for its callees.

    Returns ``{caller name: [override, ...]}`` with one override per other intent service that has
    a circuit breaker, sorted by callee name.
    """
    overrides: list[tuple[Service, dict[str, Any]]] = []
    for svc in sorted(intent.spec.services, key=lambda s: s.name):
        cb = svc.circuit_breaker
        if cb is None:
            continue
        entry: dict[str, Any] = {"name": svc.name}
        if cb.has_outlier_detection:
            report.use(Feature.OUTLIER_DETECTION, subject(svc))
            if cb.interval is not None or cb.max_ejection_percent is not None:
                report.use(Feature.EJECTION_LIMITS, subject(svc))
            entry["passiveHealthCheck"] = passive_health_check(cb)
        if cb.has_connection_pool:
            report.use(Feature.CONNECTION_POOL, subject(svc))
            entry["limits"] = limits(cb)
        if len(entry) == 1:
            continue
        overrides.append((svc, entry))
        outside = _callers_outside_intent(intent, svc)
        feature = Feature.OUTLIER_DETECTION if cb.has_outlier_detection else Feature.CONNECTION_POOL
        if not outside and not _intent_callers(intent, svc):
            # The settings live in the callers' ServiceDefaults: with no caller they are written nowhere.
            detail = (
                f"circuit breaking is configured in the callers' ServiceDefaults (upstreamConfig.overrides) and no "
                f"other service may call {svc.name}, so it is written nowhere"
            )
            if any(p.service == svc.name for p in svc.allow_from):
                report.approximated(feature, subject(svc), detail + f"; {svc.name} calls itself without it")
            else:
                report.no_effect(feature, subject(svc), detail)
        if outside:
            report.approximated(
                feature,
                subject(svc),
                f"circuit breaking is configured in the callers' ServiceDefaults (upstreamConfig.overrides), so only the "
                f"intent's services apply it; {outside} call {svc.name} without it",
            )
    out: dict[str, list[dict[str, Any]]] = {svc.name: [] for svc in intent.spec.services}
    for callee, entry in overrides:
        for name in sorted(_intent_callers(intent, callee)):
            out[name].append(entry)
    return out


def _intent_callers(intent: MeshIntent, svc: Service) -> set[str]:
    """Names of the intent's services that may call ``svc`` (every other one when it is open).

    Only the callers' ServiceDefaults need ``svc``'s upstream override; writing it into every
    service would grow quadratically with the intent. Names are looked up in per-intent tables
    (:func:`meshgen.intent.index.memo`), not by scanning every service for every callee.
    """
    names = memo(intent, "service-names", _service_names)
    if not intent.spec.mesh.default_deny and not svc.allow_from:
        return set(names) - {svc.name}
    out: set[str] = set()
    for peer in svc.allow_from:
        ns = peer.namespace or svc.namespace
        if peer.service is not None:
            out.add(peer.service)
        elif peer.service_account is not None:
            out.add(peer.service_account)  # kept only when a service has that name (below)
        elif peer.selector is not None:
            wanted = set(peer.selector.items())
            out |= {w.service.name for w in workloads(intent) if w.namespace == ns and wanted <= set(w.labels)}
        elif peer.gateway is None:
            out |= memo(intent, "service-names-by-namespace", _names_by_namespace).get(peer.namespace, frozenset())
    out &= names
    out.discard(svc.name)
    return out


def _service_names(intent: MeshIntent) -> frozenset[str]:
    return frozenset(s.name for s in intent.spec.services)


def _names_by_namespace(intent: MeshIntent) -> dict[str | None, frozenset[str]]:
    out: dict[str | None, set[str]] = {}
    for s in intent.spec.services:
        out.setdefault(s.namespace, set()).add(s.name)
    return {ns: frozenset(members) for ns, members in out.items()}


def _callers_outside_intent(intent: MeshIntent, svc: Service) -> str:
    """Who may call ``svc`` without being an intent service (so without its upstream overrides)."""
    who = []
    if any(r.service == svc.name for gw in intent.spec.gateways for r in gw.routes):
        who.append("gateways")
    if not intent.spec.mesh.default_deny and not svc.allow_from:
        who.append("any meshed workload outside the intent")
    elif any(p.service is None and p.gateway is None for p in svc.allow_from):
        who.append("workloads outside the intent named in allowFrom")
    return " and ".join(who)


def service_defaults(intent: MeshIntent, svc: Service, overrides: list[dict[str, Any]], labels: dict[str, str]) -> PlannedObject:
    """The service's ``ServiceDefaults``: protocol and its upstreams' circuit breakers."""
    spec: dict[str, Any] = {"protocol": protocol(svc)}
    if overrides:
        spec["upstreamConfig"] = {"overrides": overrides}
    return PlannedObject("consul/service-defaults.yaml.j2", API, "ServiceDefaults", svc.name, svc.namespace, {"labels": labels, "spec": spec})


# --- versions: resolver and splitter -------------------------------------------------------


def resolver(svc: Service, labels: dict[str, str]) -> PlannedObject:
    """``ServiceResolver`` with one subset per version (healthy instances only)."""
    subsets = {v.name: {"filter": subset_filter(v.name), "onlyPassing": True} for v in svc.versions}
    return PlannedObject("consul/service-resolver.yaml.j2", API, "ServiceResolver", svc.name, svc.namespace, {"labels": labels, "subsets": subsets})


def splitter(svc: Service, labels: dict[str, str]) -> PlannedObject:
    """``ServiceSplitter`` with the versions' weights (percent; zero weights left out)."""
    splits = [{"weight": float(v.weight), "serviceSubset": v.name} for v in svc.versions if v.weight > 0]
    return PlannedObject("consul/service-splitter.yaml.j2", API, "ServiceSplitter", svc.name, svc.namespace, {"labels": labels, "splits": splits})


# --- router ---------------------------------------------------------------------------------


def _header(name: str, m: StringMatch) -> dict[str, Any]:
    return {"name": name, m.operator: m.value}


def _query(name: str, m: StringMatch) -> dict[str, Any]:
    # Consul query matches have exact and regex only; a prefix becomes an anchored regex.
    if m.operator == "prefix":
        return {"name": name, "regex": literal(m.value) + ".*"}
    return {"name": name, m.operator: m.value}


def http_match(match: RequestMatch | None) -> dict[str, Any]:
    """Intent match -> ServiceRouter ``match.http`` (empty: the route matches every request).

    Paths: exact -> ``pathExact``, prefix -> ``pathPrefix``, regex -> ``pathRegex``; a gRPC
    method -> ``pathExact /pkg.Service/Method`` (a whole service: ``pathPrefix /pkg.Service/``).
    Headers keep their operator (Consul has exact, prefix and regex); methods -> ``methods``.
    """
    out: dict[str, Any] = {}
    if match is None:
        return out
    if match.path is not None:
        key = {"exact": "pathExact", "prefix": "pathPrefix", "regex": "pathRegex"}[match.path.operator]
        out[key] = match.path.value
    elif match.grpc is not None:
        g = match.grpc
        if g.method:
            out["pathExact"] = f"/{g.service}/{g.method}"
        else:
            out["pathPrefix"] = f"/{g.service}/"
    if match.headers:
        out["header"] = [_header(k, v) for k, v in sorted(match.headers.items())]
    if match.query_params:
        out["queryParam"] = [_query(k, v) for k, v in sorted(match.query_params.items())]
    if match.method is not None:
        out["methods"] = [match.method]
    return out


def retry_fields(retries: Retries | None) -> dict[str, Any]:
    """Intent retries -> ServiceRouter destination fields (empty: no retries, Consul's default)."""
    if retries is None or retries.attempts == 0:
        return {}
    out: dict[str, Any] = {"numRetries": retries.attempts}
    conditions = [c for c in retries.retry_on if isinstance(c, str)]
    codes = sorted({c for c in retries.retry_on if isinstance(c, int)})
    if conditions:
        out["retryOn"] = conditions
    if codes:
        out["retryOnStatusCodes"] = codes
    return out


def destination(svc: Service, route: Route | None) -> dict[str, Any]:
    """The destination of the rule for ``route`` (None: the catch-all): subset, timeout, retries."""
    out: dict[str, Any] = {}
    if route is not None and route.version is not None:
        out["serviceSubset"] = route.version
    timeout = route.timeout if route is not None and route.timeout is not None else svc.timeout
    retries = route.retries if route is not None and route.retries is not None else svc.retries
    if timeout is not None:
        out["requestTimeout"] = duration(timeout)
    out.update(retry_fields(retries))
    return out


def router(svc: Service, labels: dict[str, str], report: Report) -> PlannedObject | None:
    """``ServiceRouter`` for the service's routes, timeout and retries; None when it needs none."""
    sub = subject(svc)
    routes: list[dict[str, Any]] = []
    for index, route in enumerate(svc.routes):
        name = route.name or f"routes[{index}]"
        if route.fault is not None:
            if route.fault.delay is not None:
                report.use(Feature.FAULT_DELAY, sub, f"route {name}: the delay of {route.fault.delay.fixed_delay} is dropped (Consul Enterprise only)")
            if route.fault.abort is not None:
                report.use(Feature.FAULT_ABORT, sub, f"route {name}: the abort with {route.fault.abort.http_status} is dropped (Consul Enterprise only)")
        if route.mirror is not None:
            report.use(Feature.MIRRORING, sub, f"route {name}: copies to {route.mirror.version} are dropped")
        dest = destination(svc, route)
        if route.match is None and route.version is None and route.timeout is None and route.retries is None:
            continue  # a fault- or mirror-only rule: nothing left for Consul to route
        entry: dict[str, Any] = {}
        found = http_match(route.match)
        entry["match"] = {"http": found if found else {"pathPrefix": "/"}}
        entry["destination"] = dest
        routes.append(entry)
    catch_all = destination(svc, None)
    if catch_all:
        routes.append({"match": {"http": {"pathPrefix": "/"}}, "destination": catch_all})
    if not routes:
        return None
    return PlannedObject("consul/service-router.yaml.j2", API, "ServiceRouter", svc.name, svc.namespace, {"labels": labels, "routes": routes})


def resilience_findings(svc: Service, report: Report) -> None:
    """Per-try timeouts and retry budgets, which Consul cannot keep."""
    sub = subject(svc)
    tries = [r for r in [svc.retries, *(route.retries for route in svc.routes)] if r is not None and r.attempts > 0]
    for retries in tries:
        if retries.per_try_timeout is not None:
            report.use(
                Feature.PER_TRY_TIMEOUT,
                sub,
                f"perTryTimeout {retries.per_try_timeout} is dropped: Consul's requestTimeout bounds the request and all "
                "its retries together, and a try is cut only by it",
            )
    if svc.retry_budget is not None and tries:
        report.use(
            Feature.RETRY_BUDGET,
            sub,
            f"retryBudget {svc.retry_budget.percent:g}% / {svc.retry_budget.min_retries_per_second} per second is dropped: "
            "each request is still retried at most numRetries times",
        )


def plan_traffic(
    intent: MeshIntent, svc: Service, overrides: list[dict[str, Any]], labels: dict[str, str], report: Report
) -> list[PlannedObject]:
    """Every traffic config entry of ``svc``; what an L4 service cannot carry is reported."""
    sub = subject(svc)
    if protocol(svc) is None:
        return []
    out = [service_defaults(intent, svc, overrides, labels)]
    if svc.rate_limit is not None:
        report.use(
            Feature.RATE_LIMIT,
            sub,
            f"{svc.rate_limit.requests_per_second} requests/s is dropped: ServiceDefaults rateLimits is a Consul Enterprise feature",
        )
        if svc.rate_limit.burst is not None:
            report.use(Feature.RATE_LIMIT_BURST, sub, f"burst {svc.rate_limit.burst} is dropped with the rate limit")
    if not is_l7(svc):
        _l4_losses(intent, svc, report)
        return out
    if svc.versions:
        out.append(resolver(svc, labels))
        out.append(splitter(svc, labels))
        annotations = ", ".join(f"{v.name}: consul.hashicorp.com/service-meta-version={v.name}" for v in svc.versions)
        report.approximated(
            Feature.CANARY_WEIGHTS,
            sub,
            "Consul selects versions by service-instance metadata, not pod labels: annotate each version's pod template "
            f"({annotations}), or its pods join no subset",
        )
    routed = router(svc, labels, report)
    if routed is not None:
        out.append(routed)
    resilience_findings(svc, report)
    return out


def _l4_losses(intent: MeshIntent, svc: Service, report: Report) -> None:
    sub = subject(svc)
    proto = protocol(svc)
    why = f"{svc.name}'s protocol is {proto}: ServiceRouter and ServiceSplitter need http, http2 or grpc"
    if svc.versions:
        report.lost(Feature.CANARY_WEIGHTS, sub, why)
    if svc.routes:
        report.lost(Feature.REQUEST_ROUTING, sub, why)
    for attr, feature in (("timeout", Feature.TIMEOUT), ("retries", Feature.RETRIES)):
        value = getattr(svc, attr)
        if value is None or (attr == "retries" and value.attempts == 0):
            continue
        if value is getattr(intent.spec.defaults, attr):
            report.approximated(feature, sub, f"defaults.{attr} does not apply: {why}")
        else:
            report.lost(feature, sub, why)
