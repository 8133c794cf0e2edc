"""A small model of how Istio ambient mode decides a call, read from the rendered objects.

Written from Istio's documentation, independently of meshgen's planner:

* Redirection (https://istio.io/latest/docs/ambient/usage/waypoint/): a call to a Service
  labelled ``istio.io/use-waypoint: W`` goes through the waypoint ``W`` of the Service's
  namespace (a ``Gateway`` of class ``istio-waypoint``); ingress gateways do so only when the
  Service also carries ``istio.io/ingress-use-waypoint: "true"``. A call to a pod IP never
  goes through a service waypoint.
* The waypoint (https://istio.io/latest/docs/ambient/usage/l7-features/) enforces the
  AuthorizationPolicies attached with ``targetRefs`` to the called Service, with the caller's
  own identity; the destination ztunnel then sees the waypoint's identity
  (``<trust domain>/ns/<ns>/sa/<waypoint name>``: istiod names the waypoint's ServiceAccount
  like its Gateway) (https://istio.io/latest/docs/ambient/usage/l4-policy/).
* ztunnel enforces every policy without ``targetRefs`` whose namespace is the pod's and whose
  selector (if any) matches the pod's labels, on the pod's (target) port. An ALLOW rule with L7
  attributes never matches there; a DENY rule with L7 attributes denies the whole connection.
* Both apply AuthorizationPolicy's order: any matching DENY denies; with no ALLOW policy the call
  is allowed; otherwise some ALLOW rule must match (https://istio.io/latest/docs/reference/config/security/authorization-policy/).
  Paths are Istio globs (exact, ``prefix*``, ``*suffix``, ``*``) on the path without the query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

L7_OPERATION = ("methods", "notMethods", "paths", "notPaths", "hosts", "notHosts")
L7_SOURCE = ("requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks")


@dataclass(frozen=True)
class Caller:
    """Who calls: a pod or gateway identity (namespace, service account) and its labels."""

    name: str
    namespace: str
    service_account: str
    labels: tuple[tuple[str, str], ...] = ()
    gateway: bool = False

    def principal(self, td: str) -> str:
        return f"{td}/ns/{self.namespace}/sa/{self.service_account}"


@dataclass
class Request:
    """What is called: a Service port (by Service port number) and, for HTTP, method and path."""

    method: str = "GET"
    path: str = "/"
    jwt: bool = True  # carries a valid token (request principal)
    attrs: dict[str, Any] = field(default_factory=dict)


def _glob(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _source_ok(source: dict, principal: str, namespace: str, req: Request | None) -> bool:
    if "principals" in source and not any(_glob(p, principal) for p in source["principals"]):
        return False
    if "namespaces" in source and namespace not in source["namespaces"]:
        return False
    # notRequestPrincipals: ["*"] matches requests without a request principal (no valid JWT).
    return "notRequestPrincipals" not in source or (req is not None and not req.jwt)


def _operation_ok(op: dict, port: int, req: Request | None) -> bool:
    if "ports" in op and str(port) not in op["ports"]:
        return False
    if "methods" in op and (req is None or req.method not in op["methods"]):
        return False
    return "paths" not in op or (req is not None and any(_glob(p, req.path.split("?", 1)[0]) for p in op["paths"]))


def _rule_matches(
    rule: dict, principal: str, namespace: str, port: int, req: Request | None, *, l4_only: bool, action: str
) -> bool:
    sources = [f.get("source", {}) for f in rule.get("from", [])]
    ops = [t.get("operation", {}) for t in rule.get("to", [])]
    if l4_only:
        has_l7 = any(k in L7_SOURCE for s in sources for k in s) or any(k in L7_OPERATION for o in ops for k in o)
        has_l7 = has_l7 or bool(rule.get("when"))
        if has_l7 and action == "ALLOW":
            return False  # ztunnel: an ALLOW rule it cannot evaluate never matches
        if has_l7:
            sources = [{k: v for k, v in s.items() if k not in L7_SOURCE} for s in sources]
            ops = [{k: v for k, v in o.items() if k not in L7_OPERATION} for o in ops]
    elif rule.get("when"):
        return False  # the model does not evaluate JWT claims; rules with them are not used as allows
    if sources and not any(_source_ok(s, principal, namespace, req) for s in sources):
        return False
    return not ops or any(_operation_ok(o, port, req) for o in ops)


def decide(
    policies: list[dict], principal: str, namespace: str, port: int, req: Request | None, *, l4_only: bool
) -> bool:
    """AuthorizationPolicy evaluation over the policies that apply (DENY first, then ALLOW)."""
    for p in policies:
        spec = p.get("spec") or {}
        if spec.get("action") == "DENY" and any(
            _rule_matches(r, principal, namespace, port, req, l4_only=l4_only, action="DENY")
            for r in spec.get("rules", [])
        ):
            return False
    allows = [p.get("spec") or {} for p in policies if (p.get("spec") or {}).get("action", "ALLOW") == "ALLOW"]
    if not allows:
        return True
    return any(
        _rule_matches(r, principal, namespace, port, req, l4_only=l4_only, action="ALLOW")
        for spec in allows
        for r in spec.get("rules", [])
    )


class Mesh:
    """The rendered objects of one intent, answering 'is this call allowed'."""

    def __init__(self, objects: list[dict], trust_domain: str = "cluster.local"):
        self.objects = objects
        self.td = trust_domain
        self.services = {
            (o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects if o["kind"] == "Service"
        }
        self.policies = [o for o in objects if o["kind"] == "AuthorizationPolicy"]
        self.waypoints = {
            (o["metadata"]["namespace"], o["metadata"]["name"])
            for o in objects
            if o["kind"] == "Gateway" and o["spec"]["gatewayClassName"] == "istio-waypoint"
        }

    def ztunnel_policies(self, namespace: str, pod_labels: dict[str, str]) -> list[dict]:
        out = []
        for p in self.policies:
            spec = p.get("spec") or {}
            if p["metadata"]["namespace"] != namespace or spec.get("targetRefs"):
                continue
            selector = (spec.get("selector") or {}).get("matchLabels", {})
            if all(pod_labels.get(k) == v for k, v in selector.items()):
                out.append(p)
        return out

    def waypoint_policies(self, namespace: str, service: str) -> list[dict]:
        return [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == namespace
            and any(
                r.get("kind") == "Service" and r.get("group", "") in ("", "core") and r["name"] == service
                for r in (p.get("spec") or {}).get("targetRefs", [])
            )
        ]

    def waypoint_of(self, namespace: str, service: str) -> str | None:
        labels = self.services[(namespace, service)]["metadata"].get("labels", {})
        name = labels.get("istio.io/use-waypoint")
        if name is None:
            return None
        assert (namespace, name) in self.waypoints, (
            f"Service {namespace}/{service} uses a waypoint {name} that does not exist"
        )
        return name

    def call_service(
        self,
        caller: Caller,
        namespace: str,
        service: str,
        service_port: int,
        pod_labels: dict[str, str],
        req: Request | None = None,
    ) -> bool:
        """A call to ``service:service_port`` that lands on a pod with ``pod_labels``."""
        svc = self.services[(namespace, service)]
        port = next(p for p in svc["spec"]["ports"] if p["port"] == service_port)
        pod_port = port["targetPort"]
        waypoint = self.waypoint_of(namespace, service)
        ingress_uses = svc["metadata"].get("labels", {}).get("istio.io/ingress-use-waypoint") == "true"
        if waypoint is not None and (not caller.gateway or ingress_uses):
            if not decide(
                self.waypoint_policies(namespace, service),
                caller.principal(self.td),
                caller.namespace,
                service_port,
                req,
                l4_only=False,
            ):
                return False
            principal, source_ns = f"{self.td}/ns/{namespace}/sa/{waypoint}", namespace
        else:
            principal, source_ns = caller.principal(self.td), caller.namespace
        return decide(self.ztunnel_policies(namespace, pod_labels), principal, source_ns, pod_port, req, l4_only=True)

    def call_pod(
        self, caller: Caller, namespace: str, pod_labels: dict[str, str], pod_port: int, req: Request | None = None
    ) -> bool:
        """A call straight to a pod IP: no service waypoint, ztunnel sees the caller."""
        return decide(
            self.ztunnel_policies(namespace, pod_labels),
            caller.principal(self.td),
            caller.namespace,
            pod_port,
            req,
            l4_only=True,
        )
