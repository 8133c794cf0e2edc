"""Who may call whom in ambient mode: ztunnel enforces L4, the waypoint enforces L7.

Where each rule lands (https://istio.io/latest/docs/ambient/usage/l4-policy/,
https://istio.io/latest/docs/ambient/usage/l7-features/):

* A service without a waypoint: ``AuthorizationPolicy`` objects with a ``selector`` (the
  service's pods), enforced by the destination ztunnel, with L4 attributes only: ``principals``,
  ``namespaces`` and the pods' (target) ``ports``. ztunnel cannot parse requests and treats an
  ALLOW rule with L7 attributes as matching nothing and a DENY rule as denying the whole
  connection (fail closed; istio/istio ``pilot/pkg/serviceregistry/ambient/authorization.go``),
  so :func:`assert_l4_only` refuses to plan such a policy. Any L7 allow or deny rule, or a JWT
  rule, gives the service a waypoint (:func:`~.waypoints.l7_needs`).
* A service with a waypoint: the allow and deny rules (and the JWT rule) attach to the waypoint
  with ``targetRefs: [{group: "", kind: Service, name}]`` (never ``selector``, which waypoints
  ignore). The waypoint sees the caller's own identity. Past the waypoint, the destination
  ztunnel sees the *waypoint's* identity, so the selector policy on the pods admits only the
  waypoint (``<service>-ztunnel``): "in-mesh traffic needs to come from my waypoint in order to
  reach my application", as the l4-policy page recommends, and as the ambient getting-started
  guide updates its ``productpage-ztunnel`` policy to admit the waypoint
  (https://istio.io/latest/docs/ambient/getting-started/enforce-auth-policies/). The waypoint's
  policy therefore decides, and a caller cannot skip it by calling pod IPs: such calls arrive
  with the caller's identity and are refused.
* Ports: ztunnel matches the pod's (target) port. The waypoint is reached at the Service's
  VIP and port (the HBONE CONNECT authority), so a waypoint rule restricted to some of the
  service's ports names Service ports; a rule covering every port names none (the ``targetRefs``
  already scope it to the Service).
* Namespaces: under ``defaultDeny`` each namespace gets the allow-nothing policy
  (``spec: {}``), which ztunnel enforces for every pod of the namespace. Waypoint pods are not
  captured by ztunnel (``istio.io/dataplane-mode: none``), and istiod applies namespace-wide
  policies at a waypoint's HBONE termination only with ``ENABLE_LAYERED_WAYPOINT_AUTHORIZATION_POLICIES``
  (off by default), so the allow-nothing policy does not close the waypoints.

Kubelet probes need no rule: istio-cni SNATs them to 169.254.7.127 and lets them into the pod
past ztunnel (https://istio.io/latest/docs/ambient/usage/networkpolicy/, "Ambient, health probes,
and Kubernetes NetworkPolicy"), so ``services[].probes`` changes nothing here.

Callers come from :func:`meshgen.platforms.identity.rules_for`, so every platform admits the
same callers; a gateway caller is ``<gateway>-istio`` in the gateway's namespace, as istiod
deploys class ``istio`` gateways.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import Gateway, MeshIntent, Service
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.identity import Rule, admits_exactly, deny_by_identity, rules_for
from meshgen.platforms.istio_ambient.waypoints import Waypoint

SECURITY = "security.istio.io/v1"
TEMPLATE = "istio-ambient/authorization-policy.yaml.j2"
#: AuthorizationPolicy attributes ztunnel cannot enforce (istio/istio ambient/authorization.go).
L7_SOURCE = ("requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks")
L7_OPERATION = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")


def gateway_identity(gw: Gateway) -> tuple[str, str]:
    """Istio deploys a Gateway API gateway as ``<name>-<class>`` (Deployment and ServiceAccount)."""
    return gw.namespace or "", gw.service_account or f"{gw.name}-{gw.class_name or 'istio'}"


def gateway_labels(gw: Gateway) -> dict[str, str]:
    """The label Istio puts on a gateway's pods."""
    return {"gateway.networking.k8s.io/gateway-name": gw.name}


