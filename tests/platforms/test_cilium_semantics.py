"""Read the rendered Cilium objects back and check what they do, not how they look.

A small model of Cilium's ingress policy decision (endpoint selection, default deny,
``ingressDeny`` before ``ingress``, ``fromEndpoints``/``fromEntities``, ``toPorts`` and L7
``http`` rules matched as whole-value RE2 expressions, as Envoy does) and of GAMMA route
selection (Gateway API precedence, weights, per-version Services) is run against the output of
every example and of a synthetic intent with every caller kind. Expected decisions come from
an oracle written here from the intent's documented meaning, not from meshgen.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import re2
import yaml

from meshgen import load_intent, render
from tests.conftest import EXAMPLES, REPO, write_intent

SA = "io.cilium.k8s.policy.serviceaccount"
NS = "io.kubernetes.pod.namespace"

# --- a model of the cluster -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Who sends a request: a pod (labels, namespace, service account) or a reserved entity."""

    name: str
    namespace: str = ""
    service_account: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    entity: str | None = None

    def identity_labels(self) -> dict[str, str]:
        """The labels Cilium gives the pod's security identity (source prefixes stripped)."""
        if self.entity is not None:
            return {}
        return {**dict(self.labels), NS: self.namespace, SA: self.service_account}


def pods_of(intent) -> list[Source]:
    """Every pod kind the intent describes: one per service version (or per service)."""
    out = []
    for svc in intent.spec.services:
        base = dict(svc.selector or {"app": svc.name})
        versions = svc.versions or [None]
        for version in versions:
            labels = dict(base)
            sa = svc.service_account or svc.name
            name = svc.name
            if version is not None:
                labels.update(version.labels if version.labels is not None else {"version": version.name})
                sa = version.service_account or sa
                name = f"{svc.name}/{version.name}"
            out.append(Source(name, svc.namespace, sa, tuple(sorted(labels.items()))))
    return out


def strangers(pods: list[Source]) -> list[Source]:
    """Identities no intent allows: reserved entities, impostors in other namespaces, unlabeled pods."""
    out = [Source("world", entity="world"), Source("ingress", entity="ingress"), Source("host", entity="host")]
    for pod in pods:
        out.append(Source(f"impostor {pod.name}", "elsewhere", pod.service_account, pod.labels))
    for ns in sorted({p.namespace for p in pods}):
        out.append(Source(f"anonymous in {ns}", ns, "default", ()))
    return out


# --- a model of Cilium's ingress decision ---------------------------------------------------


def _key(key: str) -> str:
    return key.split(":", 1)[1] if key.startswith(("k8s:", "any:")) else key


def _selects(selector: dict, labels: dict[str, str], implied_ns: str | None) -> bool:
    wanted = {_key(k): v for k, v in selector.get("matchLabels", {}).items()}
    assert not selector.get("matchExpressions"), "model covers matchLabels only"
    if implied_ns is not None and NS not in wanted:
        wanted[NS] = implied_ns
    return all(labels.get(k) == v for k, v in wanted.items())


def _peer(rule: dict, src: Source, policy_ns: str) -> bool:
    if src.entity is not None:
        entities = rule.get("fromEntities", [])
        return src.entity in entities or "all" in entities
    return any(_selects(sel, src.identity_labels(), policy_ns) for sel in rule.get("fromEndpoints", []))


def _port(rule: dict, port: int, method: str, path: str, l7: bool) -> bool:
    if "toPorts" not in rule:
        return True
    for entry in rule["toPorts"]:
        if not any(p["port"] == str(port) and p.get("protocol", "ANY") in ("TCP", "ANY") for p in entry["ports"]):
            continue
        http = entry.get("rules", {}).get("http") if l7 else None
        if not http:
            return True
        for h in http:
            if all(k in ("method", "path") for k in h) and (
                ("method" not in h or re2.compile(h["method"]).fullmatch(method))
                and ("path" not in h or re2.compile(h["path"]).fullmatch(path))
            ):
                return True
    return False


