"""Who a caller is: resolve ``allowFrom``/``denyFrom`` entries to identities and pod labels.

Identity-based meshes (Istio, Linkerd) authorize service accounts; label-based Cilium authorizes
pod labels. Both views come from here, so every platform admits exactly the same callers, and
a caller that an identity-based mesh cannot single out (versions sharing one service account, a
label selector cutting through a service account) is flagged once, in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from meshgen.capabilities import Feature, Report
from meshgen.intent.index import memo
from meshgen.intent.model import Gateway, MeshIntent, Peer, Port, Service, Version
from meshgen.intent.rules import resolve_service


@dataclass(frozen=True)
class Workload:
    """A set of pods: a service, or one version of it, with its identity and labels."""

    service: Service
    version: Version | None
    namespace: str
    service_account: str
    labels: tuple[tuple[str, str], ...]


def workloads(intent: MeshIntent) -> list[Workload]:
    """Every workload of the intent: one per version, or one per service without versions."""
    return list(memo(intent, "workloads", _all_workloads))


def _all_workloads(intent: MeshIntent) -> tuple[Workload, ...]:
    out = []
    for svc in intent.spec.services:
        base = svc.pod_selector
        if not svc.versions:
            out.append(Workload(svc, None, svc.namespace or "", svc.identity, tuple(sorted(base.items()))))
        for version in svc.versions:
            labels = {**base, **version.pod_labels}
            sa = version.service_account or svc.identity
            out.append(Workload(svc, version, svc.namespace or "", sa, tuple(sorted(labels.items()))))
    return tuple(out)


def _workloads_by_service(intent: MeshIntent) -> dict[int, list[Workload]]:
    out: dict[int, list[Workload]] = {}
    for w in memo(intent, "workloads", _all_workloads):
        out.setdefault(id(w.service), []).append(w)
    return out


def _workloads_by_namespace(intent: MeshIntent) -> dict[str, list[Workload]]:
    out: dict[str, list[Workload]] = {}
    for w in memo(intent, "workloads", _all_workloads):
        out.setdefault(w.namespace, []).append(w)
    return out


@dataclass(frozen=True)
class Caller:
    """A resolved ``allowFrom``/``denyFrom`` entry.

    Attributes:
        kind: service | gateway | namespace | service-account | selector.
        namespaces: for kind namespace, the namespace whose every workload is meant.
        identities: (namespace, service account) pairs of the callers; empty for kind namespace.
        label_sets: pod label sets selecting the callers (for label-based platforms), each with
            its namespace; empty for kind namespace.
        unenforceable: why an identity-based mesh cannot admit exactly these callers, or None.
        description: how the report names the caller, e.g. ``service bookinfo/productpage``.
    """

    kind: str
    namespaces: tuple[str, ...]
    identities: tuple[tuple[str, str], ...]
    label_sets: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    unenforceable: str | None
    description: str


@dataclass(frozen=True)
class Rule:
    """One allow or deny entry, resolved: who, on which callee ports, for which requests."""

    caller: Caller
    ports: tuple[Port, ...]
    methods: tuple[str, ...]
    paths: tuple[str, ...]
    grpc_paths: tuple[str, ...] = field(default=())
    peer: Peer | None = None
    implicit: bool = False

    @property
    def is_l7(self) -> bool:
        """Whether the rule restricts requests, not only connections."""
        return bool(self.methods or self.paths or self.grpc_paths)

    @property
    def all_paths(self) -> tuple[str, ...]:
        """Path patterns, gRPC methods included as ``/pkg.Service/Method`` paths (Istio glob syntax)."""
        return self.paths + self.grpc_paths


GatewayIdentity = Callable[[Gateway], tuple[str, str]]
GatewayLabels = Callable[[Gateway], dict[str, str]]


def resolve_caller(
    intent: MeshIntent, callee: Service, peer: Peer, gateway_identity: GatewayIdentity, gateway_labels: GatewayLabels
) -> Caller:
    """Resolve ``peer`` (an entry of ``callee``'s allowFrom/denyFrom) to identities and labels.

    A service entry resolves the same whatever the callee (its service, namespace and versions
    decide), so each is resolved once per intent and shared (issue 17: callers name the same
    services across hundreds of callees).
    """
    if peer.service is not None:
        known = memo(intent, "service-callers", _new_table)
        key = (peer.service, peer.namespace, tuple(peer.versions or ()))
        caller = known.get(key)
        if caller is None:
            caller = known[key] = _service_caller(intent, peer)
        return caller
    return _other_caller(intent, callee, peer, gateway_identity, gateway_labels)


def _new_table(intent: MeshIntent) -> dict:
    return {}


def _service_caller(intent: MeshIntent, peer: Peer) -> Caller:
    """:func:`resolve_caller` of a service entry (it does not depend on the callee)."""
    svc = resolve_service(intent, peer.service, peer.namespace)[0]
    mine = memo(intent, "workloads-by-service", _workloads_by_service).get(id(svc), [])
    chosen = [w for w in mine if not peer.versions or (w.version and w.version.name in peer.versions)]
    reason = None
    if peer.versions:
        chosen_sas = {w.service_account for w in chosen}
        others = [w for w in mine if w not in chosen and w.service_account in chosen_sas]
        # Another service running as the same account is as indistinguishable as another version
        # (analyzer MG204): "only these versions" cannot be written as that account either.
        here = memo(intent, "workloads-by-namespace", _workloads_by_namespace).get(svc.namespace or "", [])
        strangers = [w for w in here if w.service is not svc and w.service_account in chosen_sas]
        if others or strangers:
            names = ", ".join(
                sorted({f"version {w.version.name}" for w in others if w.version} | {f"service {w.service.name}" for w in strangers})
            )
            fix = "versions[].serviceAccount" if not strangers else "serviceAccount (per service or version)"
            reason = (
                f"versions {', '.join(peer.versions)} of {svc.name} share service account "
                f"{svc.namespace}/{sorted(chosen_sas)[0]} with {names}: give each its own {fix}"
            )
    label_sets = _labels_of(chosen, svc if not peer.versions else None)
    desc = f"service {svc.namespace}/{svc.name}" + (f" versions {', '.join(peer.versions)}" if peer.versions else "")
    return Caller("service", (), _identities(chosen), label_sets, reason, desc)


def _other_caller(
    intent: MeshIntent, callee: Service, peer: Peer, gateway_identity: GatewayIdentity, gateway_labels: GatewayLabels
) -> Caller:
    """:func:`resolve_caller` of a gateway, service-account, namespace or selector entry."""
    if peer.gateway is not None:
        gw = intent.gateway(peer.gateway)
        assert gw is not None
        ns, sa = gateway_identity(gw)
        labels = tuple(sorted(gateway_labels(gw).items()))
        return Caller("gateway", (), ((ns, sa),), ((gw.namespace or "", labels),), None, f"gateway {gw.namespace}/{gw.name}")
    if peer.service_account is not None:
        ns = peer.namespace or ""
        desc = f"service account {ns}/{peer.service_account}"
        return Caller("service-account", (), ((ns, peer.service_account),), (), None, desc)
    if peer.selector == {} and peer.namespace_wide:
        # Explicitly every workload of the namespace: the same namespace caller on every platform
        # (Istio source.namespaces, Linkerd's namespace identity, Cilium's namespace label).
        ns = peer.namespace or callee.namespace or ""
        return Caller("namespace", (ns,), (), (), None, f"namespace {ns}")
    if peer.selector is not None:
        ns = peer.namespace or callee.namespace or ""
        wanted = set(peer.selector.items())
        all_here = memo(intent, "workloads-by-namespace", _workloads_by_namespace).get(ns, [])
        chosen = [w for w in all_here if wanted <= set(w.labels)]
        reason = None
        if not chosen:
            reason = f"no workload of the intent in namespace {ns} carries labels {_fmt(peer.selector)}"
        else:
            sas = {w.service_account for w in chosen}
            leaks = [w for w in all_here if w not in chosen and w.service_account in sas]
            if leaks:
                reason = (
                    f"labels {_fmt(peer.selector)} select only part of the pods running as "
                    f"{', '.join(sorted(sas))}: an identity cannot be split by labels"
                )
        return Caller(
            "selector",
            (),
            _identities(chosen),
            ((ns, tuple(sorted(peer.selector.items()))),),
            reason,
            f"pods labelled {_fmt(peer.selector)} in {ns}",
        )
    return Caller("namespace", (peer.namespace or "",), (), (), None, f"namespace {peer.namespace}")


def _identities(chosen: list[Workload]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({(w.namespace, w.service_account) for w in chosen}))


def _labels_of(chosen: list[Workload], whole: Service | None):
    if whole is not None:
        return ((whole.namespace or "", tuple(sorted(whole.pod_selector.items()))),)
    return tuple(sorted({(w.namespace, w.labels) for w in chosen}))


def _fmt(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(labels.items())) + "}"


def rules_for(
    intent: MeshIntent,
    callee: Service,
    gateway_identity: GatewayIdentity,
    gateway_labels: GatewayLabels,
    *,
    deny: bool = False,
) -> list[Rule]:
    """The resolved allow (or deny) rules of ``callee``, including the implicit allow of every
    gateway that routes to it (a gateway route is intent that the gateway may call its backend)."""
    peers = list(callee.deny_from if deny else callee.allow_from)
    out = [_rule(intent, callee, p, gateway_identity, gateway_labels) for p in peers]
    if deny:
        return out
    for gw, route in _gateway_routes_to(intent, callee):
        port = callee.port_named(route.port) if route.port else callee.ports[0]
        covered = any(
            r.peer is not None and r.peer.gateway == gw.name and port in r.ports and not r.is_l7 for r in out
        )
        if not covered:
            implicit = _rule(intent, callee, Peer(gateway=gw.name, ports=[port.name]), gateway_identity, gateway_labels)
            out.append(Rule(implicit.caller, implicit.ports, (), (), (), None, True))
    return out


def _gateway_routes_to(intent: MeshIntent, callee: Service) -> list:
    """``(gateway, route)`` of every gateway route to ``callee``, in intent order.

    Looked up in a table built once per intent (issue 17: each of a thousand callees scanned
    every route of every gateway), rebuilt when ``spec.gateways`` was replaced or changed length,
    as :func:`meshgen.intent.index.memo` does for services.
    """
    table = memo(intent, "gateway-routes-by-service", _new_table)
    gateways = intent.spec.gateways
    if table.get("gateways") is not gateways or table.get("count") != len(gateways):
        by_service: dict[int, list] = {}
        for gw in gateways:
            for route in gw.routes:
                if route.service is None:
                    continue
                target = resolve_service(intent, route.service, route.namespace)
                if target:
                    by_service.setdefault(id(target[0]), []).append((gw, route))
        table.clear()
        table.update(gateways=gateways, count=len(gateways), by_service=by_service)
    return table["by_service"].get(id(callee), [])


def _rule(intent, callee, peer, gateway_identity, gateway_labels) -> Rule:
    caller = resolve_caller(intent, callee, peer, gateway_identity, gateway_labels)
    ports = tuple(callee.port_named(p) for p in peer.ports) if peer.ports else tuple(callee.ports)
    grpc = tuple(peer.grpc.paths()) if peer.grpc else ()
    return Rule(caller, ports, tuple(peer.methods), tuple(peer.paths), grpc, peer)


def admits_exactly(caller: Caller, allow: bool, widen: tuple[str, ...], report: Report, subject: str) -> bool:
    """For identity-based platforms: may ``caller`` be written as its identities (mTLS principals)?

    Service accounts are what Istio and Linkerd authenticate. A caller narrowed by versions or
    labels is exactly its identities only when no other pod runs as them
    (:attr:`Caller.unenforceable` says why not), and a selector caller reaches only the intent's
    own workloads that carry the labels. Where an allow entry cannot be kept exactly, it fails
    closed: the caller is refused and the loss reported, unless the callee's ``widenAccess`` lists
    ``shared-identity``, which admits the whole identity (reported as approximated). A deny entry
    is always written as the whole identity: denying more is the safe side.

    Returns:
        False when the rule must be left out (nobody is admitted in its place).
    """
    feature = Feature.AUTHZ_BY_VERSION if caller.kind == "service" else Feature.AUTHZ_BY_SELECTOR
    admitted = ", ".join(f"{ns}/{sa}" for ns, sa in caller.identities)
    if caller.unenforceable:
        if not caller.identities:
            report.lost(feature, subject, f"{caller.description} refused: {caller.unenforceable}")
            return False
        if not allow:
            report.approximated(feature, subject, f"deny of {caller.description} covers the whole of {admitted}: {caller.unenforceable}")
            return True
        if "shared-identity" in widen:
            report.approximated(
                feature, subject,
                f"{caller.description} admitted as the whole of {admitted} (widenAccess: shared-identity): {caller.unenforceable}",
            )
            return True
        report.lost(
            feature, subject,
            f"{caller.description} refused: {caller.unenforceable}; nothing is admitted in its place "
            "(widenAccess: [shared-identity] admits the whole service account instead)",
        )
        return False
    if caller.kind == "selector" and allow:
        report.lost(
            Feature.AUTHZ_BY_SELECTOR, subject,
            f"{caller.description} admitted only as the intent's workloads carrying those labels ({admitted}): pods "
            "outside the intent with the same labels are refused, since labels are not an mTLS identity",
        )
    return True


def deny_by_identity(rule: Rule, report: Report, subject: str) -> Rule:
    """A deny ``rule`` as identity-based meshes (Istio, Linkerd) can keep it: never narrower.

    A label selector is not an mTLS identity: the intent's workloads carrying the labels have
    service accounts, but a pod outside the intent with the same labels runs as any account of
    that namespace, and a deny written as the intent's accounts would let it through. The deny
    covers the selector's whole namespace instead (reported as approximated: more is refused).
    Other callers are returned unchanged (a deny of a shared identity already covers all of it,
    see :func:`admits_exactly`).

    Returns:
        ``rule``, or a copy whose caller is the namespace of the selector.
    """
    caller = rule.caller
    if caller.kind != "selector":
        return rule
    ns = caller.label_sets[0][0] if caller.label_sets else ""
    report.approximated(
        Feature.AUTHZ_BY_SELECTOR,
        subject,
        f"deny of {caller.description} covers every workload of namespace {ns}: labels are not an mTLS identity, so pods "
        "outside the intent carrying them cannot be singled out (fails closed)",
    )
    wide = Caller("namespace", (ns,), (), caller.label_sets, None, f"namespace {ns} (for {caller.description})")
    return Rule(wide, rule.ports, rule.methods, rule.paths, rule.grpc_paths, rule.peer, rule.implicit)