def service_ref(svc: Service) -> dict[str, str]:
    """``targetRefs`` entry attaching a policy to ``svc`` on its waypoint (``group: ""`` = core)."""
    return {"group": "", "kind": "Service", "name": svc.name}


def policy(
    name: str,
    namespace: str,
    labels: dict[str, str],
    *,
    action: str | None,
    rules: list | None,
    selector: dict[str, str] | None = None,
    target_refs: list[dict[str, str]] | None = None,
) -> PlannedObject:
    """One AuthorizationPolicy; ``rules=None`` is the allow-nothing ``spec: {}``."""
    return PlannedObject(
        TEMPLATE,
        SECURITY,
        "AuthorizationPolicy",
        name,
        namespace,
        {"labels": labels, "selector": selector, "target_refs": target_refs or [], "action": action, "rules": rules},
    )


def assert_l4_only(obj: PlannedObject) -> None:
    """Refuse (AssertionError) a policy ztunnel would enforce that uses an L7 attribute.

    ztunnel enforces every AuthorizationPolicy without ``targetRefs``; with an L7 attribute it
    would deny every connection (ALLOW) or the whole connection (DENY). Planning one is a bug.
    """
    if obj.kind != "AuthorizationPolicy" or obj.values.get("target_refs") or not obj.values.get("rules"):
        return
    for rule in obj.values["rules"]:
        bad = [k for f in rule.get("from", []) for k in f.get("source", {}) if k in L7_SOURCE]
        bad += [k for t in rule.get("to", []) for k in t.get("operation", {}) if k in L7_OPERATION]
        bad += ["when"] if rule.get("when") else []
        if bad:
            raise AssertionError(
                f"AuthorizationPolicy {obj.namespace}/{obj.name} would reach ztunnel with L7 attributes {bad}"
            )


def plan_authorization(
    intent: MeshIntent, svc: Service, waypoint: Waypoint | None, report: Report, labels: dict[str, str]
) -> list[PlannedObject]:
    """The AuthorizationPolicy (and RequestAuthentication) objects of ``svc``; see the module docstring."""
    subject = f"{svc.namespace}/{svc.name}"
    ns = svc.namespace or ""
    td = intent.spec.mesh.trust_domain
    selector = dict(sorted(svc.pod_selector.items()))
    allow = rules_for(intent, svc, gateway_identity, gateway_labels)
    deny = [deny_by_identity(r, report, subject) for r in rules_for(intent, svc, gateway_identity, gateway_labels, deny=True)]
    at_waypoint = waypoint is not None
    out: list[PlannedObject] = []

    def rules(resolved: list[Rule], feature: Feature) -> list[dict[str, Any]]:
        return [
            r for rule in resolved if (r := _rule(svc, rule, td, report, subject, feature, at_waypoint)) is not None
        ]

    allow_rules = rules(allow, Feature.AUTHZ_IDENTITY)
    deny_rules = rules(deny, Feature.AUTHZ_DENY_RULES)
    attach = {"target_refs": [service_ref(svc)]} if at_waypoint else {"selector": selector}
    if allow_rules or allow:
        # An allow-list whose every caller is unenforceable still allows nobody: an ALLOW policy
        # without rules (fail closed), never no policy (which would open the service).
        out.append(policy(svc.name, ns, labels, action="ALLOW", rules=allow_rules, **attach))
    if deny_rules:
        out.append(policy(object_name(svc.name, "deny"), ns, labels, action="DENY", rules=deny_rules, **attach))
    jwt = svc.request_authentication
    if jwt is not None and waypoint is not None:
        rule: dict[str, Any] = {"issuer": jwt.issuer, "jwksUri": jwt.jwks_uri}
        if jwt.audiences:
            rule["audiences"] = list(jwt.audiences)
        out.append(
            PlannedObject(
                "istio-ambient/request-authentication.yaml.j2",
                SECURITY,
                "RequestAuthentication",
                svc.name,
                ns,
                {"labels": labels, "target_refs": [service_ref(svc)], "jwt_rules": [rule]},
            )
        )
        # RequestAuthentication alone lets requests without a token through: deny those.
        require: list[dict[str, Any]] = [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}]
        for claim, values in sorted(jwt.required_claims.items()):
            require.append({"when": [{"key": f"request.auth.claims[{claim}]", "notValues": list(values)}]})
        out.append(
            policy(
                object_name(svc.name, "require-jwt"),
                ns,
                labels,
                action="DENY",
                rules=require,
                target_refs=[service_ref(svc)],
            )
        )
    if waypoint is not None:
        gate = _waypoint_gate(
            intent, svc, waypoint, allow, bool(allow_rules), bool(allow or deny_rules) or jwt is not None
        )
        if gate is not None:
            out.append(
                policy(object_name(svc.name, "ztunnel"), ns, labels, action="ALLOW", rules=[gate], selector=selector)
            )
    for obj in out:
        assert_l4_only(obj)
    return out