def admits(policies: list[dict], ns: str, labels: dict[str, str], src: Source, port: int, method: str = "GET", path: str = "/") -> bool:
    """Whether Cilium lets ``src`` call ``method path`` on ``port`` of a pod (``ns``, ``labels``)."""
    selecting = [
        p["spec"]
        for p in policies
        if p["metadata"]["namespace"] == ns and _selects(p["spec"]["endpointSelector"], {**labels, NS: ns}, None)
    ]
    for spec in selecting:
        for rule in spec.get("ingressDeny", []):
            if _peer(rule, src, ns) and _port(rule, port, method, path, l7=False):
                return False
    default_deny = any(
        ("ingress" in s or "ingressDeny" in s) and s.get("enableDefaultDeny", {}).get("ingress", True) for s in selecting
    )
    if not default_deny:
        return True
    return any(_peer(r, src, ns) and _port(r, port, method, path, l7=True) for s in selecting for r in s.get("ingress", []))


# --- the oracle: who the intent says may call, and with which requests ------------------------


def gateway_routes_to(intent, svc) -> list[tuple[int, str]]:
    """(pod port, gateway name) for every gateway route whose backend is ``svc``."""
    out = []
    for gw in intent.spec.gateways:
        for route in gw.routes:
            if route.service == svc.name and (route.namespace or svc.namespace) == svc.namespace:
                port = next(p for p in svc.ports if p.port == (route.port or svc.ports[0].port))
                out.append((port.pod_port, gw.name))
    return out


def caller_matches(intent, peer, src: Source, callee) -> bool:
    """The intent's meaning of an allowFrom/denyFrom entry, for one concrete source."""
    if peer.gateway is not None:
        return src.entity == "ingress"
    if src.entity is not None:
        return False
    if peer.service is not None:
        target = next(s for s in intent.spec.services if s.name == peer.service and (peer.namespace is None or s.namespace == peer.namespace))
        if peer.versions:
            wanted = [dict(target.selector or {"app": target.name}) | (v.labels if v.labels is not None else {"version": v.name}) for v in target.versions if v.name in peer.versions]
            labels = dict(src.labels)
            return src.namespace == target.namespace and any(all(labels.get(k) == x for k, x in w.items()) for w in wanted)
        accounts = {v.service_account or target.service_account or target.name for v in target.versions} or {target.service_account or target.name}
        return src.namespace == target.namespace and src.service_account in accounts
    if peer.service_account is not None:
        return src.namespace == peer.namespace and src.service_account == peer.service_account
    if peer.selector is not None:
        labels = dict(src.labels)
        return src.namespace == (peer.namespace or callee.namespace) and all(labels.get(k) == v for k, v in peer.selector.items())
    return src.namespace == peer.namespace


def sample_requests(peer) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(allowed, refused) (method, path) pairs for an entry's methods, paths and gRPC methods."""
    methods = list(peer.methods) or ["GET"]
    paths, refused_paths = [], []
    for p in peer.paths:
        if p == "*":
            paths.append("/anything")
        elif p.endswith("*"):
            paths += [p[:-1] + "x", p[:-1] + "x/y?z=1"]
            refused_paths.append("/elsewhere" + p[:-1] + "x")
        elif p.startswith("*"):
            paths.append("/dir/file" + p[1:])
            refused_paths.append("/dir/file" + p[1:] + "x")
        else:
            paths += [p, p + "?q=1"]
            refused_paths.append(p + "/more")
    allowed = [(m, path) for m in methods for path in (paths or ["/"])]
    refused = [(m, path) for m in methods for path in refused_paths]
    if peer.methods:
        refused += [(other, (paths or ["/"])[0]) for other in ("DELETE", "PATCH") if other not in peer.methods]
    if peer.grpc is not None:
        names = peer.grpc.methods or ["AnyMethod"]
        allowed = [("POST", f"/{peer.grpc.service}/{n}") for n in names]
        # Without methods every method of the service is allowed; another service never is.
        refused = [("POST", f"/{peer.grpc.service}Other/{names[0]}"), ("GET", f"/{peer.grpc.service}/{names[0]}")]
        if peer.grpc.methods:
            refused.append(("POST", f"/{peer.grpc.service}/NotAllowed"))
    return allowed, refused


