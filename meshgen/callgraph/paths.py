"""Longest call paths over the allowed-call graph, for latency budgets (``advise``, ``cost``).

Built on :func:`meshgen.analyze.graph.build` (the graph the analyzers already use: an
``allowFrom`` entry naming a service is a call from it; cycles are broken at the edge that
closes them, in document order). A hop is one call between two workloads, each through the
mesh's data plane: the call into an entry service counts as one hop, every service-to-service
call after it as one more. Linear in services + edges (one pass in reverse topological order).
"""

from __future__ import annotations

from dataclasses import dataclass

from meshgen.analyze.graph import CallGraph, build
from meshgen.intent.model import MeshIntent


@dataclass(frozen=True)
class CallPath:
    """The longest path from one entry service.

    Attributes:
        entry: index of the entry service in ``spec.services``.
        services: ``namespace/name`` of every service on the path, entry first.
        hops: calls on it, the one into the entry included (``len(services)``).
    """

    entry: int
    services: tuple[str, ...]

    @property
    def hops(self) -> int:
        """Calls on the path: the call into the entry, then one per service-to-service call."""
        return len(self.services)


def entry_services(graph: CallGraph) -> list[int]:
    """Services a request can enter from outside the intent's services, in document order:
    routed by a gateway, allowed from a gateway or an external caller (namespace, service
    account, selector), or called by nothing the intent names."""
    out = set(graph.entries)
    for i, svc in enumerate(graph.services):
        if any(peer.service is None for peer in svc.allow_from):
            out.add(i)
    return sorted(out)


def longest_paths(intent: MeshIntent, graph: CallGraph | None = None) -> list[CallPath]:
    """The longest call path from every entry service (:func:`entry_services`), in document order.

    Ties keep the callee listed first in the document, so the result is deterministic.
    """
    graph = graph or build(intent)
    below: dict[int, tuple[int, ...]] = {}  # service -> longest chain of services starting at it
    for node in reversed(graph.order):
        best: tuple[int, ...] = ()
        for edge in graph.callees.get(node, ()):
            if (edge.caller, edge.callee) in graph.back_edges:
                continue
            chain = below[edge.callee]
            if len(chain) > len(best):
                best = chain
        below[node] = (node, *best)
    return [CallPath(i, tuple(graph.name(s) for s in below[i])) for i in entry_services(graph)]


def longest(intent: MeshIntent) -> CallPath | None:
    """The longest of :func:`longest_paths` (the first in document order on a tie); None without services."""
    best = None
    for path in longest_paths(intent):
        if best is None or path.hops > best.hops:
            best = path
    return best
