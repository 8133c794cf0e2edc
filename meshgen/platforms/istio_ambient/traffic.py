"""Traffic on the waypoint: GAMMA routes, backend policy, and what ambient cannot carry.

* Routes. A service bound to a waypoint gets GAMMA ``HTTPRoute`` objects with the Service as
  parentRef (:func:`meshgen.platforms.gateway_api.mesh_routes`): ordered matches, then the
  weighted default over per-version Services, ``timeouts.request`` and RequestMirror filters.
  Istio documents HTTPRoute on waypoints as Beta and recommends it over VirtualService (Alpha in
  ambient, and unsupported mixed with HTTPRoute for the same traffic):
  https://istio.io/latest/docs/ambient/usage/l7-features/. gRPC ports get HTTPRoutes too
  (:func:`as_http`), because ``GRPCRoute`` has no timeouts.
  ``timeouts.backendRequest`` is never written: Istio turns it into the per-try timeout only when
  the rule has a ``retry`` stanza and otherwise into the *request* timeout
  (istio/istio ``pilot/pkg/config/kube/gateway/conversion.go``).
* Retries. ``HTTPRoute.rules[].retry`` exists only in the Gateway API experimental channel and
  meshgen's output stays valid against the standard channel. A route without ``retry`` gets
  istiod's mesh-wide ``meshConfig.defaultHttpRetryPolicy`` (istio/istio
  ``pilot/pkg/networking/core/route/route.go``), and without that, Istio's own default of 2
  retries. :func:`mesh_retry_policy` sets it from ``defaults.retries`` (``attempts: 0`` when the
  intent has none, so "no retries" stays true); a route whose retries differ is reported lost.
* Backend policy. Circuit breaking and the retry budget become a ``DestinationRule`` for each
  Service the waypoint sends to (the service, or each per-version Service): the waypoint applies
  DestinationRule traffic policies (https://istio.io/latest/docs/ambient/migrate/), but Istio
  documents its classic APIs as Alpha on waypoints (reported as approximated).
* Not expressible: fault injection (only VirtualService has it) and request rate limits (ztunnel
  cannot, and EnvoyFilter on waypoints is not supported: https://istio.io/latest/docs/ambient/migrate/);
  weights on TCP ports (GAMMA routes here carry HTTP and gRPC only).
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, RequestMatch, Retries, Route, Service
from meshgen.intent.types import Duration
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.istio_ambient.waypoints import Waypoint

NETWORKING = "networking.istio.io/v1"


def fqdn(name: str, namespace: str) -> str:
    """A Service's cluster-local DNS name, as Istio resolves hosts."""
    return f"{name}.{namespace}.svc.cluster.local"


def mesh_retry_policy(intent: MeshIntent) -> dict[str, Any]:
    """istiod's ``meshConfig.defaultHttpRetryPolicy`` (an Istio ``HTTPRetry``) from ``defaults.retries``.

    Returns ``{"attempts": 0}`` when the intent sets no default retries: Istio would otherwise
    retry every waypoint route twice. Source: https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/
    (``defaultHttpRetryPolicy``), platform-matrix.md section 6.
    """
    retries = intent.spec.defaults.retries
    if retries is None or retries.attempts == 0:
        return {"attempts": 0}
    out: dict[str, Any] = {"attempts": retries.attempts, "retryOn": ",".join(str(c) for c in retries.retry_on)}
    if retries.per_try_timeout is not None:
        out["perTryTimeout"] = str(retries.per_try_timeout)
    return out


def _effective(svc: Service, route: Route | None) -> tuple[Duration | None, Retries | None]:
    timeout = route.timeout if route is not None and route.timeout is not None else svc.timeout
    retries = route.retries if route is not None and route.retries is not None else svc.retries
    return timeout, retries


def _retrying(retries: Retries | None) -> bool:
    return retries is not None and retries.attempts > 0


def _retry_text(retries: Retries | None, per_try: bool = True) -> str:
    if not _retrying(retries):
        return "no retries"
    assert retries is not None
    text = f"{retries.attempts} {'retry' if retries.attempts == 1 else 'retries'} on {', '.join(map(str, retries.retry_on))}"
    return text + (f", {retries.per_try_timeout} per try" if per_try and retries.per_try_timeout is not None else "")


