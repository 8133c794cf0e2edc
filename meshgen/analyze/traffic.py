"""MG1xx: traffic and resilience across hops (timeouts, retries, budgets, outlier detection).

Semantics follow Istio's VirtualService ``HTTPRoute.timeout`` / ``HTTPRetry`` (attempts are
retries after the first try; the route timeout bounds all tries together) and DestinationRule
``outlierDetection``: https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry
and https://istio.io/latest/docs/reference/config/networking/destination-rule/#OutlierDetection.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshgen.analyze.graph import PRODUCT_CAP, CallGraph, worst_case_ms
from meshgen.analyze.registry import Finding, Severity, analyzer
from meshgen.intent.model import Peer, RequestMatch
from meshgen.intent.types import Duration

#: Retry amplification thresholds (product of ``1 + attempts`` along a path): warn above, error above.
AMPLIFICATION_WARN = 10
AMPLIFICATION_ERROR = 100

#: Retry conditions under which the request never reached the application, so even a POST is
#: safe to retry (Envoy x-envoy-retry-on: connect-failure, refused-stream).
_SAFE_RETRY_ON = frozenset({"connect-failure", "refused-stream"})


def _worst(graph: CallGraph, i: int, peer: Peer | None = None) -> tuple[int, str] | None:
    """The longest a call into service ``i`` can take, or None if unbounded.

    With ``peer`` (the callee's allowFrom entry of this caller), only the routes whose requests
    that entry may send count: a caller allowed ``GET /v1/cart/*`` never waits on a route for
    ``/v1/export``. Requests no route matches get the service's own settings, which always count.
    """
    svc = graph.services[i]
    cases = [worst_case_ms(svc.timeout, svc.retries)]
    for route in svc.routes:
        if route.timeout is None and route.retries is None:
            continue
        if peer is not None and route.match is not None and not _may_send(peer, route.match):
            continue
        timeout = route.timeout if route.timeout is not None else svc.timeout
        cases.append(worst_case_ms(timeout, route.retries if route.retries is not None else svc.retries))
    bounded = [c for c in cases if c is not None]  # an unbounded case has no number to compare
    return max(bounded, key=lambda c: c[0]) if bounded else None


def _may_send(peer: Peer, match: RequestMatch) -> bool:
    """Whether some request allowed by ``peer`` can match ``match`` (conservative: True when unsure)."""
    if peer.methods and match.method is not None and match.method not in peer.methods:
        return False
    if peer.grpc is not None and match.grpc is not None and peer.grpc.service != match.grpc.service:
        return False
    if peer.paths and match.path is not None and match.path.operator != "regex":
        return any(_path_overlaps(p, match.path.operator, match.path.value) for p in peer.paths)
    return True


def _path_overlaps(allowed: str, operator: str, value: str) -> bool:
    """Whether allowFrom path ``allowed`` (``/exact``, ``/prefix/*``, ``*suffix``) meets a route path match."""
    if allowed.startswith("*"):
        return operator != "exact" or value.endswith(allowed[1:])
    if allowed.endswith("*"):
        stem = allowed[:-1]
        return value.startswith(stem) or (operator == "prefix" and stem.startswith(value))
    return allowed == value if operator == "exact" else allowed.startswith(value)


def _caller_timeouts(graph: CallGraph, i: int) -> list[tuple[int, tuple, str]]:
    """``(ms, path, label)`` of every timeout a request into service ``i`` runs under."""
    svc = graph.services[i]
    out = []
    if svc.timeout is not None:
        out.append((int(svc.timeout), graph.field_path(i, "timeout", "timeout"), f"timeout {svc.timeout}"))
    for r, route in enumerate(svc.routes):
        if route.timeout is not None:
            label = f"routes[{r}] timeout {route.timeout}"
            out.append((int(route.timeout), ("spec", "services", i, "routes", r, "timeout"), label))
    return out


@analyzer(
    "MG101",
    "timeout-chain",
    "A caller's timeout is shorter than the worst case of a service it calls.",
    Severity.warning,
    Severity.error,
)
def timeout_chain(graph: CallGraph) -> Iterator[Finding]:
    """The caller gives up before its callee does: the callee's retries and work are wasted.

    Warning when the callee's worst case (its ``timeout``, else ``(1 + attempts) x perTryTimeout``)
    exceeds the caller's tightest timeout; error when it is at least twice as long.
    """
    worst = [_worst(graph, i) for i in range(len(graph.services))]
    plain = [not any(r.timeout is not None or r.retries is not None for r in s.routes) for s in graph.services]
    for caller in range(len(graph.services)):
        timeouts = _caller_timeouts(graph, caller)
        if not timeouts:
            continue
        tightest = min(timeouts, key=lambda t: t[0])
        for edge in graph.callees.get(caller, ()):
            peer = graph.services[edge.callee].allow_from[edge.entry]
            case = worst[edge.callee] if plain[edge.callee] else _worst(graph, edge.callee, peer)
            if case is None or case[0] <= tightest[0]:
                continue
            yield _timeout_finding(
                graph, tightest, case, f"{graph.name(caller)} ({tightest[2]})", edge.callee, graph.key(caller)
            )
    for edge in graph.gateway_edges:
        gw = graph.intent.spec.gateways[edge.gateway]
        route = gw.routes[edge.route]
        case = worst[edge.callee]
        if route.timeout is None or case is None or case[0] <= int(route.timeout):
            continue
        path = ("spec", "gateways", edge.gateway, "routes", edge.route, "timeout")
        label = f"routes[{edge.route}] timeout {route.timeout}"
        yield _timeout_finding(
            graph,
            (int(route.timeout), path, label),
            case,
            f"gateway {gw.namespace}/{gw.name} ({label})",
            edge.callee,
            None,
        )


def _timeout_finding(graph, tightest, case, caller_text, callee, key) -> Finding:
    ms, path, _ = tightest
    severity = Severity.error if case[0] >= 2 * ms else Severity.warning
    message = (
        f"{caller_text} gives up before {graph.name(callee)} can answer: it may take {Duration(case[0])} "
        f"({case[1]}); path {caller_text.split(' (')[0]} -> {graph.name(callee)}. Make the callee's worst case "
        "shorter than the caller's timeout (fewer attempts, a shorter perTryTimeout or timeout), or raise the caller's"
    )
    return Finding("MG101", severity, message, path, key)


def _amplification(graph: CallGraph) -> tuple[list[int], list[int], list[int]]:
    """Per service: the worst product of tries reaching it (including its own), the predecessor on
    that path (-1 at an entry), and the worst product from it downwards (including its own).
    Computed once per graph (MG102 and MG103 share it)."""
    if "amplification" not in graph.cache:
        graph.cache["amplification"] = _amplification_of(graph)
    return graph.cache["amplification"]


def _amplification_of(graph: CallGraph) -> tuple[list[int], list[int], list[int]]:
    n = len(graph.services)
    to = [0] * n
    pred = [-1] * n
    for i in graph.order:
        best, via = (1, -1) if i in graph.entries else (0, -1)
        for edge in graph.callers.get(i, ()):
            if (edge.caller, edge.callee) in graph.back_edges:
                continue
            if to[edge.caller] > best:
                best, via = to[edge.caller], edge.caller
        to[i] = min(PRODUCT_CAP, max(best, 1) * graph.factor[i])
        pred[i] = via
    down = [0] * n
    for i in reversed(graph.order):
        best = 1
        for edge in graph.callees.get(i, ()):
            if (edge.caller, edge.callee) not in graph.back_edges:
                best = max(best, down[edge.callee])
        down[i] = min(PRODUCT_CAP, best * graph.factor[i])
    return to, pred, down


def _path_text(graph: CallGraph, pred: list[int], i: int) -> str:
    hops = []
    node = i
    while node != -1 and len(hops) < 64:
        hops.append(node)
        node = pred[node]
    hops.reverse()
    start = hops[0]
    entry = next((e for e in graph.gateway_edges if e.callee == start), None)
    parts = []
    if entry is not None:
        gw = graph.intent.spec.gateways[entry.gateway]
        parts.append(f"gateway {gw.namespace}/{gw.name}")
    parts += [f"{graph.name(h)} (x{graph.factor[h]})" for h in hops]
    return " -> ".join(parts)


def _retries_path(graph: CallGraph, i: int) -> tuple:
    svc = graph.services[i]
    if svc.retries is not None and 1 + svc.retries.attempts == graph.factor[i]:
        return graph.field_path(i, "retries", "retries")
    for r, route in enumerate(svc.routes):
        if route.retries is not None and 1 + route.retries.attempts == graph.factor[i]:
            return ("spec", "services", i, "routes", r, "retries")
    return ("spec", "services", i)


def _product(value: int) -> str:
    return f"more than {PRODUCT_CAP:,}" if value >= PRODUCT_CAP else f"{value}"


@analyzer(
    "MG102",
    "retry-amplification",
    f"Retries multiply along a call path: more than {AMPLIFICATION_WARN} tries (warning) or {AMPLIFICATION_ERROR} (error).",
    Severity.warning,
    Severity.error,
)
def retry_amplification(graph: CallGraph) -> Iterator[Finding]:
    """The product of ``1 + attempts`` along the worst call path from an entry point.

    Reported once per worst path, at the last service on it whose retries count (the path and
    its factors are in the message), so a chain of ten retrying hops gives one finding.
    """
    to, pred, _ = _amplification(graph)
    covered = [False] * len(to)
    for i in reversed(graph.order):
        over = to[i] > AMPLIFICATION_WARN
        report = over and graph.factor[i] > 1 and not covered[i]
        if report:
            severity = Severity.error if to[i] > AMPLIFICATION_ERROR else Severity.warning
            yield Finding(
                "MG102",
                severity,
                f"one request can become {_product(to[i])} tries at {graph.name(i)}: {_path_text(graph, pred, i)}; "
                "retry at one layer only (usually the outermost), lower attempts, or add retryBudget to bound the storm",
                _retries_path(graph, i),
                graph.key(i),
            )
        if (report or covered[i]) and pred[i] != -1:
            covered[pred[i]] = True


@analyzer(
    "MG103",
    "retries-without-budget",
    f"A service retries on a path that amplifies more than {AMPLIFICATION_WARN}x and has no retryBudget.",
)
def retries_without_budget(graph: CallGraph) -> Iterator[Finding]:
    """Retries without a budget on any hop of an amplifying path (Istio ``retryBudget``, Linkerd ServiceProfile)."""
    to, _, down = _amplification(graph)
    for i, svc in enumerate(graph.services):
        factor = graph.factor[i]
        if factor == 1 or svc.retry_budget is not None:
            continue
        through = min(PRODUCT_CAP, to[i] * down[i] // factor)
        if through > AMPLIFICATION_WARN:
            yield Finding(
                "MG103",
                Severity.warning,
                f"{graph.name(i)} retries ({factor - 1} attempt{'s' if factor > 2 else ''}) on a path of {_product(through)} tries and has no "
                "retryBudget: when it fails, every caller's retries multiply. Add retryBudget (e.g. percent: 20)",
                _retries_path(graph, i),
                graph.key(i),
            )


@analyzer(
    "MG104",
    "retry-settings-without-retries",
    "A retryBudget or perTryTimeout is set where no retry happens.",
)
def retry_settings_without_retries(graph: CallGraph) -> Iterator[Finding]:
    """Settings that only matter with retries, on a service (or route) that never retries."""
    defaults = graph.intent.spec.defaults
    for i, svc in enumerate(graph.services):
        budget_own = svc.retry_budget is not None and svc.retry_budget is not defaults.retry_budget
        if budget_own and graph.factor[i] == 1:
            yield Finding(
                "MG104",
                Severity.warning,
                f"{graph.name(i)} has a retryBudget but never retries: the budget bounds nothing. Remove it, or add retries",
                ("spec", "services", i, "retryBudget"),
                graph.key(i),
            )
        candidates = [
            (("spec", "services", i, "retries", "perTryTimeout"), svc.retries, svc.retries is not defaults.retries)
        ]
        candidates += [
            (("spec", "services", i, "routes", r, "retries", "perTryTimeout"), route.retries, True)
            for r, route in enumerate(svc.routes)
        ]
        for path, retries, own in candidates:
            if own and retries is not None and retries.attempts == 0 and retries.per_try_timeout is not None:
                yield Finding(
                    "MG104",
                    Severity.warning,
                    f"{graph.name(i)} sets perTryTimeout {retries.per_try_timeout} with attempts: 0: there is only one try, "
                    "bounded by timeout. Use timeout instead, or allow retries",
                    path,
                    graph.key(i),
                )


@analyzer(
    "MG105",
    "retries-non-idempotent",
    "A route matching POST or PATCH retries on conditions where the request may already have been processed.",
)
def retries_non_idempotent(graph: CallGraph) -> Iterator[Finding]:
    """POST and PATCH are not idempotent (RFC 9110 section 9.2.2): a retry after a 5xx or reset may apply twice."""
    for i, svc in enumerate(graph.services):
        for r, route in enumerate(svc.routes):
            if route.match is None or route.match.method not in ("POST", "PATCH"):
                continue
            retries = route.retries if route.retries is not None else svc.retries
            if retries is None or retries.attempts == 0:
                continue
            unsafe = [str(c) for c in retries.retry_on if c not in _SAFE_RETRY_ON]
            if not unsafe:
                continue
            path = (
                ("spec", "services", i, "routes", r, "retries")
                if route.retries is not None
                else ("spec", "services", i, "routes", r)
            )
            yield Finding(
                "MG105",
                Severity.warning,
                f"{graph.name(i)} routes[{r}] matches {route.match.method} but retries on {', '.join(unsafe)}: the request may "
                "already have been applied. Retry it only on connect-failure and refused-stream, or set attempts: 0",
                path,
                graph.key(i),
            )


@analyzer(
    "MG106",
    "ejection-empties-service",
    "Outlier detection may eject every endpoint: maxEjectionPercent 100 with 1-2 consecutive errors.",
)
def ejection_empties_service(graph: CallGraph) -> Iterator[Finding]:
    """``maxEjectionPercent: 100`` with a hair trigger: one bad deploy ejects the whole service."""
    for i, svc in enumerate(graph.services):
        cb = svc.circuit_breaker
        if cb is None or cb.max_ejection_percent != 100 or cb.consecutive_errors is None or cb.consecutive_errors > 2:
            continue
        base = graph.field_path(i, "circuit_breaker", "circuitBreaker")
        yield Finding(
            "MG106",
            Severity.warning,
            f"{graph.name(i)} may eject all of its endpoints after {cb.consecutive_errors} consecutive error"
            f"{'s' if cb.consecutive_errors != 1 else ''} each: a shared failure (a bad dependency) empties the service. "
            "Keep maxEjectionPercent below 100 (e.g. 50) or raise consecutiveErrors to 5",
            (*base, "maxEjectionPercent"),
            graph.key(i),
        )


@analyzer(
    "MG107",
    "outlier-detection-single-replica",
    "Outlier detection on a service with one replica: ejecting it leaves no endpoint.",
)
def outlier_detection_single_replica(graph: CallGraph) -> Iterator[Finding]:
    """Envoy ejects at least one host whatever ``max_ejection_percent`` says
    (https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/outlier_detection.proto), so with one
    replica an ejection is an outage."""
    for i, svc in enumerate(graph.services):
        cb = svc.circuit_breaker
        if cb is None or not cb.has_outlier_detection or svc.replicas != 1:
            continue
        yield Finding(
            "MG107",
            Severity.warning,
            f"{graph.name(i)} has outlier detection but one replica: an ejection leaves no endpoint for baseEjectionTime. "
            "Run at least 2 replicas (replicas: 2), or drop the ejection settings for this service",
            ("spec", "services", i, "replicas"),
            graph.key(i),
        )
