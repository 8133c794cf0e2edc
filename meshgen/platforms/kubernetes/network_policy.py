"""Who may call whom, as Kubernetes NetworkPolicy (``networking.k8s.io/v1``).

Semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/): a pod is
isolated for ingress once any NetworkPolicy with ``Ingress`` in its ``policyTypes`` selects it;
then the only connections allowed into it are those from its own node (so kubelet probes need no
rule) and those some selecting policy's ``ingress`` list allows: policies are a union of allows,
with no deny and no order. A ``from`` element with both ``namespaceSelector`` and ``podSelector``
selects those pods in those namespaces; namespaces are selected by the label
``kubernetes.io/metadata.name`` the API server sets on every Namespace. ``ports`` are the pod's
ports (after the Service's translation). Egress is the same on the other side: a connection
between pods needs both the caller's egress and the callee's ingress to allow it.

Decisions (each one a finding where intent is approximated or lost):

* Identity is the caller's pod labels in its namespace: a service caller is the service's pod
  selector (every version), a ``versions`` caller the version's labels (exact, unlike identity
  meshes), a ``selector`` caller its labels, a ``namespace`` caller every pod of the namespace,
  and a gateway caller its pods, which in-cluster Gateway API implementations label
  ``gateway.networking.k8s.io/gateway-name: <gateway>`` and run in the Gateway's namespace
  (GEP-1762, https://gateway-api.sigs.k8s.io/geps/gep-1762/). NetworkPolicy cannot select a
  service account: a ``serviceAccount`` caller is admitted by the pod labels of the intent's
  workloads running as it, and refused when the intent has none. Labels are not a cryptographic
  identity: any pod created with them in that namespace is admitted.
* L7 restrictions (methods, paths, gRPC methods) and JWT requirements cannot be enforced at L4:
  the caller is refused the port entirely (fail closed), as issue 12 asks; widening to L4 must
  be an explicit choice, never a side effect of ``--allow-loss``.
* ``denyFrom`` has no NetworkPolicy counterpart; denied callers are cut out of the allowed
  selectors: a denied label set becomes ``NotIn`` expressions on the allowed ``podSelector``, a
  denied namespace a ``NotIn`` on the ``namespaceSelector``, and a denied caller meshgen cannot
  name by labels removes its whole namespace (fail closed).
* ``defaultDeny``: a ``default-deny-ingress`` policy (``podSelector: {}``) per namespace with
  services. A gateway whose pods run in such a namespace gets a policy admitting its listener
  ports from anywhere, or the edge itself would be cut off.
* ``egressDefaultDeny``: an ``egress`` policy per namespace with services that keeps DNS to
  kube-dns and every pod of the cluster reachable (callees enforce their own ingress); external
  hosts cannot be named (no FQDN in NetworkPolicy) and stay refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import Gateway, MeshIntent, Port, Service
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.identity import Caller, Rule, rules_for, workloads

NETWORKING = "networking.k8s.io/v1"
POLICY_TEMPLATE = "kubernetes/network-policy.yaml.j2"
#: The label the API server sets on every Namespace (GA in Kubernetes 1.22).
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
#: GEP-1762: in-cluster Gateway implementations MUST put this label on what they deploy for a Gateway.
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
#: CoreDNS / kube-dns pods, as the Kubernetes DNS documentation labels them.
KUBE_DNS = ("kube-system", {"k8s-app": "kube-dns"})


def gateway_identity(gw: Gateway) -> tuple[str, str]:
    """What :mod:`~meshgen.platforms.identity` stores for a gateway caller: namespace and name.

    NetworkPolicy selects pods, not service accounts; the pair only names the gateway, whose pods
    :func:`gateway_labels` selects."""
    return gw.namespace or "", gw.name


def gateway_labels(gw: Gateway) -> dict[str, str]:
    """The gateway's pods: ``gateway.networking.k8s.io/gateway-name: <name>`` (GEP-1762)."""
    return {GATEWAY_NAME_LABEL: gw.name}