def plan_traffic(intent: MeshIntent, svc: Service, waypoint: Waypoint | None, report: Report) -> list[PlannedObject]:
    """GAMMA routes, per-version Services and DestinationRules of ``svc``, with its findings.

    Args:
        waypoint: the waypoint ``svc`` is bound to; None when ztunnel alone carries it (then no
            L7 feature is in its intent, see :func:`~.waypoints.l7_needs`).
    """
    subject = f"{svc.namespace}/{svc.name}"
    _unsupported(svc, report, subject)
    if waypoint is None:
        return []
    out = _routes(intent, svc, report, subject)
    out.extend(_backend_policy(intent, svc, report, subject))
    return out


def _unsupported(svc: Service, report: Report, subject: str) -> None:
    """Findings for intent ambient cannot express, whether or not the service has a waypoint."""
    for index, route in enumerate(svc.routes):
        name = route.name or f"routes[{index}]"
        if route.fault is not None and route.fault.delay is not None:
            report.use(
                Feature.FAULT_DELAY,
                subject,
                f"route {name}: the {route.fault.delay.fixed_delay} delay on {route.fault.delay.percent:g}% of requests is "
                "not injected: Gateway API routes have no fault filter, and a VirtualService cannot be mixed with the "
                "service's HTTPRoute in ambient mode",
            )
        if route.fault is not None and route.fault.abort is not None:
            report.use(
                Feature.FAULT_ABORT,
                subject,
                f"route {name}: the HTTP {route.fault.abort.http_status} abort on {route.fault.abort.percent:g}% of requests "
                "is not injected: Gateway API routes have no fault filter, and a VirtualService cannot be mixed with the "
                "service's HTTPRoute in ambient mode",
            )
    if svc.rate_limit is not None:
        report.use(
            Feature.RATE_LIMIT,
            subject,
            f"{svc.rate_limit.requests_per_second} requests/s is not enforced: ztunnel cannot rate limit and Istio does "
            "not support EnvoyFilter on waypoints (https://istio.io/latest/docs/ambient/migrate/)",
        )
        if svc.rate_limit.burst is not None:
            report.use(
                Feature.RATE_LIMIT_BURST,
                subject,
                f"burst {svc.rate_limit.burst} is not enforced: no rate limit in ambient mode",
            )
    l4 = [p for p in svc.ports if not p.is_l7 and p.protocol != "udp"]
    if len(svc.versions) > 1 and l4:
        names = ", ".join(f"{p.name} ({p.protocol})" for p in l4)
        report.lost(
            Feature.CANARY_WEIGHTS,
            subject,
            f"meshgen's GAMMA routes carry HTTP and gRPC only: connections to port {names} spread over every "
            "version's pods, not by the version weights",
        )


def _routes(intent: MeshIntent, svc: Service, report: Report, subject: str) -> list[PlannedObject]:
    l7 = [p for p in svc.ports if p.is_l7]
    if not l7:
        return []
    _route_findings(intent, svc, report, subject)

    def extras(service: Service, route: Route | None) -> dict[str, Any]:
        timeout, _ = _effective(service, route)
        return {"timeouts": {"request": gapi.duration(timeout)}} if timeout is not None else {}

    routes = []
    for obj in gapi.mesh_routes(intent, as_http(svc), extras, mirror=True):
        values = dict(obj.values)
        if _trivial(svc, values["rules"]):
            continue  # the waypoint routes to the Service anyway; the route would carry nothing
        routes.append(PlannedObject(obj.template, obj.api_version, obj.kind, obj.name, obj.namespace, values))
    out = list(routes)
    if svc.versions and routes:
        out.extend(gapi.version_services(intent, svc))
    return out


def as_http(svc: Service) -> Service:
    """``svc`` with its gRPC ports routed as HTTP/2, so its mesh routes are HTTPRoutes.

    gRPC is HTTP/2 ``POST /<package.Service>/<Method>``: an HTTPRoute path match expresses a gRPC
    method match (``Exact /pkg.Svc/Method``, segment-aware ``PathPrefix /pkg.Svc``), and unlike
    GRPCRoute it has ``timeouts`` and can match paths, HTTP methods and query parameters. Istio
    documents HTTPRoute on waypoints (Beta; GRPCRoute is not in its waypoint table,
    https://istio.io/latest/docs/ambient/usage/l7-features/) and translates both kinds to the same
    route configuration, without checking the port's protocol (istio/istio
    ``pilot/pkg/config/kube/gateway/route_collections.go``). The Service keeps ``appProtocol: grpc``.
    """
    if not any(p.protocol == "grpc" for p in svc.ports):
        return svc
    ports = [p.model_copy(update={"protocol": "http2"}) if p.protocol == "grpc" else p for p in svc.ports]
    return svc.model_copy(update={"ports": ports})