# --- the intents checked ----------------------------------------------------------------------

CALLERS = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: callers}
spec:
  defaults: {namespace: shop}
  services:
    - name: api
      ports:
        - {name: http, port: 80, targetPort: 8080}
        - {name: admin, port: 9000, protocol: tcp}
      allowFrom:
        - {service: web, versions: [v2], ports: [http], methods: [GET, POST], paths: [/orders/*, /health, "*.json"]}
        - {selector: {role: batch}, namespace: jobs, ports: [http]}
        - {namespace: ops, ports: [admin]}
        - {service: worker, ports: [admin]}
      denyFrom:
        - {selector: {tier: untrusted}, namespace: jobs}
    - name: web
      ports: [{name: http, port: 80}]
      versions:
        - {name: v1, weight: 70}
        - {name: v2, weight: 30, labels: {track: canary}}
    - name: worker
      namespace: jobs
      selector: {role: batch}
      ports: [{name: http, port: 80}]
    - name: scraper
      namespace: jobs
      selector: {role: batch, tier: untrusted}
      serviceAccount: scraper
      ports: [{name: http, port: 80}]
    - name: toolbox
      namespace: ops
      ports: [{name: http, port: 80}]
"""


def _callers(tmp_path_factory):
    path = write_intent(tmp_path_factory.mktemp("callers"), CALLERS)
    return path


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    paths = list(EXAMPLES) + [_callers(tmp_path_factory)]
    out = []
    for path in paths:
        intent = load_intent(path)
        rendering = render(intent, "cilium", str(path))
        out.append((path.parent.name if path.parent.parent == REPO / "examples" else "callers", intent, rendering.objects()))
    return out


def _policies(objects):
    return [o for o in objects if o["kind"] == "CiliumNetworkPolicy"]


def test_every_allowed_edge_is_admitted_and_no_other_identity(cases):
    checked = 0
    for name, intent, objects in cases:
        policies = _policies(objects)
        pods = pods_of(intent)
        sources = pods + strangers(pods)
        for callee in intent.spec.services:
            for target in [p for p in pods if p.name.split("/")[0] == callee.name and p.namespace == callee.namespace]:
                labels = dict(target.labels)
                for port in callee.ports:
                    gateways = [g for pp, g in gateway_routes_to(intent, callee) if pp == port.pod_port]
                    for src in sources:
                        allowed_by = [
                            peer
                            for peer in callee.allow_from
                            if caller_matches(intent, peer, src, callee) and (not peer.ports or port.name in peer.ports or port.port in peer.ports)
                        ]
                        denied = any(
                            caller_matches(intent, peer, src, callee) and (not peer.ports or port.name in peer.ports)
                            for peer in callee.deny_from
                        )
                        implicit = bool(gateways) and src.entity == "ingress"
                        open_callee = not callee.allow_from and not gateways and not intent.spec.mesh.default_deny
                        # A JWT Cilium cannot check fails closed: nobody may call (issue 12).
                        jwt_closed = callee.request_authentication is not None and "without-jwt" not in callee.widen_access
                        if denied or jwt_closed:
                            expected = False
                        elif implicit or open_callee:
                            expected = True
                        else:
                            expected = None if allowed_by else False
                        if expected is not None:
                            got = admits(policies, callee.namespace, labels, src, port.pod_port)
                            assert got is expected, f"{name}: {src.name} -> {callee.name}:{port.pod_port}"
                            checked += 1
                            continue
                        for peer in allowed_by:
                            ok, refused = sample_requests(peer)
                            for method, path in ok:
                                assert admits(policies, callee.namespace, labels, src, port.pod_port, method, path), (
                                    f"{name}: {src.name} -> {callee.name}:{port.pod_port} {method} {path} refused"
                                )
                                checked += 1
                        if all(p.is_l7 for p in allowed_by):
                            for peer in allowed_by:
                                _, refused = sample_requests(peer)
                                others = [q for q in allowed_by if q is not peer]
                                for method, path in refused:
                                    if any((method, path) in sample_requests(q)[0] for q in others):
                                        continue
                                    assert not admits(policies, callee.namespace, labels, src, port.pod_port, method, path), (
                                        f"{name}: {src.name} -> {callee.name}:{port.pod_port} {method} {path} admitted"
                                    )
                                    checked += 1
    assert checked > 500


def test_bookinfo_edges_spelled_out(cases):
    _, intent, objects = next(c for c in cases if c[0] == "bookinfo")
    policies = _policies(objects)
    pods = {p.name: p for p in pods_of(intent)}
    ingress = Source("ingress", entity="ingress")

    def call(src, callee, method="GET", path="/"):
        target = pods[callee]
        return admits(policies, "bookinfo", dict(target.labels), src, 9080, method, path)

    assert call(pods["productpage"], "details/v1", "GET", "/details/0")
    assert not call(pods["productpage"], "details/v1", "POST", "/details/0")
    assert not call(pods["reviews/v1"], "details/v1")
    assert call(pods["productpage"], "reviews/v2", "GET", "/reviews/0")
    assert call(pods["productpage"], "reviews/v3", "GET", "/reviews/0?user=jason")
    assert not call(pods["productpage"], "reviews/v1", "GET", "/reviews")
    assert not call(pods["productpage"], "reviews/v1", "GET", "/ratings/0")
    for version in ("reviews/v1", "reviews/v2", "reviews/v3"):
        assert call(pods[version], "ratings/v1", "GET", "/ratings/0")
    assert not call(pods["productpage"], "ratings/v1", "GET", "/ratings/0")
    assert call(ingress, "productpage", "GET", "/productpage")
    assert not call(pods["details/v1"], "productpage")
    assert not call(ingress, "reviews/v1", "GET", "/reviews/0")
    assert not call(Source("world", entity="world"), "productpage")


def test_strict_mtls_authenticates_every_workload_rule_and_never_an_entity(cases):
    for name, intent, objects in cases:
        assert intent.spec.mesh.mtls == "strict", name
        for policy in _policies(objects):
            for rule in policy["spec"].get("ingress", []):
                if "fromEndpoints" in rule:
                    assert rule["authentication"] == {"mode": "required"}, (name, policy["metadata"]["name"])
                else:
                    assert "authentication" not in rule, (name, policy["metadata"]["name"])


# --- routing ------------------------------------------------------------------------------------


def _header_ok(match: dict, headers: dict[str, str]) -> bool:
    for h in match.get("headers", []):
        value = headers.get(h["name"])
        if value is None:
            return False
        if h.get("type", "Exact") == "Exact" and value != h["value"]:
            return False
        if h.get("type") == "RegularExpression" and not re2.compile(h["value"]).fullmatch(value):
            return False
    return True


def _http_match(match: dict, method: str, path: str, headers: dict[str, str]) -> tuple | None:
    """The Gateway API precedence key of a matching HTTPRouteMatch, None when it does not match."""
    p = match.get("path", {"type": "PathPrefix", "value": "/"})
    if p["type"] == "Exact" and path != p["value"]:
        return None
    if p["type"] == "PathPrefix":
        prefix = p["value"].rstrip("/")
        if not (path == prefix or path.startswith(prefix + "/") or prefix == ""):
            return None
    if "method" in match and match["method"] != method:
        return None
    if not _header_ok(match, headers):
        return None
    return (p["type"] == "Exact", len(p["value"]) if p["type"] == "PathPrefix" else 0, "method" in match, len(match.get("headers", [])))


def select_backends(route: dict, method: str = "GET", path: str = "/", headers: dict | None = None) -> dict[str, int]:
    """Backend Service -> weight of the rule Gateway API picks for a request."""
    best = None
    for index, rule in enumerate(route["spec"]["rules"]):
        for match in rule.get("matches", [{}]):
            key = _http_match(match, method, path, headers or {})
            if key is not None and (best is None or key > best[0]):
                best = (key, index)
    assert best is not None, "no rule matched: every GAMMA route needs a catch-all"
    rule = route["spec"]["rules"][best[1]]
    return {b["name"]: b.get("weight", 1) for b in rule["backendRefs"]}


def _version_pods(objects, namespace: str, backends: dict[str, int], pods: list[Source]) -> dict[str, int]:
    """pod name -> weight, following each backend Service's selector to the pods it selects."""
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service" and o["metadata"]["namespace"] == namespace}
    out = {}
    for name, weight in backends.items():
        selector = services[name]["spec"]["selector"]
        chosen = [p for p in pods if p.namespace == namespace and all(dict(p.labels).get(k) == v for k, v in selector.items())]
        assert len(chosen) == 1, (name, [p.name for p in chosen])
        out[chosen[0].name] = weight
    return out


def test_bookinfo_reviews_weights_and_header_route_land_on_the_right_pods(cases):
    _, intent, objects = next(c for c in cases if c[0] == "bookinfo")
    pods = pods_of(intent)
    route = next(o for o in objects if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "reviews")
    assert route["metadata"]["namespace"] == "bookinfo"  # producer route: the Service's namespace
    assert route["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "reviews", "port": 9080}]
    jason = _version_pods(objects, "bookinfo", select_backends(route, headers={"end-user": "jason"}), pods)
    assert jason == {"reviews/v2": 1}
    others = _version_pods(objects, "bookinfo", select_backends(route, headers={"end-user": "mary"}), pods)
    assert others == {"reviews/v1": 90, "reviews/v2": 0, "reviews/v3": 10}
    assert route["spec"]["rules"][-1]["timeouts"] == {"request": "500ms", "backendRequest": "200ms"}


def test_every_example_route_splits_by_the_intent_weights(cases):
    checked = 0
    for name, intent, objects in cases:
        pods = pods_of(intent)
        routes = {(o["metadata"]["namespace"], o["spec"]["parentRefs"][0]["name"], o["spec"]["parentRefs"][0].get("port")): o
                  for o in objects if o["kind"] in ("HTTPRoute", "GRPCRoute") and o["spec"]["parentRefs"][0].get("kind") == "Service"}
        for svc in intent.spec.services:
            if not svc.versions or not any(p.is_l7 for p in svc.ports):
                continue
            for port in (p for p in svc.ports if p.is_l7):
                route = routes[(svc.namespace, svc.name, port.port)]
                default = route["spec"]["rules"][-1]
                assert "matches" not in default  # the catch-all
                got = _version_pods(objects, svc.namespace, {b["name"]: b.get("weight", 1) for b in default["backendRefs"]}, pods)
                assert got == {f"{svc.name}/{v.name}": v.weight for v in svc.versions}, name
                checked += 1
    assert checked >= 3


def test_callers_intent_routes_split_canary(cases):
    _, intent, objects = next(c for c in cases if c[0] == "callers")
    route = next(o for o in objects if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "web")
    assert _version_pods(objects, "shop", select_backends(route), pods_of(intent)) == {"web/v1": 70, "web/v2": 30}


def test_egress_policy_semantics(tmp_path):
    doc = yaml.safe_load(CALLERS)
    doc["spec"]["mesh"] = {"egressDefaultDeny": True}
    doc["spec"]["egress"] = [{"host": "api.stripe.com"}]
    path = write_intent(tmp_path, yaml.safe_dump(doc))
    objects = render(load_intent(path), "cilium", str(path)).objects()
    egress = {o["metadata"]["namespace"]: o["spec"] for o in _policies(objects) if o["metadata"]["name"] == "egress"}
    assert sorted(egress) == ["jobs", "ops", "shop"]
    for spec in egress.values():
        dns = spec["egress"][0]
        assert {_key(k): v for k, v in dns["toEndpoints"][0]["matchLabels"].items()} == {NS: "kube-system", "k8s-app": "kube-dns"}
        assert sorted((p["port"], p["protocol"]) for p in dns["toPorts"][0]["ports"]) == [("53", "TCP"), ("53", "UDP")]
        assert {"toEntities": ["cluster", "kube-apiserver"]} in spec["egress"]
        assert spec["enableDefaultDeny"]["egress"] is True
        assert spec.get("enableDefaultDeny", {}).get("ingress") is None  # the egress policy never denies ingress
