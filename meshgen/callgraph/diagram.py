"""What ``meshgen graph`` draws, decided once as plain data; the formats only lay it out.

Nodes: every service (grouped by namespace), every gateway, and one node per distinct external
caller an ``allowFrom`` names (a namespace, a service account, a label selector). Edges: one per
``allowFrom`` entry (caller -> callee, labelled with its ports and L7 constraints: methods, paths,
gRPC methods, caller versions), and one dashed edge per gateway -> service pair that gateway
routes reach (labelled with the routes' path matches). A service's label carries what happens
on the callee: ports, replicas, version weights, header routes, mirrors and faults.

With a platform, node and edge marks come from the findings the render pipeline computes
(:func:`meshgen.pipeline.plan`, the same :class:`meshgen.capabilities.Finding` list ``render``
prints), never from a second judgement made here: a node is marked with the worst support level
among findings about it, an ``allowFrom`` edge with the worst among the authorization findings
(authz-identity, and authz-l7 / authz-by-version / authz-by-selector when the entry uses them)
about its callee or the whole mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshgen.capabilities import Feature, Finding, Support
from meshgen.intent.model import GatewayRoute, MeshIntent, Peer, RequestMatch, Service
from meshgen.intent.rules import resolve_service

#: How many route paths an edge label lists before "+N more" (labels stay readable).
ROUTE_LABEL_LIMIT = 3

_RANK = {None: 0, Support.APPROXIMATED: 1, Support.NOT_EXPRESSIBLE: 2}


@dataclass(frozen=True)
class Node:
    """One box of the drawing.

    Attributes:
        id: stable identifier (``s0`` service 0, ``g1`` gateway 1, ``x2`` external caller 2).
        kind: ``service``, ``gateway`` or ``external``.
        lines: label lines, first the name.
        group: the namespace it is drawn in; None for external callers.
        mark: worst support level of the platform's findings about it; None when native or no platform.
    """

    id: str
    kind: str
    lines: tuple[str, ...]
    group: str | None
    mark: Support | None = None


@dataclass(frozen=True)
class Edge:
    """One arrow: ``kind`` ``allow`` (an allowFrom entry) or ``route`` (gateway routes)."""

    source: str
    target: str
    kind: str
    lines: tuple[str, ...]
    mark: Support | None = None


@dataclass(frozen=True)
class Diagram:
    """The whole drawing: ``groups`` is (namespace, node ids) in first-seen order; ``notes`` the
    platform's mesh-wide findings (``mesh``, ``namespace ...``, ``egress ...`` subjects)."""

    title: str
    platform: str | None
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    notes: tuple[str, ...]


def build(intent: MeshIntent, findings: list[Finding] | tuple[Finding, ...] | None = None,
          platform: str | None = None) -> Diagram:
    """The diagram of a validated ``intent``; ``findings`` (of ``platform``) mark what it loses.

    Deterministic: nodes and edges follow document order; nothing depends on hashing.
    """
    spec = intent.spec
    by_subject: dict[str, list[Finding]] = {}
    for f in findings or ():
        by_subject.setdefault(f.subject, []).append(f)
    service_ids = {id(s): f"s{i}" for i, s in enumerate(spec.services)}
    nodes: list[Node] = []
    for i, svc in enumerate(spec.services):
        own = by_subject.get(_subject(svc), [])
        nodes.append(Node(f"s{i}", "service", _service_lines(svc) + _finding_lines(own), svc.namespace, _worst(own)))
    for g, gw in enumerate(spec.gateways):
        own = by_subject.get(f"gateway {gw.namespace}/{gw.name}", [])
        listeners = ", ".join(f"{lst.protocol} {lst.port}" for lst in gw.listeners)
        nodes.append(Node(f"g{g}", "gateway", (f"gateway {gw.name}", listeners) + _finding_lines(own),
                          gw.namespace, _worst(own)))
    gateway_ids = {gw.name: f"g{g}" for g, gw in enumerate(spec.gateways)}
    externals: dict[str, str] = {}
    edges: list[Edge] = []
    mesh_wide = by_subject.get("mesh", [])
    for svc in spec.services:
        callee = service_ids[id(svc)]
        around = by_subject.get(_subject(svc), []) + mesh_wide
        for peer in svc.allow_from:
            source = _caller(intent, peer, svc, service_ids, gateway_ids, externals, nodes)
            if source is None:
                continue  # validation refuses unresolved callers; stay total anyway
            wanted = _authz_features(peer)
            mark = _worst([f for f in around if f.feature in wanted])
            edges.append(Edge(source, callee, "allow", _peer_lines(peer), mark))
    for g, gw in enumerate(spec.gateways):
        reached: dict[str, list[str]] = {}
        for route in gw.routes:
            if route.service is None:
                continue  # a redirect answers at the gateway
            found = resolve_service(intent, route.service, route.namespace)  # as meshgen.analyze.graph
            if len(found) == 1:
                reached.setdefault(service_ids[id(found[0])], []).append(_route_path(route))
        for target, paths in reached.items():
            shown = paths[:ROUTE_LABEL_LIMIT]
            more = f" +{len(paths) - len(shown)} more" if len(paths) > len(shown) else ""
            edges.append(Edge(f"g{g}", target, "route", (f"routes: {', '.join(shown)}{more}",)))
    groups: dict[str, list[str]] = {}
    for node in nodes:
        if node.group is not None:
            groups.setdefault(node.group, []).append(node.id)
    notes = tuple(
        f"{_label(f.support)} {f.feature.value} ({f.subject})"
        for f in sorted({f for f in findings or () if "/" not in f.subject},
                        key=lambda f: (f.subject, f.feature.value, f.support.value))
    )
    return Diagram(intent.metadata.name, platform, tuple(nodes), tuple(edges),
                   tuple((ns, tuple(ids)) for ns, ids in groups.items()), _dedupe(notes))