def _trivial(svc: Service, rules: list[dict[str, Any]]) -> bool:
    """Whether a GAMMA route only sends everything to the Service itself (no weights, no timeouts)."""
    return (
        len(rules) == 1
        and set(rules[0]) == {"backendRefs"}
        and [r["name"] for r in rules[0]["backendRefs"]] == [svc.name]
    )


def _route_findings(intent: MeshIntent, svc: Service, report: Report, subject: str) -> None:
    default = intent.spec.defaults.retries
    mesh_text = _retry_text(default)
    rules: list[tuple[str, Route | None]] = [(r.name or f"routes[{i}]", r) for i, r in enumerate(svc.routes)]
    rules.append(("default", None))
    for name, route in rules:
        retries = svc.retries if route is None else route.retries
        if route is not None and route.retries is None:
            retries = None  # inherits the service's: covered by the "default" rule's finding
        where = "" if route is None else f" (route {name})"
        if route is None or route.retries is not None:
            wanted = retries
            same_attempts = _retrying(wanted) == _retrying(default) and (
                not _retrying(wanted) or (wanted.attempts, wanted.retry_on) == (default.attempts, default.retry_on)
            )
            if not same_attempts:
                report.lost(
                    Feature.RETRIES,
                    subject,
                    f"{_retry_text(wanted, per_try=False)}{where} cannot be set per route: HTTPRoute rules[].retry is Gateway "
                    f"API experimental-channel only, so the waypoint applies the mesh-wide default ({mesh_text})",
                )
            elif _retrying(wanted):
                report.use(
                    Feature.RETRIES,
                    subject,
                    f"{_retry_text(wanted, per_try=False)}{where} come from istiod's mesh-wide "
                    "meshConfig.defaultHttpRetryPolicy (HTTPRoute rules[].retry is Gateway API experimental-channel only)",
                )
            mesh_per_try = default.per_try_timeout if same_attempts and _retrying(default) else None
            if _retrying(wanted) and wanted.per_try_timeout != mesh_per_try:
                report.lost(
                    Feature.PER_TRY_TIMEOUT,
                    subject,
                    f"per-try timeout {wanted.per_try_timeout or 'none'}{where} cannot be set per route: the waypoint "
                    f"applies the mesh-wide default ({mesh_text})",
                )
            elif _retrying(wanted) and wanted.per_try_timeout is not None:
                report.use(
                    Feature.PER_TRY_TIMEOUT,
                    subject,
                    f"perTryTimeout {wanted.per_try_timeout}{where} comes from istiod's mesh-wide meshConfig.defaultHttpRetryPolicy",
                )
    for detail in _precedence_inversions(svc):
        report.approximated(Feature.REQUEST_ROUTING, subject, detail)


def _http_rank(match: RequestMatch | None) -> tuple[int, int, int, int, int]:
    """HTTPRoute match precedence (https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule):
    exact path, longest prefix, method, most headers, most query parameters. No path = prefix ``/``."""
    if match is None:
        return (0, 1, 0, 0, 0)
    exact, prefix = 0, 1
    if match.path is not None:
        exact = int(match.path.operator == "exact")
        prefix = len(match.path.value) if match.path.operator == "prefix" else 0
    elif match.grpc is not None:
        exact = int(match.grpc.method is not None)
        prefix = 0 if exact else len(f"/{match.grpc.service}")
    return (exact, prefix, int(match.method is not None), len(match.headers), len(match.query_params))


