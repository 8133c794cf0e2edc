"""Linkerd inbound policy for one service: Servers, routes on Servers, authorizations, rate limits.

Shape (https://linkerd.io/2.19/reference/authorization-policy/):

* One ``Server`` per service port (``<service>-<port>``): the service's pod selector, the pod port
  *number*, ``proxyProtocol`` from the port protocol (http ``HTTP/1``, http2 ``HTTP/2``, grpc
  ``gRPC``, tcp ``opaque``, tls ``TLS``) and an explicit ``accessPolicy``.
* An allow rule without methods, paths or gRPC methods becomes an ``AuthorizationPolicy`` on the
  Server. Linkerd applies Server-level authorizations to every route of the Server.
* Rules with methods, paths or gRPC methods become routes attached to the Server
  (``parentRefs: [{group: policy.linkerd.io, kind: Server}]``), ``HTTPRoute`` or ``GRPCRoute``,
  each targeted by an ``AuthorizationPolicy``. The proxy sends a request to the single
  best-matching route and checks only that route's authorizations (plus the Server's), so rules
  are split into one route per distinct match, admitting every caller whose rule covers that match;
  overlaps Linkerd's precedence cannot keep apart are reported. Once a Server has routes, requests
  matching none are refused, so a catch-all route keeps Server-level callers whole.
* Callers are a ``MeshTLSAuthentication`` of identities ``<sa>.<ns>.serviceaccount.identity.linkerd.<td>``
  (a namespace is ``*.<ns>.serviceaccount.identity.linkerd.<td>``).
* Once a route is attached, Linkerd stops authorizing kubelet probes to that port by itself: the
  service's declared probes get a route admitted from any network by a ``NetworkAuthentication``,
  as Linkerd's own default probe authorization does.
* ``rateLimit`` is an ``HTTPLocalRateLimitPolicy`` per L7 Server. Linkerd 2.19 applies it only
  to HTTP/1 and HTTP/2 Servers, so a rate-limited gRPC port is declared ``HTTP/2`` and its
  gRPC allow-lists are written as HTTPRoute paths (``/package.Service/Method``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import Gateway, MeshIntent, Port, Service
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.enforcement import audited
from meshgen.platforms.identity import Caller, Rule, admits_exactly, deny_by_identity, rules_for

SERVER_API = "policy.linkerd.io/v1beta3"
POLICY_API = "policy.linkerd.io/v1alpha1"
ROUTE_API = "gateway.networking.k8s.io/v1"
PROXY_PROTOCOL = {"http": "HTTP/1", "http2": "HTTP/2", "grpc": "gRPC", "tcp": "opaque", "tls": "TLS"}
#: Where kubelet probes may come from: Linkerd's own default (Helm ``probeNetworks``).
ALL_NETWORKS = ({"cidr": "0.0.0.0/0"}, {"cidr": "::/0"})
#: The gRPC health checking protocol a kubelet gRPC probe calls.
GRPC_HEALTH = ("grpc.health.v1.Health", "Check")
#: Callers of a probe route: anyone, from any network.
ANYONE = "*any*"


def identity(namespace: str, service_account: str, trust_domain: str) -> str:
    """A Linkerd workload identity: ``web.emojivoto.serviceaccount.identity.linkerd.cluster.local``."""
    return f"{service_account}.{namespace}.serviceaccount.identity.linkerd.{trust_domain}"


def namespace_identity(namespace: str, trust_domain: str) -> str:
    """Every workload identity of a namespace: ``*.emojivoto.serviceaccount.identity.linkerd.cluster.local``."""
    return f"*.{namespace}.serviceaccount.identity.linkerd.{trust_domain}"


def gateway_identity(gw: Gateway) -> tuple[str, str]:
    """The gateway pods' identity as the intent names it; ``""`` when ``serviceAccount`` is missing
    (Linkerd deploys no gateway, so there is no default to fall back on)."""
    return gw.namespace or "", gw.service_account or ""


def gateway_labels(gw: Gateway) -> dict[str, str]:
    """The Gateway API label implementations put on a gateway's pods (unused by identity-based Linkerd)."""
    return {"gateway.networking.k8s.io/gateway-name": gw.name}


