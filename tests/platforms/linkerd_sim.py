"""A small model of how Linkerd 2.19 reads the objects meshgen renders, for semantics tests.

It reads rendered YAML back (plain dicts) and answers two questions the way Linkerd's policy
controller and proxy do: which identities a pod's inbound proxy admits for a request, and which
backends a client's outbound proxy sends a request to. Written from the Linkerd docs and
linkerd2 / linkerd2-proxy sources, independently of meshgen's planner:

* inbound: a port's ``Server`` (else the namespace default policy); with no routes attached, the
  Server's authorizations; with routes, the single best-matching route (path length, Exact and
  RegularExpression scored by the whole path, then method), whose authorizations plus the
  Server's apply; a request matching no route is refused.
* outbound: GAMMA routes whose parentRef is the Service and port; the best-matching rule (Gateway
  API precedence), its weighted backendRefs; timeouts and retries from the route's annotations,
  else the Service's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshgen import render
from meshgen.loader import parse_intent

#: A request: HTTP (method, path, headers) or gRPC (service, method).
Request = dict[str, Any]
UNAUTHENTICATED = "(unauthenticated)"


def render_text(text: str, platform: str = "linkerd"):
    """Render intent YAML text; returns the pipeline's Rendering."""
    intent = parse_intent(text, Path("intent.yaml"))
    return render(intent, platform, "intent.yaml")


def load_objects(rendering) -> list[dict[str, Any]]:
    return [yaml.safe_load(doc) for doc in rendering.documents]


