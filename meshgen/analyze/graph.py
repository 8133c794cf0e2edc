"""The intent's call graph, built once for every analyzer: who calls whom, and how hard.

Edges come from the intent itself: an ``allowFrom`` entry naming a service is a call from that
service to the one that lists it; a gateway route is a call from the gateway. Callers named by
namespace, service account or label selector are not edges (they may be anything), so the graph
only ever under-approximates the calls, and analyzers built on it never invent a path.

Everything here is linear in services + edges: names resolve through
:func:`meshgen.intent.rules.resolve_service` (a memoized table, :mod:`meshgen.intent.index`),
and the amplification products are one pass over a topological order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshgen.intent.model import MeshIntent, Retries, Service
from meshgen.intent.rules import Path, resolve_service

#: Products of retry factors are capped here: past it every path is "more than enough" and the
#: numbers would only grow (3 ** 200 is a 96-digit integer).
PRODUCT_CAP = 1_000_000


@dataclass(frozen=True)
class Edge:
    """A call from service ``caller`` to service ``callee`` (indexes into ``spec.services``),
    declared by ``callee``'s ``allowFrom[entry]``."""

    caller: int
    callee: int
    entry: int


@dataclass(frozen=True)
class GatewayEdge:
    """A call from gateway route ``spec.gateways[gateway].routes[route]`` to service ``callee``."""

    gateway: int
    route: int
    callee: int


@dataclass
class CallGraph:
    """The intent with its call graph and per-service retry facts.

    Attributes:
        intent: the validated intent.
        callees: service index -> edges out of it (calls it makes), in document order.
        callers: service index -> edges into it (calls it receives), in document order.
        gateway_edges: every gateway route to a service.
        entries: services where a request can start: routed by a gateway, or called by no service.
        order: every service index, callers before callees (cycles broken at the edge that closes
            them, in document order).
        factor: service index -> ``1 + attempts``, the most tries one call to it can make
            (its own retries or any of its routes'); 1 without retries.
        platform: the target analyzed for (``spec.platform`` unless ``render -p`` says otherwise).
    """

    intent: MeshIntent
    callees: dict[int, list[Edge]] = field(default_factory=dict)
    callers: dict[int, list[Edge]] = field(default_factory=dict)
    gateway_edges: list[GatewayEdge] = field(default_factory=list)
    entries: set[int] = field(default_factory=set)
    order: list[int] = field(default_factory=list)
    back_edges: set[tuple[int, int]] = field(default_factory=set)
    factor: list[int] = field(default_factory=list)
    cache: dict = field(default_factory=dict)  # results several analyzers share, by name
    platform: str = ""  # the target analyzed for; set by meshgen.analyze.run

    @property
    def services(self) -> list[Service]:
        """``spec.services``."""
        return self.intent.spec.services

    def name(self, i: int) -> str:
        """``namespace/name`` of service ``i``."""
        svc = self.services[i]
        return f"{svc.namespace}/{svc.name}"

    def key(self, i: int) -> tuple[str, str]:
        """``(namespace, name)`` of service ``i`` (the unit of suppressions)."""
        svc = self.services[i]
        return (svc.namespace or "", svc.name)

    def field_path(self, i: int, attr: str, key: str) -> Path:
        """Where service ``i``'s ``attr`` is written: its own key, or ``spec.defaults`` when inherited."""
        svc = self.services[i]
        value = getattr(svc, attr)
        if value is not None and value is getattr(self.intent.spec.defaults, attr, None):
            return ("spec", "defaults", key)
        return ("spec", "services", i, key)


def build(intent: MeshIntent) -> CallGraph:
    """The call graph of a validated ``intent`` (see :class:`CallGraph`)."""
    graph = CallGraph(intent)
    services = intent.spec.services
    index = {id(s): i for i, s in enumerate(services)}
    for i, svc in enumerate(services):
        for e, peer in enumerate(svc.allow_from):
            if peer.service is None:
                continue
            found = resolve_service(intent, peer.service, peer.namespace)
            if len(found) != 1:
                continue  # validation refuses these; stay total anyway
            edge = Edge(index[id(found[0])], i, e)
            graph.callees.setdefault(edge.caller, []).append(edge)
            graph.callers.setdefault(i, []).append(edge)
    routed: set[int] = set()
    for g, gw in enumerate(intent.spec.gateways):
        for r, route in enumerate(gw.routes):
            if route.service is None:
                continue
            found = resolve_service(intent, route.service, route.namespace)
            if len(found) == 1:
                graph.gateway_edges.append(GatewayEdge(g, r, index[id(found[0])]))
                routed.add(index[id(found[0])])
    graph.factor = [1 + max_attempts(s) for s in services]
    graph.order, graph.back_edges = _topological(len(services), graph.callees)
    for i in range(len(services)):
        preds = [e for e in graph.callers.get(i, []) if (e.caller, e.callee) not in graph.back_edges]
        if i in routed or not preds:
            graph.entries.add(i)
    return graph


def max_attempts(svc: Service) -> int:
    """The most retries one call to ``svc`` can get: its own ``retries`` or any route's."""
    best = svc.retries.attempts if svc.retries is not None else 0
    for route in svc.routes:
        if route.retries is not None:
            best = max(best, route.retries.attempts)
    return best


def worst_case_ms(timeout, retries: Retries | None) -> tuple[int, str] | None:
    """The longest one call can take, in ms, with how: ``(3000, "timeout 3s")``; None if unbounded.

    Envoy's route timeout bounds every try together (Istio ``HTTPRoute.timeout``), so a set
    ``timeout`` is the worst case; without one, ``(1 + attempts) x perTryTimeout`` bounds it
    (Istio ``HTTPRetry.perTryTimeout``, https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry).
    """
    if timeout is not None:
        return int(timeout), f"timeout {timeout}"
    if retries is not None and retries.per_try_timeout is not None:
        tries = 1 + retries.attempts
        return tries * int(retries.per_try_timeout), f"{tries} tries x perTryTimeout {retries.per_try_timeout}"
    return None


def _topological(n: int, callees: dict[int, list[Edge]]) -> tuple[list[int], set[tuple[int, int]]]:
    """Callers-first order of ``n`` nodes and the edges that close cycles (iterative DFS, no recursion)."""
    state = [0] * n  # 0 new, 1 on the stack, 2 done
    post: list[int] = []
    back: set[tuple[int, int]] = set()
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(callees.get(root, ())))]
        while stack:
            node, it = stack[-1]
            for edge in it:
                nxt = edge.callee
                if state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, iter(callees.get(nxt, ()))))
                    break
                if state[nxt] == 1:
                    back.add((node, nxt))
            else:
                state[node] = 2
                post.append(node)
                stack.pop()
    post.reverse()
    return post, back