def _waypoint_gate(
    intent: MeshIntent, svc: Service, waypoint: Waypoint, allow: list[Rule], allows: bool, restricts: bool
) -> dict[str, Any] | None:
    """The ztunnel rule admitting only the waypoint to the pods of ``svc``, or None.

    Needed whenever the waypoint decides: when it has an allow-list, or, without ``defaultDeny``,
    when it denies someone (deny rules, a JWT requirement, an allow-list of unenforceable callers)
    and must not be bypassed. Under
    ``defaultDeny`` with no allow rule nobody may call, and the namespace's allow-nothing policy
    already refuses the waypoint too.
    """
    if not allows and (intent.spec.mesh.default_deny or not restricts):
        return None
    ports = (
        sorted({p.pod_port for rule in allow for p in rule.ports})
        if allows
        else sorted({p.pod_port for p in svc.ports})
    )
    return {
        "from": [{"source": {"principals": [waypoint.principal(intent.spec.mesh.trust_domain)]}}],
        "to": [{"operation": {"ports": [str(p) for p in ports]}}],
    }


def _rule(
    svc: Service, rule: Rule, td: str, report: Report, subject: str, feature: Feature, at_waypoint: bool
) -> dict[str, Any] | None:
    caller = rule.caller
    if caller.kind == "selector" and caller.identities:
        admitted = ", ".join(f"{ns}/{sa}" for ns, sa in caller.identities)
        report.use(
            Feature.AUTHZ_BY_SELECTOR,
            subject,
            f"{caller.description} admitted as the service accounts of the intent's workloads carrying those labels: {admitted}",
        )
    if caller.unenforceable:
        # An allow entry that cannot be kept exactly fails closed (the whole shared identity is
        # admitted only under widenAccess: shared-identity); a deny entry covers the whole identity.
        allow = feature is not Feature.AUTHZ_DENY_RULES
        if not admits_exactly(caller, allow, tuple(svc.widen_access), report, subject):
            return None  # refused: leaving the rule out admits nobody in its place (the safe side)
    source: dict[str, Any]
    if caller.kind == "namespace":
        source = {"namespaces": list(caller.namespaces)}
    else:
        source = {"principals": [f"{td}/ns/{ns}/sa/{sa}" for ns, sa in caller.identities]}
    operation: dict[str, Any] = {}
    if at_waypoint:
        if {p.name for p in rule.ports} != {p.name for p in svc.ports}:
            operation["ports"] = [str(p) for p in sorted({p.port for p in rule.ports})]
        if rule.methods:
            operation["methods"] = list(rule.methods)
        if rule.all_paths:
            operation["paths"] = list(rule.all_paths)
    else:
        if rule.is_l7:
            raise AssertionError(f"{subject}: an L7 rule planned for ztunnel; the service needs a waypoint")
        operation["ports"] = [str(p) for p in sorted({p.pod_port for p in rule.ports})]
    out: dict[str, Any] = {"from": [{"source": source}]}
    if operation:
        out["to"] = [{"operation": operation}]
    return out