# --- peers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """One ``from`` element: pods of a namespace (or of every namespace but some), by labels.

    Attributes:
        namespace: the namespace, or None for every namespace not in ``not_namespaces``.
        not_namespaces: namespaces cut out when ``namespace`` is None.
        labels: pod labels that must all match, or None for every pod.
        not_labels: ``(key, value)`` pairs the pod must not carry (``key NotIn [value]``; a pod
            without the key matches, as Kubernetes evaluates NotIn).
    """

    namespace: str | None
    labels: tuple[tuple[str, str], ...] | None = None
    not_namespaces: tuple[str, ...] = ()
    not_labels: tuple[tuple[str, str], ...] = field(default=())

    def render(self) -> dict[str, Any]:
        """The ``from`` element, namespaceSelector first, as the API documents it."""
        if self.namespace is not None:
            ns: dict[str, Any] = {"matchLabels": {NAMESPACE_LABEL: self.namespace}}
        elif self.not_namespaces:
            ns = {
                "matchExpressions": [
                    {"key": NAMESPACE_LABEL, "operator": "NotIn", "values": sorted(self.not_namespaces)}
                ]
            }
        else:
            ns = {}
        out: dict[str, Any] = {"namespaceSelector": ns}
        pods: dict[str, Any] = {}
        if self.labels:
            pods["matchLabels"] = dict(self.labels)
        if self.not_labels:
            pods["matchExpressions"] = [
                {"key": k, "operator": "NotIn", "values": [v]} for k, v in sorted(set(self.not_labels))
            ]
        if pods or self.labels is not None:
            out["podSelector"] = pods
        return out


@dataclass(frozen=True)
class Denied:
    """A denied caller: pods of ``namespace`` with ``labels`` (None: every pod of it)."""

    namespace: str
    labels: tuple[tuple[str, str], ...] | None


def subtract(peer: Peer, denied: Denied) -> list[Peer]:
    """``peer`` minus the denied pods, as a union of peers (empty: nothing is left).

    ``A and not (l1 and l2 ...)`` is the union of ``A and not l1``, ``A and not l2``, ...; a
    peer over every namespace is split into the other namespaces and the denied one.
    """
    if peer.namespace is None:
        rest = replace(peer, not_namespaces=tuple(sorted(set(peer.not_namespaces) | {denied.namespace})))
        if denied.namespace in peer.not_namespaces:
            return [peer]
        inside = replace(peer, namespace=denied.namespace, not_namespaces=())
        return [rest, *subtract(inside, denied)]
    if peer.namespace != denied.namespace:
        return [peer]
    if denied.labels is None:
        return []
    mine = dict(peer.labels or ())
    if any(k in mine and mine[k] != v for k, v in denied.labels):
        return [peer]  # a label fixed to another value: disjoint
    if any((k, v) in peer.not_labels for k, v in denied.labels):
        return [peer]  # already cut out
    missing = [(k, v) for k, v in denied.labels if mine.get(k) != v]
    if not missing:
        return []  # every pod the peer admits is denied
    return [replace(peer, not_labels=tuple(sorted({*peer.not_labels, pair}))) for pair in missing]


# --- planning -------------------------------------------------------------------------------


def policy_object(
    name: str,
    namespace: str,
    labels: dict[str, str],
    purpose: str,
    *,
    pod_selector: dict[str, str] | None,
    policy_types: list[str],
    ingress: list | None = None,
    egress: list | None = None,
) -> PlannedObject:
    """A NetworkPolicy object; ``pod_selector`` None or empty selects every pod of the namespace."""
    return PlannedObject(
        POLICY_TEMPLATE,
        NETWORKING,
        "NetworkPolicy",
        object_name(name),
        namespace,
        {
            "labels": labels,
            "annotations": {"meshgen.dev/purpose": purpose},
            "pod_selector": dict(sorted((pod_selector or {}).items())),
            "policy_types": policy_types,
            "ingress": ingress or [],
            "egress": egress or [],
        },
    )


def _ports(ports) -> list[dict[str, Any]]:
    seen = sorted({(p.pod_port, "UDP" if p.protocol == "udp" else "TCP") for p in ports})
    return [{"protocol": proto, "port": number} for number, proto in seen]


def _port_names(ports: tuple[Port, ...] | list[Port]) -> str:
    return ", ".join(f"{p.name} ({p.pod_port})" for p in ports)


def caller_peers(intent: MeshIntent, caller: Caller, report: Report, subject: str, *, deny: bool) -> list[Peer] | None:
    """The peers selecting ``caller``'s pods; None when NetworkPolicy cannot name them."""
    if caller.kind == "namespace":
        return [Peer(ns) for ns in caller.namespaces]
    if caller.kind == "service-account":
        ns, sa = caller.identities[0]
        mine = [w for w in workloads(intent) if w.namespace == ns and w.service_account == sa]
        if not mine:
            return None
        if not deny:
            report.approximated(
                Feature.AUTHZ_IDENTITY,
                subject,
                f"{caller.description}: NetworkPolicy cannot select a service account, so the pods of the intent's "
                f"workloads running as it are admitted by their labels ({', '.join(sorted({w.service.name for w in mine}))}); "
                "other pods running as it are refused",
            )
        return [Peer(ns, w.labels) for w in mine]
    return [Peer(ns, labels) for ns, labels in caller.label_sets]


