"""MG4xx: routing (routes that never match, versions nothing reaches, L7 settings on TCP services).

Route order and matching follow Istio ``VirtualService.http[]`` (first match wins) and Gateway
API ``HTTPRouteMatch``; subsets follow DestinationRule ``subsets[].labels``.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshgen.analyze.graph import CallGraph
from meshgen.analyze.registry import Finding, Severity, analyzer


@analyzer("MG401", "shadowed-route", "A route can never match: an earlier route takes every request it would.")
def shadowed_route(graph: CallGraph) -> Iterator[Finding]:
    """Routes are tried in order; a later route whose matches are all covered by an earlier one is dead."""
    for i, svc in enumerate(graph.services):
        for r, route in enumerate(svc.routes):
            if route.match is None:
                for later in range(r + 1, len(svc.routes)):
                    yield Finding(
                        "MG401",
                        Severity.warning,
                        f"route can never match: routes[{r}] has no match and takes every request first",
                        ("spec", "services", i, "routes", later),
                        graph.key(i),
                    )
                break
            for earlier in range(r):
                prev = svc.routes[earlier].match
                if prev is not None and _shadows(prev, route.match):
                    yield Finding(
                        "MG401",
                        Severity.warning,
                        f"route can never match: routes[{earlier}] matches every request it would",
                        ("spec", "services", i, "routes", r),
                        graph.key(i),
                    )
                    break


def _shadows(earlier, later) -> bool:
    """Whether every request ``later`` matches is matched by ``earlier`` (conservative)."""
    if earlier.method is not None and earlier.method != later.method:
        return False
    if earlier.grpc is not None and earlier.grpc != later.grpc:
        return False
    for name, m in earlier.headers.items():
        other = later.headers.get(name)
        if other is None or not _string_covers(m, other):
            return False
    for name, m in earlier.query_params.items():
        other = later.query_params.get(name)
        if other is None or not _string_covers(m, other):
            return False
    return earlier.path is None or (later.path is not None and _string_covers(earlier.path, later.path))


def _string_covers(a, b) -> bool:
    if a.operator == "exact":
        return b.operator == "exact" and a.value == b.value
    if a.operator == "prefix":
        return b.operator in ("exact", "prefix") and b.value.startswith(a.value)
    return a == b


@analyzer("MG402", "dead-version", "A version with weight 0 that no route or mirror reaches.")
def dead_version(graph: CallGraph) -> Iterator[Finding]:
    """A weight-0 version only gets traffic from routes (``version``) or mirrors; without any it is dead."""
    for i, svc in enumerate(graph.services):
        reached = {r.version for r in svc.routes if r.version} | {r.mirror.version for r in svc.routes if r.mirror}
        for v, version in enumerate(svc.versions):
            if version.weight == 0 and version.name not in reached:
                yield Finding(
                    "MG402",
                    Severity.warning,
                    f"version {version.name} of {graph.name(i)} has weight 0 and no route or mirror sends it traffic: its "
                    "pods get no requests. Add a route to it, give it weight, or remove it",
                    ("spec", "services", i, "versions", v, "weight"),
                    graph.key(i),
                )


@analyzer(
    "MG403",
    "version-labels-overlap",
    "A version's pod labels also select another version's pods: routes to it reach both.",
)
def version_labels_overlap(graph: CallGraph) -> Iterator[Finding]:
    """A subset selects every pod carrying its labels (DestinationRule ``subsets[].labels``, ANDed
    with the service selector): when one version's labels are a subset of another's, its subset
    includes the other's pods, so a header route "to v2" also lands on v1."""
    for i, svc in enumerate(graph.services):
        base = svc.pod_selector
        sets = [set({**base, **v.pod_labels}.items()) for v in svc.versions]
        for v, version in enumerate(svc.versions):
            other = next((w for w in range(len(sets)) if w != v and sets[v] <= sets[w]), None)
            if other is None:
                continue
            targeted = any(
                r.version == version.name or (r.mirror and r.mirror.version == version.name) for r in svc.routes
            )
            yield Finding(
                "MG403",
                Severity.warning,
                f"version {version.name} of {graph.name(i)} selects the pods of {svc.versions[other].name} too (its labels "
                f"{dict(sorted(sets[v]))} are all on them){': routes to it reach both' if targeted else ''}. Give each "
                "version a label the others lack (default: version: <name>)",
                ("spec", "services", i, "versions", v, "labels"),
                graph.key(i),
            )


@analyzer(
    "MG404",
    "l7-settings-on-tcp-service",
    "Timeouts, retries, budgets, rate limits or JWT on a service with no HTTP port.",
)
def l7_settings_on_tcp_service(graph: CallGraph) -> Iterator[Finding]:
    """Request-level settings need a port the proxy parses (http, http2, grpc); on TCP, TLS and UDP
    ports they have no effect. Settings inherited from spec.defaults are not reported."""
    defaults = graph.intent.spec.defaults
    fields = (
        ("timeout", "timeout"),
        ("retries", "retries"),
        ("retry_budget", "retryBudget"),
        ("rate_limit", "rateLimit"),
        ("request_authentication", "requestAuthentication"),
    )
    for i, svc in enumerate(graph.services):
        if any(p.is_l7 for p in svc.ports):
            continue
        for attr, key in fields:
            value = getattr(svc, attr)
            if value is None or value is getattr(defaults, attr, None):
                continue
            protocols = ", ".join(sorted({p.protocol for p in svc.ports}))
            yield Finding(
                "MG404",
                Severity.warning,
                f"{key} on {graph.name(i)} has no effect: its ports are {protocols} only, where the mesh sees connections, "
                "not requests. Remove it, or declare the port's real protocol (http, http2, grpc)",
                ("spec", "services", i, key),
                graph.key(i),
            )
