"""Authorization: one ``ServiceIntentions`` per service, and the mesh-wide ``*`` intention.

How Consul decides (hashicorp/consul ``agent/xds/rbac.go``, ``makeRBACRules``;
https://developer.hashicorp.com/consul/docs/secure-mesh/intention): the intentions that match a
destination are sorted by precedence (an exact destination above ``*``; for one destination an
exact source above ``*``), and for a caller **only the highest-precedence intention whose source
matches it applies**: lower ones are AND-NOT-ed with its source. An L4 intention allows or denies
outright. An L7 intention (``permissions``) is tried permission by permission, in order; the first
permission matching the request decides, and a request matching none falls through to the
*default intention policy* (the ACL default policy), **not** to lower intentions. So meshgen:

* writes the mesh default explicitly, a ``*`` -> ``*`` intention (deny under ``defaultDeny``,
  allow otherwise), so the result never depends on the ACL default policy;
* makes an allow-list exclusive without ``defaultDeny`` by a ``*`` deny source on the service
  (exact destination, so it outranks ``*`` -> ``*``), as an Istio ALLOW policy is exclusive;
* closes every L7 source with a catch-all permission (``pathPrefix: /``): deny after allows, or
  allow where the caller would otherwise be admitted. Without it, an allow-list of
  ``GET /reviews/*`` would admit every other request of that caller whenever the ACL default
  policy allows (Consul drops permissions whose action equals the default);
* merges every allowFrom/denyFrom entry of one caller into one source (Consul refuses a source
  named twice in an entry): deny permissions first (denyFrom is evaluated before allowFrom), then
  allow permissions, then the catch-all; an L4 deny of a caller denies it outright.

Intent paths become permissions as Istio reads them (Envoy ``url_path``, query excluded): ``/a``
-> ``pathExact``, ``/a/*`` -> ``pathPrefix /a/``, ``*.png`` -> ``pathRegex .*\\.png``, ``*`` ->
``pathPrefix /``; a gRPC method -> ``pathExact /pkg.Service/Method`` (``pathPrefix
/pkg.Service/`` for every method). Each permission holds one path matcher, so paths become one
permission each, every one with the rule's ``methods``.

Callers are Consul service names (:mod:`meshgen.platforms.consul.common`): a service caller is its
name (its versions cannot be told apart: reported when a rule narrows to some versions, and the
whole service is admitted, as on Istio when versions share an identity); a gateway is the name
its proxies register; a ``serviceAccount`` is the Consul service of that name (ACLs tie the two);
a label selector is the services of the intent's workloads carrying the labels; a namespace is
the intent's services in it (Consul CE has no namespaces). Field names: ../shared/crds/consul
``serviceintentions``; JWTs: ``jwtproviders`` and ``spec.jwt``
(https://developer.hashicorp.com/consul/docs/reference/config-entry/service-intentions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import Gateway, MeshIntent, Service
from meshgen.intent.rules import resolve_service
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.consul.common import API, gateway_service_name, is_l7, mesh_port, subject
from meshgen.platforms.consul.traffic import literal
from meshgen.platforms.identity import Rule, deny_by_identity, rules_for, workloads

#: The catch-all HTTP matcher: every request path starts with "/".
EVERY_PATH = {"pathPrefix": "/"}


def path_matcher(pattern: str) -> dict[str, str]:
    """An intent path pattern (Istio glob) as one ServiceIntentions ``http`` path matcher."""
    if pattern == "*":
        return dict(EVERY_PATH)
    if pattern.endswith("*"):
        return {"pathPrefix": pattern[:-1]}
    if pattern.startswith("*"):
        return {"pathRegex": ".*" + literal(pattern[1:])}
    return {"pathExact": pattern}


def grpc_matcher(path: str) -> dict[str, str]:
    """A gRPC method path (``/pkg.Service/Method`` or ``/pkg.Service/*``) as a path matcher."""
    if path.endswith("/*"):
        return {"pathPrefix": path[:-1]}
    return {"pathExact": path}


def permissions(rule: Rule, action: str) -> list[dict[str, Any]]:
    """The permissions of one L7 rule: one per path (ORed by Consul), each with the rule's methods."""
    methods = list(rule.methods)
    matchers = [path_matcher(p) for p in rule.paths] + [grpc_matcher(p) for p in rule.grpc_paths]
    if not matchers:
        return [{"action": action, "http": {"methods": methods}}]
    out = []
    for matcher in matchers:
        http: dict[str, Any] = dict(matcher)
        if methods:
            http["methods"] = methods
        out.append({"action": action, "http": http})
    return out


@dataclass
class _Source:
    """Everything the intent says about one Consul source name on one destination."""

    deny_all: bool = False
    allow_all: bool = False
    deny_perms: list[dict[str, Any]] = field(default_factory=list)
    allow_perms: list[dict[str, Any]] = field(default_factory=list)
    why: list[str] = field(default_factory=list)

    def render(self, name: str, exclusive: bool) -> dict[str, Any]:
        """The ``sources[]`` entry; ``exclusive``: callers matching no allow are denied."""
        out: dict[str, Any] = {"name": name}
        if self.deny_all:
            out["action"] = "deny"
        elif not self.deny_perms and not self.allow_perms:
            out["action"] = "allow" if self.allow_all else ("deny" if exclusive else "allow")
        else:
            perms = _unique(self.deny_perms)
            if self.allow_all:
                perms.append({"action": "allow", "http": dict(EVERY_PATH)})
            else:
                perms += [p for p in _unique(self.allow_perms) if p not in perms]
                perms.append({"action": "deny" if exclusive else "allow", "http": dict(EVERY_PATH)})
            out["permissions"] = perms
        out["description"] = "; ".join(dict.fromkeys(self.why))
        return out


def _unique(perms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in perms:
        if p not in out:
            out.append(p)
    return out


def _gateway_identity(gw: Gateway) -> tuple[str, str]:
    return gw.namespace or "", gateway_service_name(gw)


def _no_labels(gw: Gateway) -> dict[str, str]:
    return {}


def source_names(intent: MeshIntent, svc: Service, rule: Rule, report: Report, deny: bool) -> list[str]:
    """Consul source names for ``rule``'s caller (empty: nobody can be named; reported)."""
    caller, peer = rule.caller, rule.peer
    sub = subject(svc)
    verb = "denied" if deny else "admitted"
    if caller.kind == "service" and peer is not None and peer.service is not None:
        target = resolve_service(intent, peer.service, peer.namespace)[0]
        every = {v.name for v in target.versions}
        if peer.versions and set(peer.versions) != every:
            why = f"every version of {target.name} registers as the Consul service {target.name!r}"
            if deny:
                report.approximated(Feature.AUTHZ_BY_VERSION, sub, f"deny of {caller.description} covers the whole service: {why}")
            elif "shared-identity" in svc.widen_access:
                report.approximated(
                    Feature.AUTHZ_BY_VERSION, sub,
                    f"{caller.description} admitted as the whole service {target.name!r} (widenAccess: shared-identity): {why}",
                )
            else:
                # Fails closed, as on the identity-based meshes (meshgen.platforms.identity.admits_exactly).
                report.lost(
                    Feature.AUTHZ_BY_VERSION, sub,
                    f"{caller.description} refused: {why}; nothing is admitted in its place "
                    "(widenAccess: [shared-identity] admits the whole service instead)",
                )
                return []
        return [target.name]
    if caller.kind == "gateway":
        return [ns_sa[1] for ns_sa in caller.identities]
    if caller.kind == "service-account":
        ns, sa = caller.identities[0]
        how = (
            f"is {verb} as the Consul service {sa!r} (with ACLs a pod's service name equals its service account); Consul "
            f"CE has no namespaces, so a service {sa!r} of any namespace matches"
        )
        if deny or "shared-identity" in svc.widen_access:
            report.approximated(
                Feature.AUTHZ_IDENTITY, sub, f"{caller.description} {how}" + (" (widenAccess: shared-identity)" if not deny else "")
            )
            return [sa]
        # Admitting the name would admit that account in every namespace: fails closed.
        report.lost(
            Feature.AUTHZ_IDENTITY, sub,
            f"{caller.description} refused: it could only be admitted as the Consul service {sa!r}, which a service account "
            f"{sa!r} of any namespace matches (Consul CE has no namespaces); nothing is admitted in its place "
            "(widenAccess: [shared-identity] admits the name in every namespace instead)",
        )
        return []
    if caller.kind == "selector":
        ns, labels = caller.label_sets[0]
        wanted = set(labels)
        here = [w for w in workloads(intent) if w.namespace == ns]
        chosen = [w for w in here if wanted <= set(w.labels)]
        names = sorted({w.service.name for w in chosen})
        partial = sorted({w.service.name for w in here if w not in chosen and w.service.name in names})
        if not chosen:
            report.lost(Feature.AUTHZ_BY_SELECTOR, sub, f"no workload of the intent matches {caller.description}: nobody is {verb}")
            return []
        if partial:
            report.lost(
                Feature.AUTHZ_BY_SELECTOR,
                sub,
                f"{caller.description} selects only some pods of {', '.join(partial)}: Consul names whole services, so all "
                f"of {', '.join(partial)} is {verb}",
            )
        else:
            report.use(Feature.AUTHZ_BY_SELECTOR, sub, f"{caller.description} {verb} as the Consul services {', '.join(names)}")
        return names
    # A namespace: Consul CE has one Consul namespace, so only the intent's own services can be named.
    ns = caller.namespaces[0]
    names = sorted({s.name for s in intent.spec.services if s.namespace == ns} | {
        gateway_service_name(g) for g in intent.spec.gateways if g.namespace == ns
    })
    if deny:
        report.lost(
            Feature.AUTHZ_DENY_RULES,
            sub,
            f"Consul CE has no namespaces, so other workloads of {ns} cannot be named: the intent's services in {ns} "
            f"({', '.join(names) or 'none'}) are denied, and so is every caller no other source of {svc.name} names "
            "(a * deny source; fails closed)",
        )
    elif not names:
        report.lost(Feature.AUTHZ_IDENTITY, sub, f"Consul CE has no namespaces and the intent has no service in {ns}: nobody is admitted")
    else:
        report.approximated(
            Feature.AUTHZ_IDENTITY,
            sub,
            f"Consul CE has no namespaces: {caller.description} becomes the intent's services in it ({', '.join(names)}); "
            f"other workloads of {ns} are refused",
        )
    return names


def plan_intentions(intent: MeshIntent, svc: Service, labels: dict[str, str], report: Report) -> list[PlannedObject]:
    """The service's ``ServiceIntentions`` (and ``JWTProvider``); none when the mesh default decides."""
    sub = subject(svc)
    allow = rules_for(intent, svc, _gateway_identity, _no_labels)
    # A selector deny cannot name the labelled pods outside the intent: it covers their namespace.
    deny = [deny_by_identity(r, report, sub) for r in rules_for(intent, svc, _gateway_identity, _no_labels, deny=True)]
    mesh = intent.spec.mesh
    port = mesh_port(svc)
    sources: dict[str, _Source] = {}
    # A namespace cannot be named in Consul CE: its other workloads are refused with every unnamed caller.
    unnamed_denied = any(r.caller.kind == "namespace" and port in r.ports for r in deny)
    for rules, is_deny in ((deny, True), (allow, False)):
        for rule in rules:
            if port not in rule.ports:
                continue  # only ports Consul CE does not register: reported with those ports
            if unnamed_denied and not is_deny and rule.caller.kind == "service-account":
                # A service account's Consul name is the same in every namespace, so it may be a
                # workload of the denied namespace: refused with it (fails closed).
                report.lost(
                    Feature.AUTHZ_DENY_RULES, sub,
                    f"{rule.caller.description} refused: Consul CE cannot tell it from the workloads of a denied namespace",
                )
                continue
            if rule.is_l7 and not is_l7(svc):
                report.lost(Feature.AUTHZ_L7, sub, f"{svc.name}'s mesh port {port.name} is not HTTP: the L7 rule for {rule.caller.description} admits nothing")
                continue
            if rule.is_l7:
                report.use(Feature.AUTHZ_L7, sub)
            report.use(Feature.AUTHZ_DENY_RULES if is_deny else Feature.AUTHZ_IDENTITY, sub)
            for name in source_names(intent, svc, rule, report, is_deny):
                src = sources.setdefault(name, _Source())
                src.why.append(("denyFrom " if is_deny else "allowFrom " if not rule.implicit else "routes from ") + rule.caller.description)
                if is_deny and not rule.is_l7:
                    src.deny_all = True
                elif is_deny:
                    src.deny_perms += permissions(rule, "deny")
                elif not rule.is_l7:
                    src.allow_all = True
                else:
                    src.allow_perms += permissions(rule, "allow")
    # A service with an allow-list admits nobody else, also when its entries name other ports only.
    has_allows = bool(allow) or unnamed_denied
    exclusive = mesh.default_deny or has_allows
    rendered = [sources[name].render(name, exclusive) for name in sorted(sources) if name != "*"]
    if has_allows and not mesh.default_deny and "*" not in sources:
        why = "only the allowFrom callers of" if not unnamed_denied else "a denied namespace's unnamed workloads: only the named callers of"
        rendered.append({"name": "*", "action": "deny", "description": f"{why} {svc.name}"})
    jwt = _jwt(svc, labels, report)
    out: list[PlannedObject] = []
    if jwt is not None:
        out.append(jwt[0])
    if not rendered and jwt is None:
        return out
    values = {"labels": labels, "destination": svc.name, "sources": rendered, "jwt": jwt[1] if jwt else None}
    out.append(PlannedObject("consul/service-intentions.yaml.j2", API, "ServiceIntentions", svc.name, svc.namespace, values))
    return out


def _jwt(svc: Service, labels: dict[str, str], report: Report) -> tuple[PlannedObject, dict[str, Any]] | None:
    """A JWTProvider for the service's issuer and the ``spec.jwt`` that requires it."""
    rule = svc.request_authentication
    if rule is None:
        return None
    sub = subject(svc)
    name = object_name(svc.name, "jwt")
    spec: dict[str, Any] = {"issuer": rule.issuer}
    if rule.audiences:
        spec["audiences"] = list(rule.audiences)
    spec["jsonWebKeySet"] = {"remote": {"uri": rule.jwks_uri, "fetchAsynchronously": True}}
    claims = []
    for claim, values in sorted(rule.required_claims.items()):
        if len(values) > 1:
            report.lost(
                Feature.REQUEST_AUTHENTICATION,
                sub,
                f"claim {claim} may be any of {', '.join(values)}, but Consul verifies one value per claim: every value is "
                "required (fails closed)",
            )
        claims += [{"path": [claim], "value": v} for v in values]
    provider: dict[str, Any] = {"name": name}
    if claims:
        provider["verifyClaims"] = claims
    obj = PlannedObject("consul/jwt-provider.yaml.j2", API, "JWTProvider", name, svc.namespace, {"labels": labels, "spec": spec})
    report.use(Feature.REQUEST_AUTHENTICATION, sub)
    return obj, {"providers": [provider]}


def mesh_intentions(intent: MeshIntent, namespace: str, labels: dict[str, str]) -> PlannedObject:
    """The ``*`` -> ``*`` intention: the mesh default, independent of the ACL default policy."""
    action = "deny" if intent.spec.mesh.default_deny else "allow"
    why = "mesh.defaultDeny: only intentions of higher precedence admit" if action == "deny" else "mesh.defaultDeny false"
    values = {"labels": labels, "destination": "*", "sources": [{"name": "*", "action": action, "description": why}], "jwt": None}
    return PlannedObject("consul/service-intentions.yaml.j2", API, "ServiceIntentions", "mesh-default", namespace, values)