def service_policy(intent: MeshIntent, svc: Service, report: Report, labels: dict[str, str]) -> list[PlannedObject]:
    """The ingress NetworkPolicy of one service (none when nothing restricts who calls it)."""
    subject = f"{svc.namespace}/{svc.name}"
    allow = rules_for(intent, svc, gateway_identity, gateway_labels)
    deny_rules = rules_for(intent, svc, gateway_identity, gateway_labels, deny=True)
    denied = _denied(intent, svc, deny_rules, report, subject)
    open_callee = not allow and not intent.spec.mesh.default_deny
    jwt = svc.request_authentication
    if not allow and not denied and jwt is None:
        return []  # open, or isolated by the namespace's default-deny policy alone
    if jwt is not None:
        report.lost(
            Feature.REQUEST_AUTHENTICATION,
            subject,
            f"JWTs from {jwt.issuer} cannot be checked without a proxy: no caller is admitted (fail closed) until the "
            "requirement is removed from the intent; the application must validate tokens itself",
        )
    entries: list[dict[str, Any]] = []
    if open_callee:
        entries += _entries([Peer(None)], tuple(svc.ports), denied)
        report.approximated(
            Feature.AUTHZ_DENY_RULES,
            subject,
            "without defaultDeny or allowFrom every caller but the denied ones may call: NetworkPolicy admits every pod "
            "of every namespace except the denied callers, but no caller outside the cluster (an ipBlock admitting those "
            "would re-admit the denied pods on most CNIs)",
        )
    for rule in allow:
        what = "gateway route" if rule.implicit else f"allowFrom {rule.caller.description}"
        if rule.is_l7:
            report.lost(
                Feature.AUTHZ_L7,
                subject,
                f"{what} is restricted to {_l7_text(rule)}, which NetworkPolicy cannot enforce: the caller is refused "
                f"port {_port_names(rule.ports)} entirely (fail closed)",
            )
            continue
        peers = caller_peers(intent, rule.caller, report, subject, deny=False)
        if peers is None:
            report.lost(
                Feature.AUTHZ_IDENTITY,
                subject,
                f"{rule.caller.description}: NetworkPolicy cannot select a service account and no workload of the intent "
                "runs as it, so nothing admits it (fail closed); name the caller by selector instead",
            )
            continue
        if rule.caller.kind == "gateway":
            gw = intent.gateway(rule.caller.identities[0][1])
            assert gw is not None
            report.approximated(
                Feature.AUTHZ_IDENTITY,
                subject,
                f"{rule.caller.description} is admitted as the pods labelled {GATEWAY_NAME_LABEL}: {gw.name} in namespace "
                f"{gw.namespace}, where in-cluster Gateway API implementations run them (GEP-1762); an implementation that "
                "runs its proxies elsewhere or outside the cluster needs its own rule",
            )
        entries += _entries(peers, rule.ports, denied)
    if jwt is not None:
        entries = []
    merged = _merge(entries)
    if merged:
        report.use(Feature.AUTHZ_IDENTITY, subject)
    return [
        policy_object(
            svc.name,
            svc.namespace or "",
            labels,
            f"who may call {subject}",
            pod_selector=svc.pod_selector,
            policy_types=["Ingress"],
            ingress=merged,
        )
    ]


def _l7_text(rule: Rule) -> str:
    parts = []
    if rule.methods:
        parts.append("methods " + ", ".join(rule.methods))
    if rule.paths:
        parts.append("paths " + ", ".join(rule.paths))
    if rule.grpc_paths:
        parts.append("gRPC methods " + ", ".join(rule.grpc_paths))
    return " and ".join(parts)


def _denied(
    intent: MeshIntent, svc: Service, deny_rules: list[Rule], report: Report, subject: str
) -> list[tuple[Denied, frozenset[int]]]:
    """Each denied caller with the pod ports it is denied."""
    out = []
    for rule in deny_rules:
        ports = frozenset(p.pod_port for p in rule.ports)
        if rule.is_l7:
            report.approximated(
                Feature.AUTHZ_DENY_RULES,
                subject,
                f"denyFrom {rule.caller.description} is narrowed to {_l7_text(rule)}, which NetworkPolicy cannot see: "
                f"the caller is denied port {_port_names(rule.ports)} entirely",
            )
        peers = caller_peers(intent, rule.caller, report, subject, deny=True)
        if peers is None:
            ns = rule.caller.identities[0][0]
            report.approximated(
                Feature.AUTHZ_DENY_RULES,
                subject,
                f"denyFrom {rule.caller.description}: NetworkPolicy cannot select a service account and no workload of the "
                f"intent runs as it, so every pod of namespace {ns} is refused instead (fail closed)",
            )
            out.append((Denied(ns, None), ports))
            continue
        report.use(Feature.AUTHZ_DENY_RULES, subject)
        for peer in peers:
            assert peer.namespace is not None
            out.append((Denied(peer.namespace, peer.labels), ports))
    return out