def _precedence_inversions(svc: Service) -> list[str]:
    """Why the waypoint may try a later intent route before an earlier one, for every such pair.

    The intent tries routes in order; Istio sorts HTTPRoute rules by Gateway API match
    precedence (specificity) and keeps list order only between equally specific matches.
    """
    out: list[str] = []
    named = [(r.name or f"routes[{i}]", r) for i, r in enumerate(svc.routes)]
    order = "Gateway API orders rules by match specificity, not by position"
    for i, (first, a) in enumerate(named):
        for second, b in named[i + 1 :]:
            regex = any(
                r.match is not None and r.match.path is not None and r.match.path.operator == "regex" for r in (a, b)
            )
            if regex and a.match is not None and b.match is not None:
                out.append(
                    f"route {first} or route {second} matches the path with a regular expression, whose precedence "
                    f"Gateway API leaves to the implementation: the waypoint may try {second} first where both match; "
                    f"the intent tries {first} first"
                )
            elif _http_rank(b.match) > _http_rank(a.match):
                out.append(
                    f"route {second} has a more specific HTTP match than route {first}, so the waypoint tries it first "
                    f"where both match ({order}); the intent tries {first} first"
                )
    return out


def _backend_policy(intent: MeshIntent, svc: Service, report: Report, subject: str) -> list[PlannedObject]:
    """A DestinationRule per Service the waypoint sends ``svc``'s traffic to, when circuit breaking or
    a retry budget applies (the same traffic policy on each)."""
    policy: dict[str, Any] = {}
    cb = svc.circuit_breaker
    alpha = (
        "DestinationRule applied by the waypoint for each backend Service; Istio documents its classic APIs as Alpha "
        "in ambient mode and mixing them with Gateway API routes as unsupported"
    )
    if cb is not None and cb.has_connection_pool:
        pool: dict[str, Any] = {}
        if cb.max_connections is not None:
            pool["tcp"] = {"maxConnections": cb.max_connections}
        http: dict[str, Any] = {}
        if cb.max_pending_requests is not None:
            http["http1MaxPendingRequests"] = cb.max_pending_requests
        if cb.max_requests is not None:
            http["http2MaxRequests"] = cb.max_requests
        if http:
            pool["http"] = http
        policy["connectionPool"] = pool
        report.use(
            Feature.CONNECTION_POOL,
            subject,
            f"connection-pool limits in a {alpha}; the limits count per waypoint pod, not per caller pod",
        )
    if cb is not None and cb.has_outlier_detection:
        od: dict[str, Any] = {}
        if cb.consecutive_errors is not None:
            od["consecutive5xxErrors"] = cb.consecutive_errors
        if cb.interval is not None:
            od["interval"] = str(cb.interval)
        if cb.base_ejection_time is not None:
            od["baseEjectionTime"] = str(cb.base_ejection_time)
        if cb.max_ejection_percent is not None:
            od["maxEjectionPercent"] = cb.max_ejection_percent
        policy["outlierDetection"] = od
        if cb.consecutive_errors is not None or cb.base_ejection_time is not None:
            report.use(Feature.OUTLIER_DETECTION, subject, f"outlier detection in a {alpha}")
        if cb.interval is not None or cb.max_ejection_percent is not None:
            report.use(Feature.EJECTION_LIMITS, subject, f"ejection limits in a {alpha}")
    retrying = any(_retrying(_effective(svc, r)[1]) for r in [None, *svc.routes])
    if svc.retry_budget is not None and retrying:
        budget = svc.retry_budget
        percent = f"{budget.percent:g}"
        report.use(
            Feature.RETRY_BUDGET,
            subject,
            f"retryBudget percent {percent} of active requests; minRetriesPerSecond {budget.min_retries_per_second} "
            f"becomes minRetryConcurrency {budget.min_retries_per_second} (Envoy budgets concurrent retries, not retries "
            f"per second), in a {alpha}",
        )
        policy["retryBudget"] = {"percent": float(budget.percent), "minRetryConcurrency": budget.min_retries_per_second}
    if not policy:
        return []
    labels = gapi.labels_for(intent)
    ns = svc.namespace or ""
    # GAMMA routes send L7 ports to the per-version Services; other ports go to the Service itself.
    hosts = []
    if svc.versions and any(p.is_l7 for p in svc.ports):
        hosts = [gapi.version_service_name(svc, v.name) for v in svc.versions]
    if not hosts or any(not p.is_l7 for p in svc.ports):
        hosts.append(svc.name)
    return [
        PlannedObject(
            "istio-ambient/destination-rule.yaml.j2",
            NETWORKING,
            "DestinationRule",
            host,
            ns,
            {"labels": labels, "host": fqdn(host, ns), "traffic_policy": policy},
        )
        for host in hosts
    ]
