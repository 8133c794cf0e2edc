"""MG2xx: security settings and authorization across the intent.

mTLS and authorization semantics: Istio PeerAuthentication / AuthorizationPolicy
(https://istio.io/latest/docs/reference/config/security/), Linkerd ``Server`` / ``AuthorizationPolicy``
(https://linkerd.io/2.19/reference/authorization-policy/), CiliumNetworkPolicy ``authentication.mode``.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshgen.analyze.graph import CallGraph
from meshgen.analyze.registry import Finding, Severity, analyzer
from meshgen.intent.model import Peer
from meshgen.intent.rules import resolve_service


@analyzer("MG201", "permissive-mtls", "mtls: permissive accepts plaintext calls: callers are not authenticated.")
def permissive_mtls(graph: CallGraph) -> Iterator[Finding]:
    """``mtls: permissive`` without default deny: anyone on the network may call in plaintext."""
    mesh = graph.intent.spec.mesh
    if mesh.mtls == "permissive" and not mesh.default_deny:
        yield Finding(
            "MG201",
            Severity.warning,
            "mtls: permissive accepts plaintext calls from anything on the network, unauthenticated; use mtls: strict "
            "once every caller is meshed",
            ("spec", "mesh", "mtls"),
        )


@analyzer("MG202", "default-allow", "defaultDeny: false lets every caller reach services that have no allowFrom.")
def default_allow(graph: CallGraph) -> Iterator[Finding]:
    """``defaultDeny: false``: allow-lists only apply where a service has one."""
    if not graph.intent.spec.mesh.default_deny:
        yield Finding(
            "MG202",
            Severity.warning,
            "defaultDeny: false: every service without allowFrom accepts calls from any workload; set defaultDeny: true "
            "and list each service's callers",
            ("spec", "mesh", "defaultDeny"),
        )


@analyzer(
    "MG203",
    "permissive-with-default-deny",
    "mtls: permissive with defaultDeny: plaintext callers are refused anyway (the migration trap).",
)
def permissive_with_default_deny(graph: CallGraph) -> Iterator[Finding]:
    """Authorization by identity needs mTLS: under default deny, plaintext callers carry no identity and are refused."""
    mesh = graph.intent.spec.mesh
    if mesh.mtls == "permissive" and mesh.default_deny:
        yield Finding(
            "MG203",
            Severity.warning,
            "mtls: permissive with defaultDeny: true: plaintext callers have no identity, so every allowFrom refuses "
            "them anyway; permissive mode only hides which callers are not meshed yet. Mesh the callers and use "
            "mtls: strict, or (while migrating) set defaultDeny: false knowingly",
            ("spec", "mesh", "mtls"),
        )


@analyzer(
    "MG204", "shared-identity", "Several services run as one service account: allow-lists cannot tell them apart."
)
def shared_identity(graph: CallGraph) -> Iterator[Finding]:
    """Identity-based authorization (SPIFFE IDs from service accounts) admits all services sharing one."""
    owners: dict[tuple[str | None, str], list[int]] = {}
    for i, svc in enumerate(graph.services):
        owners.setdefault((svc.namespace, svc.identity), []).append(i)
    for (ns, sa), idx in owners.items():
        if len(idx) > 1:
            names = ", ".join(graph.services[i].name for i in idx)
            for i in idx[1:]:
                yield Finding(
                    "MG204",
                    Severity.warning,
                    f"services {names} share service account {ns}/{sa}: allow-lists cannot tell them apart; give each "
                    "service its own serviceAccount",
                    ("spec", "services", i, "serviceAccount"),
                    graph.key(i),
                )


@analyzer("MG205", "udp-port", "A UDP port: sidecar meshes do not secure UDP (no mTLS, no authorization).")
def udp_port(graph: CallGraph) -> Iterator[Finding]:
    """Envoy sidecars and the Linkerd proxy only intercept TCP."""
    for i, svc in enumerate(graph.services):
        for p, port in enumerate(svc.ports):
            if port.protocol == "udp":
                yield Finding(
                    "MG205",
                    Severity.warning,
                    f"UDP port {port.name} is not secured by sidecar meshes (no mTLS, no authorization)",
                    ("spec", "services", i, "ports", p, "protocol"),
                    graph.key(i),
                )


@analyzer(
    "MG206",
    "uncallable-service",
    "Under defaultDeny, nobody may call a service and no gateway routes to it.",
    Severity.info,
)
def uncallable_service(graph: CallGraph) -> Iterator[Finding]:
    """A service with no allowFrom and no gateway route refuses every call: fine for a job or load generator."""
    if not graph.intent.spec.mesh.default_deny:
        return
    routed = {e.callee for e in graph.gateway_edges}
    for i, svc in enumerate(graph.services):
        if not svc.allow_from and i not in routed:
            yield Finding(
                "MG206",
                Severity.info,
                f"nobody may call {graph.name(i)} (no allowFrom, no gateway route) and defaultDeny refuses the rest; "
                "add allowFrom, or suppress MG206 with a reason if it only makes calls",
                ("spec", "services", i, "name"),
                graph.key(i),
            )


def _broad(peer: Peer) -> bool:
    """Whether ``peer`` admits every workload of a namespace on every port and request."""
    namespace_only = peer.namespace is not None and all(
        x is None for x in (peer.service, peer.gateway, peer.service_account, peer.selector)
    )
    wide = peer.selector == {} and peer.namespace_wide
    return (namespace_only or wide) and not peer.ports and not peer.is_l7


@analyzer(
    "MG207",
    "broad-allow-hides-narrow",
    "A namespace-wide allowFrom entry makes narrower entries for callers of that namespace meaningless.",
)
def broad_allow_hides_narrow(graph: CallGraph) -> Iterator[Finding]:
    """Allow entries are OR-ed: a namespace-wide one admits whatever narrower entries tried to restrict."""
    intent = graph.intent
    for i, svc in enumerate(graph.services):
        broad = {}
        for e, peer in enumerate(svc.allow_from):
            if _broad(peer):
                broad.setdefault(peer.namespace or svc.namespace or "", e)
        if not broad:
            continue
        for e, peer in enumerate(svc.allow_from):
            if _broad(peer) or peer.gateway is not None:
                continue
            if peer.service is not None:
                found = resolve_service(intent, peer.service, peer.namespace)
                ns = found[0].namespace if len(found) == 1 else None
            else:
                ns = peer.namespace or svc.namespace
            if ns in broad:
                yield Finding(
                    "MG207",
                    Severity.warning,
                    f"{graph.name(i)} allowFrom[{e}] restricts nothing: allowFrom[{broad[ns]}] already admits every "
                    f"workload of namespace {ns} on every port. Remove the namespace-wide entry, or scope it with ports",
                    ("spec", "services", i, "allowFrom", broad[ns]),
                    graph.key(i),
                )