def _entries(peers: list[Peer], ports, denied: list[tuple[Denied, frozenset[int]]]) -> list[dict[str, Any]]:
    """Ingress entries admitting ``peers`` on ``ports``, with the denied callers cut out per port."""
    by_port: dict[tuple, list[Port]] = {}
    for port in ports:
        left = list(peers)
        for d, denied_ports in denied:
            if port.pod_port in denied_ports:
                left = [q for p in left for q in subtract(p, d)]
        key = tuple(dict.fromkeys(left))  # ordered, without repeats
        by_port.setdefault(key, []).append(port)
    out = []
    for left, group in by_port.items():
        if left:
            out.append({"from": [p.render() for p in left], "ports": _ports(group)})
    return out


def _merge(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per port set, peers in first-seen order without repeats (the union is the same)."""
    grouped: dict[str, tuple[list, list]] = {}
    for entry in entries:
        key = repr(entry["ports"])
        peers, _ = grouped.setdefault(key, ([], entry["ports"]))
        for peer in entry["from"]:
            if peer not in peers:
                peers.append(peer)
    return [{"from": peers, "ports": ports} for peers, ports in grouped.values()]


def namespace_policies(intent: MeshIntent, labels: dict[str, str], report: Report) -> list[PlannedObject]:
    """Default-deny ingress, the gateways' own ingress, and egress, per namespace with services."""
    out: list[PlannedObject] = []
    mesh = intent.spec.mesh
    workload_ns = sorted({s.namespace or "" for s in intent.spec.services})
    if mesh.default_deny:
        for ns in workload_ns:
            out.append(
                policy_object(
                    "default-deny-ingress",
                    ns,
                    labels,
                    f"deny every call to pods of namespace {ns} that no other policy allows",
                    pod_selector=None,
                    policy_types=["Ingress"],
                )
            )
        for gw in intent.spec.gateways:
            if gw.namespace in workload_ns:
                out.append(_gateway_pods_policy(gw, labels, report))
    out.extend(_egress(intent, workload_ns, labels, report))
    return out


def _gateway_pods_policy(gw: Gateway, labels: dict[str, str], report: Report) -> PlannedObject:
    ports = sorted({lst.port for lst in gw.listeners})
    report.approximated(
        Feature.GATEWAY_HTTP,
        f"gateway {gw.namespace}/{gw.name}",
        f"the gateway's pods run in namespace {gw.namespace}, which denies ingress by default: a NetworkPolicy admits "
        f"listener port {', '.join(map(str, ports))} from anywhere to the pods labelled {GATEWAY_NAME_LABEL}: {gw.name}; "
        "an implementation whose containers listen on other ports (Envoy Gateway maps ports below 1024 to port + 10000) "
        "needs those instead",
    )
    return policy_object(
        object_name("gateway", gw.name),
        gw.namespace or "",
        labels,
        f"clients may reach the listeners of gateway {gw.namespace}/{gw.name}",
        pod_selector={GATEWAY_NAME_LABEL: gw.name},
        policy_types=["Ingress"],
        ingress=[{"ports": [{"protocol": "TCP", "port": p} for p in ports]}],
    )


def _egress(intent: MeshIntent, namespaces: list[str], labels: dict[str, str], report: Report) -> list[PlannedObject]:
    hosts = intent.spec.egress
    deny = intent.spec.mesh.egress_default_deny
    names = ", ".join(h.host for h in hosts)
    if hosts and not deny:
        report.approximated(
            Feature.EGRESS_ALLOW_LIST,
            "mesh",
            f"egress stays open (egressDefaultDeny is false), so {names} can be called; NetworkPolicy has no host names to "
            "list them by",
        )
    if not deny:
        return []
    if hosts:
        report.lost(
            Feature.EGRESS_ALLOW_LIST,
            "mesh",
            f"NetworkPolicy egress has IP blocks only, no host names: calls to {names} are refused (fail closed); add an "
            "ipBlock for their addresses by hand if they are stable, or use a CNI with FQDN policies",
        )
    report.approximated(
        Feature.EGRESS_ALLOW_LIST,
        "mesh",
        "egress is limited to DNS (kube-dns) and pods of the cluster; the API server and other addresses outside the pod "
        "network are refused: workloads that call the Kubernetes API need an ipBlock rule for its address",
    )
    dns_ns, dns_labels = KUBE_DNS
    rules = [
        {
            "to": [Peer(dns_ns, tuple(sorted(dns_labels.items()))).render()],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        # Every pod of the cluster: callees decide with their own ingress policies.
        {"to": [{"namespaceSelector": {}}]},
    ]
    return [
        policy_object(
            "default-deny-egress",
            ns,
            labels,
            f"pods of namespace {ns} may call only DNS and pods of the cluster",
            pod_selector=None,
            policy_types=["Egress"],
            egress=rules,
        )
        for ns in namespaces
    ]