def _subject(svc: Service) -> str:
    return f"{svc.namespace}/{svc.name}"


def _caller(intent: MeshIntent, peer: Peer, callee: Service, service_ids: dict[int, str],
            gateway_ids: dict[str, str], externals: dict[str, str], nodes: list[Node]) -> str | None:
    """The node id of ``peer``, adding an external-caller node the first time one is named."""
    if peer.service is not None:
        found = resolve_service(intent, peer.service, peer.namespace)
        return service_ids[id(found[0])] if len(found) == 1 else None
    if peer.gateway is not None:
        return gateway_ids.get(peer.gateway)
    namespace = peer.namespace or callee.namespace
    if peer.service_account is not None:
        label = f"serviceAccount {namespace}/{peer.service_account}"
    elif peer.selector:
        pairs = ",".join(f"{k}={v}" for k, v in sorted(peer.selector.items()))
        label = f"pods {pairs} in {namespace}"
    else:  # namespace alone, or an empty selector confirmed namespaceWide: the same meaning
        label = f"any workload of namespace {namespace}"
    if label not in externals:
        externals[label] = f"x{len(externals)}"
        nodes.append(Node(externals[label], "external", (label,), None))
    return externals[label]


def _service_lines(svc: Service) -> tuple[str, ...]:
    lines = [svc.name, ", ".join(f"{p.name}:{p.port}" for p in svc.ports)]
    if svc.replicas > 1:
        lines.append(f"{svc.replicas} replicas")
    if svc.versions:
        lines.append(" / ".join(f"{v.name} {v.weight}%" for v in svc.versions))
    for k, route in enumerate(svc.routes):
        name = route.name or f"route {k + 1}"
        target = f" → {route.version}" if route.version else ""
        lines.append(f"{name}: {_match(route.match)}{target}")
        if route.mirror is not None:
            lines.append(f"{name}: mirror {_pct(route.mirror.percent)}% → {route.mirror.version}")
        if route.fault is not None and route.fault.delay is not None:
            lines.append(f"{name}: delay {route.fault.delay.fixed_delay} ({_pct(route.fault.delay.percent)}%)")
        if route.fault is not None and route.fault.abort is not None:
            abort = route.fault.abort
            lines.append(f"{name}: abort {abort.http_status} ({_pct(abort.percent)}%)")
    return tuple(lines)


def _match(match: RequestMatch | None) -> str:
    if match is None:
        return "all requests"
    parts = [f"header {name}" for name in sorted(match.headers)]
    if match.path is not None:
        parts.append(f"path {_string_match(match.path)}")
    if match.method is not None:
        parts.append(match.method)
    parts += [f"query {name}" for name in sorted(match.query_params)]
    if match.grpc is not None:
        parts.append(f"grpc {match.grpc.service}/{match.grpc.method or '*'}")
    return ", ".join(parts) or "all requests"


def _string_match(m) -> str:
    if m.exact is not None:
        return m.exact
    if m.prefix is not None:
        return f"{m.prefix}*"
    return f"~{m.regex}"


def _route_path(route: GatewayRoute) -> str:
    if route.match is None or route.match.path is None:
        return "/*"
    return _string_match(route.match.path)


def _peer_lines(peer: Peer) -> tuple[str, ...]:
    lines = []
    if peer.versions:
        lines.append(f"from {', '.join(peer.versions)}")
    if peer.ports:
        lines.append(f"ports {', '.join(str(p) for p in peer.ports)}")
    if peer.methods:
        lines.append(" ".join(peer.methods))
    if peer.paths:
        lines.append(" ".join(peer.paths))
    if peer.grpc is not None:
        lines.append(f"grpc {peer.grpc.service}/{','.join(peer.grpc.methods) or '*'}")
    return tuple(lines)


def _authz_features(peer: Peer) -> set[Feature]:
    wanted = {Feature.AUTHZ_IDENTITY}
    if peer.is_l7:
        wanted.add(Feature.AUTHZ_L7)
    if peer.versions:
        wanted.add(Feature.AUTHZ_BY_VERSION)
    if peer.selector is not None:
        wanted.add(Feature.AUTHZ_BY_SELECTOR)
    return wanted


def _worst(found: list[Finding]) -> Support | None:
    worst = None
    for f in found:
        if _RANK[f.support] > _RANK[worst]:
            worst = f.support
    return worst


def _label(support: Support) -> str:
    return "LOST" if support is Support.NOT_EXPRESSIBLE else "approximated"


def _finding_lines(found: list[Finding]) -> tuple[str, ...]:
    """``LOST authz-l7`` / ``approximated retry-budget`` lines, one per feature, worst level kept."""
    worst: dict[str, Support] = {}
    for f in found:
        if _RANK[f.support] > _RANK[worst.get(f.feature.value)]:
            worst[f.feature.value] = f.support
    return tuple(f"{_label(s)} {name}" for name, s in sorted(worst.items()))


def _pct(value: float) -> str:
    return f"{value:g}"


def _dedupe(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