def find(objects, kind: str, name: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
    return [
        o
        for o in objects
        if o["kind"] == kind
        and (name is None or o["metadata"]["name"] == name)
        and (namespace is None or o["metadata"].get("namespace") == namespace)
    ]


def one(objects, kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, got {len(found)}"
    return found[0]


# --- inbound ----------------------------------------------------------------------------------


def _path_score(match: dict[str, Any], path: str) -> float | None:
    """Linkerd's path score for a match, None when it does not match (linkerd2-proxy http-route)."""
    spec = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = spec.get("type", "PathPrefix"), spec["value"]
    if kind == "Exact":
        return float(len(path)) if path == value else None
    if kind == "RegularExpression":
        return float(len(path)) if re.fullmatch(value, path) else None
    if value == "/":
        return 1.0
    prefix = value.rstrip("/")
    rest = path.rstrip("/")
    if rest == prefix or rest.startswith(prefix + "/"):
        return float(len(prefix))
    return None


def _http_score(match: dict[str, Any], req: Request) -> tuple | None:
    score = _path_score(match, req.get("path", "/"))
    if score is None:
        return None
    if "method" in match and match["method"] != req.get("method", "GET"):
        return None
    headers = req.get("headers", {})
    for h in match.get("headers", []):
        have = headers.get(h["name"])
        if have is None:
            return None
        if h.get("type", "Exact") == "Exact" and have != h["value"]:
            return None
        if h.get("type") == "RegularExpression" and not re.fullmatch(h["value"], have):
            return None
    return (score, "method" in match, len(match.get("headers", [])), len(match.get("queryParams", [])))


def _grpc_score(match: dict[str, Any], req: Request) -> tuple | None:
    method = match.get("method")
    if method is not None:
        if method.get("service") not in (None, req["service"]):
            return None
        if method.get("method") not in (None, req["method"]):
            return None
    return (len((method or {}).get("service", "")), len((method or {}).get("method", "")), len(match.get("headers", [])))


def _rule_score(kind: str, rule: dict[str, Any], req: Request) -> tuple | None:
    matches = rule.get("matches") or [{}]
    scorer = _grpc_score if kind == "GRPCRoute" else _http_score
    scores = [s for m in matches if (s := scorer(m, req)) is not None]
    return max(scores) if scores else None


def best_route(routes: list[dict[str, Any]], req: Request) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The route and rule a request lands on: highest score, then route name, then rule order."""
    best = None
    for route in sorted(routes, key=lambda r: r["metadata"]["name"]):
        for rule in route["spec"]["rules"]:
            score = _rule_score(route["kind"], rule, req)
            if score is not None and (best is None or score > best[0]):
                best = (score, route, rule)
    return (best[1], best[2]) if best else None


def _authentications(objects, ns: str, refs: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for ref in refs:
        obj = one([o for o in objects if o["metadata"].get("namespace") == ns], ref["kind"], ref["name"])
        if ref["kind"] == "MeshTLSAuthentication":
            out |= set(obj["spec"]["identities"])
        else:
            out.add(UNAUTHENTICATED)
    return out


def _policies_for(objects, ns: str, kind: str, name: str) -> set[str]:
    out: set[str] = set()
    for ap in find(objects, "AuthorizationPolicy", namespace=ns):
        target = ap["spec"]["targetRef"]
        if target["kind"] == kind and target["name"] == name:
            out |= _authentications(objects, ns, ap["spec"]["requiredAuthenticationRefs"])
    return out


def _default_policy(policy: str) -> set[str]:
    return {"deny": set(), "all-authenticated": {"*"}, "all-unauthenticated": {"*", UNAUTHENTICATED}}[policy]


@dataclass(frozen=True)
class Inbound:
    """What a pod's inbound proxy does with one request: admitted identities, or refused for lack of a route."""

    admitted: frozenset[str]
    route: str | None


def inbound(objects, ns: str, pod_labels: dict[str, str], port: int, req: Request) -> Inbound:
    """Who the pod's proxy admits for ``req`` on container port ``port``."""
    servers = [
        s
        for s in find(objects, "Server", namespace=ns)
        if s["spec"]["port"] == port and all(pod_labels.get(k) == v for k, v in s["spec"]["podSelector"]["matchLabels"].items())
    ]
    if not servers:
        namespace = one(objects, "Namespace", ns)
        return Inbound(frozenset(_default_policy(namespace["metadata"]["annotations"]["config.linkerd.io/default-inbound-policy"])), "default")
    assert len(servers) == 1, f"overlapping Servers for port {port}"
    server = servers[0]
    name = server["metadata"]["name"]
    base = _policies_for(objects, ns, "Server", name) | _default_policy(server["spec"]["accessPolicy"])
    routes = [
        r
        for r in find(objects, "HTTPRoute", namespace=ns) + find(objects, "GRPCRoute", namespace=ns)
        if any(p.get("kind") == "Server" and p["name"] == name for p in r["spec"]["parentRefs"])
    ]
    if not routes:
        return Inbound(frozenset(base), None)
    if server["spec"]["proxyProtocol"] == "gRPC":
        routes = [r for r in routes if r["kind"] == "GRPCRoute"]
    picked = best_route(routes, req)
    if picked is None:
        return Inbound(frozenset(), None)
    route = picked[0]
    return Inbound(frozenset(base | _policies_for(objects, ns, route["kind"], route["metadata"]["name"])), route["metadata"]["name"])


def admits(result: Inbound, identity: str) -> bool:
    """Whether an mTLS identity (or UNAUTHENTICATED) passes."""
    for entry in result.admitted:
        if entry == identity:
            return True
        if identity == UNAUTHENTICATED:
            continue
        if entry == "*" or (entry.startswith("*.") and identity.endswith(entry[1:])):
            return True
    return False


# --- outbound ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outbound:
    """Where a client's proxy sends one request, and with which timeout and retry policy."""

    weights: dict[str, float]  # backend Service -> percent
    annotations: dict[str, str]  # effective timeout.linkerd.io/* and retry.linkerd.io/*
    route: str


def outbound(objects, ns: str, service: str, port: int, req: Request) -> Outbound:
    routes = [
        r
        for r in find(objects, "HTTPRoute", namespace=ns) + find(objects, "GRPCRoute", namespace=ns)
        if any(p.get("kind") == "Service" and p["name"] == service and p.get("port") == port for p in r["spec"]["parentRefs"])
    ]
    svc = one([o for o in objects if o["metadata"].get("namespace") == ns], "Service", service)
    svc_ann = {k: v for k, v in (svc["metadata"].get("annotations") or {}).items() if k.startswith(("retry.", "timeout."))}
    if not routes:
        return Outbound({service: 100.0}, svc_ann, "default")
    picked = best_route(routes, req)
    assert picked is not None, "GAMMA routes must keep a catch-all rule"
    route, rule = picked
    refs = rule.get("backendRefs") or [{"name": service, "port": port}]
    total = sum(r.get("weight", 1) for r in refs)
    weights: dict[str, float] = {}
    for ref in refs:
        weights[ref["name"]] = weights.get(ref["name"], 0.0) + (100.0 * ref.get("weight", 1) / total if total else 0.0)
    route_ann = {k: v for k, v in (route["metadata"].get("annotations") or {}).items() if k.startswith(("retry.", "timeout."))}
    effective = dict(svc_ann)
    if any(k.startswith("retry.") for k in route_ann):
        effective = {k: v for k, v in effective.items() if not k.startswith("retry.")}
    if any(k.startswith("timeout.") for k in route_ann):
        effective = {k: v for k, v in effective.items() if not k.startswith("timeout.")}
    effective.update(route_ann)
    return Outbound(weights, effective, route["metadata"]["name"])