# --- matches --------------------------------------------------------------------------------

#: One HTTP match: (method or None, path kind or None, path value). Kinds: exact, prefix (segment
#: prefix, Gateway API PathPrefix), regex (anchored RE2).
HttpAtom = tuple[str | None, str | None, str | None]
#: One gRPC match: (service, method or None).
GrpcAtom = tuple[str, str | None]


def glob_atom(glob: str) -> tuple[str, str, bool]:
    """Intent path glob -> (kind, value, widened).

    ``/a`` is Exact; ``/a/*`` is PathPrefix ``/a`` (Linkerd matches whole segments, so it also
    admits ``/a`` itself: ``widened``); ``/a*`` and ``*.png`` become anchored regular expressions.
    """
    if glob.startswith("*"):
        return "regex", ".*" + re.escape(glob[1:]) + "$", False
    if not glob.endswith("*"):
        return "exact", glob, False
    prefix = glob[:-1]
    if prefix == "/":
        return "prefix", "/", False
    if prefix.endswith("/"):
        return "prefix", prefix.rstrip("/"), True
    return "regex", "^" + re.escape(prefix) + ".*", False


def _path_covers(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> bool:
    kind_a, val_a = a
    kind_b, val_b = b
    if kind_a is None:
        return True
    if kind_b is None:
        return kind_a == "prefix" and val_a == "/"
    if kind_a == "exact":
        return kind_b == "exact" and val_a == val_b
    if kind_a == "prefix":
        if kind_b == "exact":
            return _in_prefix(val_b, val_a)
        if kind_b == "prefix":
            return _in_prefix(val_b, val_a)
        return val_a == "/"
    # regex: only the same regex, or an exact path it matches, is known to be covered
    if kind_b == "exact":
        return re.fullmatch(val_a, val_b) is not None
    return kind_b == "regex" and val_a == val_b


def _in_prefix(path: str, prefix: str) -> bool:
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")


def _path_overlaps(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> bool:
    if a[0] is None or b[0] is None or _path_covers(a, b) or _path_covers(b, a):
        return True
    kinds = {a[0], b[0]}
    if kinds == {"exact"} or kinds == {"exact", "prefix"}:
        return False
    if kinds == {"prefix"}:
        return False  # neither prefix contains the other
    # A regular expression against anything else: assume some path matches both.
    return "regex" in kinds and (a[0] != "exact" and b[0] != "exact")


def http_covers(a: HttpAtom, b: HttpAtom) -> bool:
    """Whether every request ``b`` matches is matched by ``a``."""
    return (a[0] is None or a[0] == b[0]) and _path_covers((a[1], a[2]), (b[1], b[2]))


def http_overlaps(a: HttpAtom, b: HttpAtom) -> bool:
    """Whether some request may match both ``a`` and ``b``."""
    return (a[0] is None or b[0] is None or a[0] == b[0]) and _path_overlaps((a[1], a[2]), (b[1], b[2]))


def http_precedence(atom: HttpAtom) -> tuple[float, bool]:
    """How Linkerd ranks a match for a request it matches: matched path length, then method.

    Linkerd scores Exact and RegularExpression paths by the whole request path and PathPrefix by
    the prefix (linkerd2-proxy ``http-route`` ``PathMatch``), so an exact or regex match always
    beats a prefix, and two of them tie.
    """
    _, kind, value = atom
    if kind is None:
        score = 1.0
    elif kind == "prefix":
        score = float(len(value or ""))
    else:
        score = math.inf
    return score, atom[0] is not None


def grpc_covers(a: GrpcAtom, b: GrpcAtom) -> bool:
    """Whether gRPC match ``a`` takes every call ``b`` matches."""
    return a[0] == b[0] and (a[1] is None or a[1] == b[1])


def http_match_of(atom: HttpAtom) -> dict[str, Any]:
    """An ``HTTPRouteMatch`` for the atom."""
    method, kind, value = atom
    out: dict[str, Any] = {}
    if kind is not None:
        out["path"] = {"type": {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}[kind], "value": value}
    if method is not None:
        out["method"] = method
    return out


def grpc_match_of(atom: GrpcAtom) -> dict[str, Any]:
    """A ``GRPCRouteMatch`` for the atom."""
    service, method = atom
    body = {"type": "Exact", "service": service}
    if method is not None:
        body["method"] = method
    return {"method": body}


# --- grants ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """An allow rule Linkerd can enforce: who (identities), on which ports, for which requests."""

    slug: str
    description: str
    identities: tuple[str, ...]
    rule: Rule


def caller_identities(caller: Caller, trust_domain: str) -> tuple[str, ...]:
    """The Linkerd identities of a resolved caller (gateways without a service account have none)."""
    if caller.kind == "namespace":
        return tuple(namespace_identity(ns, trust_domain) for ns in caller.namespaces)
    return tuple(sorted(identity(ns, sa, trust_domain) for ns, sa in caller.identities if sa))


def caller_slug(rule: Rule, callee_namespace: str) -> str:
    """A short, stable name part for the caller: ``productpage``, ``gw-public``, ``sa-default``, ``ns-shop``."""
    caller, peer = rule.caller, rule.peer
    if caller.kind == "namespace":
        return object_name("ns", *caller.namespaces)
    if caller.kind == "selector":
        assert peer is not None and peer.selector is not None
        ns = caller.label_sets[0][0] if caller.label_sets else callee_namespace
        parts = [f"{k}-{v}" for k, v in sorted(peer.selector.items())]
        return object_name("sel", *([ns] if ns != callee_namespace else []), *parts)
    # "service ns/name[ versions ...]", "gateway ns/name", "service account ns/name"
    qualified = caller.description.split(" versions ")[0].rsplit(" ", 1)[1]
    ns, name = qualified.split("/", 1)
    prefix = {"service": [], "gateway": ["gw"], "service-account": ["sa"]}[caller.kind]
    versions = list(peer.versions) if peer is not None else []
    return object_name(*prefix, *([ns] if ns != callee_namespace else []), name, *versions)


# --- planning -------------------------------------------------------------------------------


@dataclass
class _Objects:
    """Objects of one service's inbound policy, deduplicated by (kind, name)."""

    labels: dict[str, str]
    namespace: str
    items: dict[tuple[str, str], PlannedObject] = field(default_factory=dict)

    def add(self, template: str, api: str, kind: str, name: str, values: dict[str, Any]) -> None:
        """Add an object; the same object planned twice (one caller on two ports) is kept once."""
        obj = PlannedObject(template, api, kind, name, self.namespace, {"labels": self.labels, **values})
        prior = self.items.setdefault((kind, name), obj)
        if prior != obj:
            raise AssertionError(f"planned two different {kind} objects named {self.namespace}/{name}")

    def route(self, kind: str, name: str, server: str, rules: list[dict[str, Any]]) -> None:
        template = "gateway-api/grpc-route.yaml.j2" if kind == "GRPCRoute" else "gateway-api/http-route.yaml.j2"
        parents = [{"group": "policy.linkerd.io", "kind": "Server", "name": server}]
        self.add(template, ROUTE_API, kind, name, {"annotations": {}, "parents": parents, "hostnames": [], "rules": rules})

    def authorize(self, name: str, target: dict[str, str], authn_kind: str, authn: str) -> None:
        refs = [{"group": "policy.linkerd.io", "kind": authn_kind, "name": authn}]
        self.add("linkerd/authorization-policy.yaml.j2", POLICY_API, "AuthorizationPolicy", name, {"target_ref": target, "authentication_refs": refs})


def plan_namespace_findings(intent: MeshIntent, namespaces: list[str], policy: str, report: Report) -> None:
    """Namespace-wide side effects of the inbound policy that the intent should hear about."""
    if policy == "deny" and intent.spec.telemetry.metrics:
        for ns in namespaces:
            report.approximated(
                Feature.METRICS,
                f"namespace {ns}",
                "default-inbound-policy deny also refuses Prometheus scrapes of the proxies' linkerd-admin port (4191); "
                f"authorize your Prometheus there, e.g. `linkerd viz allow-scrapes --namespace {ns}`",
            )


def plan_authorization(intent: MeshIntent, svc: Service, report: Report, labels: dict[str, str], policy: str) -> list[PlannedObject]:
    """Servers, routes on Servers, authentications, AuthorizationPolicies and rate limits of ``svc``.

    Args:
        policy: the namespace's default inbound policy (``deny``, ``all-authenticated``, ...).
    """
    subject = f"{svc.namespace}/{svc.name}"
    td = intent.spec.mesh.trust_domain
    ns = svc.namespace or ""
    allow = rules_for(intent, svc, gateway_identity, gateway_labels)
    deny = [deny_by_identity(r, report, subject) for r in rules_for(intent, svc, gateway_identity, gateway_labels, deny=True)]
    grants = [g for rule in allow if (g := _grant(rule, ns, td, report, subject, tuple(svc.widen_access))) is not None]
    restricted = bool(allow) or intent.spec.mesh.default_deny
    jwt = svc.request_authentication
    if jwt is not None and "without-jwt" in svc.widen_access:
        report.approximated(
            Feature.REQUEST_AUTHENTICATION, subject,
            f"Linkerd does not validate JWTs: requests without a valid token from {jwt.issuer} are admitted "
            "(widenAccess: without-jwt)",
        )
    elif jwt is not None:
        # Only requests with a valid token may pass, and Linkerd cannot tell which have one: admit none.
        report.lost(
            Feature.REQUEST_AUTHENTICATION, subject,
            f"Linkerd does not validate JWTs from {jwt.issuer}: every caller of {subject} is refused instead "
            "(kubelet probes excepted); widenAccess: [without-jwt] admits the allowFrom callers without a token check",
        )
        grants, restricted = [], True
    access = "deny" if restricted else policy
    if audited(intent, svc):
        # Linkerd's audit policy: "same as all-unauthenticated but requests get flagged in logs and
        # metrics" (https://linkerd.io/2/reference/authorization-policy/#default-policies).
        access = "audit"
        if any(g.rule.is_l7 for g in grants):
            report.approximated(
                Feature.AUTHZ_AUDIT, subject,
                "Server accessPolicy audit admits and flags calls that no authorization admits on the Server; calls that "
                "match a route with its own authorizations are still judged by them (refused, not flagged, when no caller matches)",
            )
    objects = _Objects(labels, ns)
    grants, closed = _apply_denies(deny, grants, restricted, policy, td, report, subject)

    for grant in grants:
        objects.add(
            "linkerd/mesh-tls-authentication.yaml.j2",
            POLICY_API,
            "MeshTLSAuthentication",
            object_name(svc.name, grant.slug),
            {"identities": list(grant.identities)},
        )
    # A TCP-only service has no requests to count: meshgen.platforms.effects reports it lost.
    rate_limited = svc.rate_limit is not None and any(p.is_l7 for p in svc.ports)
    for port in svc.ports:
        if port.protocol == "udp":
            if restricted:
                report.lost(Feature.AUTHZ_IDENTITY, subject, f"UDP port {port.name}: Linkerd does not proxy UDP, so it is neither encrypted nor authorized")
            continue
        port_access = "deny" if port.name in closed and access != "audit" else access
        _plan_port(svc, port, grants, port_access, rate_limited, objects, report, subject)
    if rate_limited:
        _rate_limit(svc, objects, report, subject)
    return list(objects.items.values())


def _grant(rule: Rule, callee_ns: str, td: str, report: Report, subject: str, widen: tuple[str, ...] = ()) -> Grant | None:
    caller = rule.caller
    if caller.kind == "gateway" and not any(sa for _, sa in caller.identities):
        report.lost(
            Feature.AUTHZ_IDENTITY,
            subject,
            f"{caller.description} has no serviceAccount: Linkerd admits callers by mTLS identity and deploys no gateway of "
            "its own; set gateways[].serviceAccount to the service account of the (meshed) gateway pods",
        )
        return None
    if not admits_exactly(caller, True, widen, report, subject):
        return None  # refused: no grant, so the Server admits nobody in its place (the safe side)
    if not caller.unenforceable and caller.kind == "service" and rule.peer is not None and rule.peer.versions:
        admitted = ", ".join(f"{ns}/{sa}" for ns, sa in caller.identities)
        report.use(Feature.AUTHZ_BY_VERSION, subject, f"{caller.description} admitted by their own service accounts: {admitted}")
    return Grant(caller_slug(rule, callee_ns), caller.description, caller_identities(caller, td), rule)


def _identities_meet(a: str, b: str) -> bool:
    if a == b:
        return True
    if a.startswith("*.") and b.endswith(a[1:]):
        return True
    return b.startswith("*.") and a.endswith(b[1:])


def _apply_denies(
    deny: list[Rule], grants: list[Grant], restricted: bool, policy: str, td: str, report: Report, subject: str
) -> tuple[list[Grant], set[str]]:
    """Keep every denyFrom entry on allow-only Linkerd by admitting less, never more (fails closed).

    Linkerd authorization is allow-only (https://linkerd.io/2/reference/authorization-policy/): a
    caller is refused only by not being admitted. So a denied caller that an allowFrom grant
    admits loses that grant (the grant's caller is refused instead), and a deny on a service
    without an allow-list, where the namespace default would admit everyone, closes the deny's
    ports (a Server with accessPolicy deny and no authorization for the caller).

    Returns:
        The grants left, and the names of the ports that admit nobody.
    """
    closed: set[str] = set()
    for rule in deny:
        desc = rule.caller.description
        denied = caller_identities(rule.caller, td)
        ports = {p.name for p in rule.ports}
        if not restricted:
            closed |= ports
            report.lost(
                Feature.AUTHZ_DENY_RULES,
                subject,
                f"Linkerd authorization is allow-only and {subject} has no allow-list, so {desc} cannot be refused alone: "
                f"ports {', '.join(sorted(ports))} admit nobody instead (fails closed; the namespace default {policy} "
                "would admit it)",
            )
            continue
        overlapping = [
            g
            for g in grants
            if ports & {p.name for p in g.rule.ports} and any(_identities_meet(a, d) for a in g.identities for d in denied)
        ]
        if overlapping:
            who = ", ".join(sorted({g.description for g in overlapping}))
            grants = [g for g in grants if g not in overlapping]
            report.lost(
                Feature.AUTHZ_DENY_RULES,
                subject,
                f"Linkerd authorization is allow-only: {desc} cannot be refused while the allowFrom entries for {who} admit "
                "it, so those entries are refused instead (fails closed)",
            )
        else:
            report.approximated(
                Feature.AUTHZ_DENY_RULES,
                subject,
                f"Linkerd has no deny rules; {desc} is refused anyway because no allowFrom admits it",
            )
    return grants, closed


def _plan_port(svc: Service, port: Port, grants: list[Grant], access: str, rate_limited: bool, objects: _Objects, report: Report, subject: str) -> None:
    server = object_name(svc.name, port.name)
    grpc_style = port.protocol == "grpc" and not rate_limited
    protocol = "HTTP/2" if port.protocol == "grpc" and rate_limited else PROXY_PROTOCOL[port.protocol]
    objects.add(
        "linkerd/server.yaml.j2",
        SERVER_API,
        "Server",
        server,
        {"pod_selector": svc.pod_selector, "port": port.pod_port, "proxy_protocol": protocol, "access_policy": access},
    )
    server_ref = {"group": "policy.linkerd.io", "kind": "Server", "name": server}
    mine = [g for g in grants if port in g.rule.ports]
    l4 = [g for g in mine if not g.rule.is_l7]
    for grant in l4:
        objects.authorize(object_name(server, grant.slug), server_ref, "MeshTLSAuthentication", object_name(svc.name, grant.slug))

    probes = [p for p in svc.probes if svc.port_named(p.port) == port]
    kind = "GRPCRoute" if grpc_style else "HTTPRoute"
    if grpc_style:
        atoms = _grpc_atoms(mine, port, report, subject)
        probe_atoms: list = [GRPC_HEALTH] if probes else []
    else:
        atoms = _http_atoms(mine, port, report, subject)
        probe_atoms = [(None, "exact", "/" + "/".join(GRPC_HEALTH))] if probes and port.protocol == "grpc" else [
            ("GET", "exact", p.path) for p in probes if p.path
        ]
    for atom in probe_atoms:
        atoms.pop(atom, None)  # the probe route admits everyone on exactly these requests
    if atoms:
        _check_overlaps(atoms, probe_atoms, grpc_style, port, report, subject)
    needs_routes = bool(atoms) or (grpc_style and bool(probe_atoms))
    if not needs_routes:
        return

    names: set[str] = set()
    for atom, covering in atoms.items():
        name = _route_name(server, atom, grpc_style, names)
        match = grpc_match_of(atom) if grpc_style else http_match_of(atom)
        objects.route(kind, name, server, [{"matches": [match]}])
        target = {"group": "gateway.networking.k8s.io", "kind": kind, "name": name}
        for grant in covering:
            objects.authorize(object_name(name, grant.slug), target, "MeshTLSAuthentication", object_name(svc.name, grant.slug))
    if l4 or access != "deny":
        # Server-level authorizations apply on every route, but only to requests some route matches.
        objects.route(kind, object_name(server, "any"), server, [{}])
    if probe_atoms:
        name = object_name(server, "probes")
        matches = [grpc_match_of(a) if grpc_style else http_match_of(a) for a in sorted(probe_atoms, key=str)]
        objects.route(kind, name, server, [{"matches": matches}])
        network = object_name(svc.name, "probes")
        objects.add("linkerd/network-authentication.yaml.j2", POLICY_API, "NetworkAuthentication", network, {"networks": [dict(n) for n in ALL_NETWORKS]})
        objects.authorize(name, {"group": "gateway.networking.k8s.io", "kind": kind, "name": name}, "NetworkAuthentication", network)
    else:
        report.approximated(
            Feature.AUTHZ_L7,
            subject,
            f"Linkerd stops admitting kubelet probes to port {port.name} once routes attach to its Server; no probe is declared "
            "for it, so an httpGet or gRPC probe there would fail: list it under services[].probes",
        )


def _http_atoms(grants: list[Grant], port: Port, report: Report, subject: str) -> dict[HttpAtom, list[Grant]]:
    """Distinct HTTP matches of the port's L7 rules, each with every grant whose rule covers it."""
    per_grant: list[tuple[Grant, list[HttpAtom]]] = []
    for grant in grants:
        rule = grant.rule
        if not rule.is_l7:
            continue
        paths: list[tuple[str | None, str | None]] = []
        for glob in rule.paths:
            kind, value, widened = glob_atom(glob)
            if widened:
                report.approximated(
                    Feature.AUTHZ_L7,
                    subject,
                    f"path {glob} for {grant.description} becomes PathPrefix {value}, which also admits {value} itself",
                )
            paths.append((kind, value))
        for grpc_path in rule.grpc_paths:
            if grpc_path.endswith("/*"):
                paths.append(("prefix", grpc_path[:-2]))
            else:
                paths.append(("exact", grpc_path))
        methods: list[str | None] = list(rule.methods) or [None]
        atoms = [(m, k, v) for m in methods for k, v in (paths or [(None, None)])]
        per_grant.append((grant, atoms))
    return _cover(per_grant, http_covers)


def _grpc_atoms(grants: list[Grant], port: Port, report: Report, subject: str) -> dict[GrpcAtom, list[Grant]]:
    """Distinct gRPC methods of the port's L7 rules, each with every grant whose rule covers it."""
    per_grant: list[tuple[Grant, list[GrpcAtom]]] = []
    for grant in grants:
        rule = grant.rule
        if not rule.is_l7:
            continue
        if rule.methods or rule.paths:
            report.lost(
                Feature.AUTHZ_L7,
                subject,
                f"HTTP methods and paths for {grant.description} cannot be matched on gRPC port {port.name} (GRPCRoute matches "
                "gRPC services and methods); the rule is left out there, which refuses it",
            )
            continue
        atoms: list[GrpcAtom] = []
        for grpc_path in rule.grpc_paths:
            service, method = grpc_path[1:].split("/", 1)
            atoms.append((service, None if method == "*" else method))
        per_grant.append((grant, atoms))
    return _cover(per_grant, grpc_covers)


def _cover(per_grant, covers) -> dict:
    atoms: dict = {}
    for _, mine in per_grant:
        for atom in mine:
            atoms.setdefault(atom, [])
    for atom in atoms:
        for grant, mine in per_grant:
            if any(covers(a, atom) for a in mine) and grant not in atoms[atom]:
                atoms[atom].append(grant)
    return atoms


def _check_overlaps(atoms: dict, probe_atoms: list, grpc_style: bool, port: Port, report: Report, subject: str) -> None:
    """Report requests two routes both match where Linkerd's pick refuses a caller the intent admits."""
    if grpc_style:
        return  # gRPC matches nest (service, then method): the more specific route always covers the other
    everyone = {ANYONE}
    callers = {atom: {g.description for g in grants} for atom, grants in atoms.items()}
    callers.update({atom: everyone for atom in probe_atoms})
    keys = sorted(callers, key=str)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if not http_overlaps(a, b):
                continue
            pa, pb = http_precedence(a), http_precedence(b)
            if pa == pb:
                refused = callers[a] ^ callers[b]
            else:
                winner, loser = (a, b) if pa > pb else (b, a)
                refused = set() if ANYONE in callers[winner] else callers[loser] - callers[winner]
            refused.discard(ANYONE)
            if refused:
                report.approximated(
                    Feature.AUTHZ_L7,
                    subject,
                    f"on port {port.name}, requests matching both {_show(a)} and {_show(b)} go to one route only, which does not "
                    f"admit {', '.join(sorted(refused))}",
                )


def _show(atom: HttpAtom) -> str:
    method, kind, value = atom
    return " ".join(x for x in (method or "any method", value or "any path") if x)


def _route_name(server: str, atom, grpc_style: bool, taken: set[str]) -> str:
    """``<server>-<method>`` for gRPC (``-<service>`` for a whole service), ``<server>-authz-<n>`` for HTTP."""
    if grpc_style:
        base = object_name(server, (atom[1] or atom[0].rsplit(".", 1)[-1]).lower())
        name, n = base, 1
    else:
        base = object_name(server, "authz")
        name, n = object_name(base, "1"), 1
    while name in taken:
        n += 1
        name = object_name(base, str(n))
    taken.add(name)
    return name


def _rate_limit(svc: Service, objects: _Objects, report: Report, subject: str) -> None:
    limit = svc.rate_limit
    assert limit is not None
    l7 = [p for p in svc.ports if p.is_l7]
    if not l7:
        report.lost(Feature.RATE_LIMIT, subject, f"{svc.name} has no http, http2 or grpc port: Linkerd limits HTTP and gRPC requests only")
        return
    per_pod = max(1, math.ceil(limit.requests_per_second / svc.replicas))
    ports = ", ".join(p.name for p in l7)
    detail = (
        f"{limit.requests_per_second} requests/s for the service becomes HTTPLocalRateLimitPolicy total.requestsPerSecond "
        f"{per_pod} on each of its {svc.replicas} pods (every proxy counts alone), per port ({ports}); excess requests get 429"
    )
    report.use(Feature.RATE_LIMIT, subject, detail)
    if limit.burst is not None:
        report.use(Feature.RATE_LIMIT_BURST, subject, f"burst {limit.burst} dropped: HTTPLocalRateLimitPolicy has no burst")
    for port in l7:
        server = object_name(svc.name, port.name)
        if port.protocol == "grpc":
            report.approximated(
                Feature.RATE_LIMIT,
                subject,
                f"grpc port {port.name} is declared to Linkerd as HTTP/2 (Server proxyProtocol): Linkerd 2.19 enforces "
                "HTTPLocalRateLimitPolicy only on HTTP/1 and HTTP/2 Servers; its allow-list routes match /package.Service/Method paths",
            )
        objects.add(
            "linkerd/http-local-rate-limit-policy.yaml.j2",
            POLICY_API,
            "HTTPLocalRateLimitPolicy",
            server,
            {"server": server, "requests_per_second": per_pod},
        )
