"""Read the rendered Linkerd objects back and check what they do, not how they are written.

Authorization: for every allowFrom entry of every example, the callee's inbound proxy admits the
caller's identity for the requests the entry allows, on the right port, and admits no other
identity of the example. Expected callers come straight from the intent YAML (hand-resolved
service accounts and globs), never from meshgen's own identity resolution.

Traffic: weights and header matches land on the intended per-version Services, whose selectors
pick the intended pods; timeouts and retries are the ones the intent asks for.
"""

from __future__ import annotations

import fnmatch

import pytest
import yaml

from meshgen import load_intent, render
from tests.conftest import REPO
from tests.platforms.linkerd_sim import UNAUTHENTICATED, admits, inbound, load_objects, one, outbound, render_text

EXAMPLES = ["bookinfo", "online-boutique", "emojivoto"]


def _example(name: str):
    path = REPO / "examples" / name / "intent.yaml"
    doc = yaml.safe_load(path.read_text())
    rendering = render(load_intent(path), "linkerd", f"examples/{name}/intent.yaml")
    return doc, load_objects(rendering)


# --- expected callers, from the intent document alone ----------------------------------------


class Intent:
    """The parts of a raw intent document the expectations need."""

    def __init__(self, doc: dict):
        spec = doc["spec"]
        self.ns = spec.get("defaults", {}).get("namespace", "default")
        self.td = spec.get("mesh", {}).get("trustDomain", "cluster.local")
        self.services = spec["services"]
        self.gateways = spec.get("gateways", [])
        self.population = {self.svc_identity(s) for s in self.services}
        for s in self.services:
            for peer in s.get("allowFrom", []):
                if "serviceAccount" in peer:
                    self.population.add(self.identity(peer["namespace"], peer["serviceAccount"]))
        for gw in self.gateways:
            if gw.get("serviceAccount"):
                self.population.add(self.identity(gw.get("namespace", self.ns), gw["serviceAccount"]))

    def identity(self, ns: str, sa: str) -> str:
        return f"{sa}.{ns}.serviceaccount.identity.linkerd.{self.td}"

    def svc_identity(self, svc: dict) -> str:
        return self.identity(svc.get("namespace", self.ns), svc.get("serviceAccount", svc["name"]))

    def service(self, name: str) -> dict:
        return next(s for s in self.services if s["name"] == name)

    def callers(self, peer: dict) -> set[str]:
        if "service" in peer:
            return {self.svc_identity(self.service(peer["service"]))}
        if "serviceAccount" in peer:
            return {self.identity(peer["namespace"], peer["serviceAccount"])}
        if "gateway" in peer:
            gw = next(g for g in self.gateways if g["name"] == peer["gateway"])
            return {self.identity(gw.get("namespace", self.ns), gw["serviceAccount"])} if gw.get("serviceAccount") else set()
        return {i for i in self.population if i.split(".")[1] == peer["namespace"]}


def _glob_ok(glob: str, path: str) -> bool:
    # Istio path globs: exact, prefix*, *suffix (Istio's AuthorizationPolicy semantics).
    return fnmatch.fnmatchcase(path, glob) if "*" in glob else path == glob


def _peer_allows(peer: dict, port: dict, req: dict) -> bool:
    if peer.get("ports") and port["name"] not in peer["ports"] and port["port"] not in peer["ports"]:
        return False
    if "grpc" in peer:
        g = peer["grpc"]
        return req.get("service") == g["service"] and (not g.get("methods") or req.get("method") in g["methods"])
    if peer.get("methods") and req.get("method") not in peer["methods"]:
        return False
    if peer.get("paths") and not any(_glob_ok(glob, req.get("path", "/")) for glob in peer["paths"]):
        return False
    return True


def _samples(svc: dict, port: dict) -> list[dict]:
    proto = port.get("protocol", "http")
    if proto in ("tcp", "tls"):
        return [{"tcp": True}]
    peers = svc.get("allowFrom", [])
    if proto == "grpc":
        out = []
        for peer in peers:
            g = peer.get("grpc")
            if g:
                out += [{"service": g["service"], "method": m} for m in g.get("methods") or ["AnyMethod"]]
                out.append({"service": g["service"], "method": "NotInTheIntent"})
        return out or [{"service": "some.Service", "method": "Call"}]
    out = [{"method": "GET", "path": "/"}, {"method": "DELETE", "path": "/not-in-the-intent"}]
    for peer in peers:
        for glob in peer.get("paths", []):
            path = glob.replace("/*", "/x").replace("*", "x")
            out += [{"method": m, "path": path} for m in peer.get("methods") or ["GET"]]
            out.append({"method": "POST", "path": path})
    return out


def _edges(name: str):
    doc, objects = _example(name)
    intent = Intent(doc)
    for svc in intent.services:
        labels = svc.get("selector") or {"app": svc["name"]}
        ns = svc.get("namespace", intent.ns)
        for port in svc["ports"]:
            for req in _samples(svc, port):
                allowed: set[str] = set()
                for peer in svc.get("allowFrom", []):
                    if "tcp" in req and any(k in peer for k in ("methods", "paths", "grpc")):
                        continue
                    if "tcp" in req or _peer_allows(peer, port, req):
                        allowed |= intent.callers(peer)
                yield svc["name"], ns, labels, port, req, allowed, intent.population, objects


CASES = [pytest.param(name, id=name) for name in EXAMPLES]


@pytest.mark.parametrize("name", CASES)
def test_every_allowed_caller_is_admitted_and_no_other(name):
    checked = 0
    for svc, ns, labels, port, req, allowed, population, objects in _edges(name):
        result = inbound(objects, ns, labels, port.get("targetPort", port["port"]), req)
        for who in sorted(population | {UNAUTHENTICATED}):
            assert admits(result, who) == (who in allowed), (svc, port["name"], req, who, sorted(result.admitted))
            checked += 1
    assert checked > 20


def test_emojivoto_allow_list_by_hand():
    _, objects = _example("emojivoto")
    web = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"
    bot = "default.emojivoto.serviceaccount.identity.linkerd.cluster.local"
    prom = "prometheus.linkerd-viz.serviceaccount.identity.linkerd.cluster.local"
    emoji = {"app": "emoji-svc"}
    voting = {"app": "voting-svc"}
    list_all = {"service": "emojivoto.v1.EmojiService", "method": "ListAll"}
    vote = {"service": "emojivoto.v1.VotingService", "method": "VoteDoughnut"}
    results = {"service": "emojivoto.v1.VotingService", "method": "Results"}
    assert admits(inbound(objects, "emojivoto", emoji, 8080, list_all), web)
    assert admits(inbound(objects, "emojivoto", voting, 8080, vote), web)
    assert admits(inbound(objects, "emojivoto", voting, 8080, results), web)
    assert not admits(inbound(objects, "emojivoto", voting, 8080, vote), bot)
    assert not admits(inbound(objects, "emojivoto", voting, 8080, {"service": "emojivoto.v1.EmojiService", "method": "ListAll"}), web)
    assert admits(inbound(objects, "emojivoto", {"app": "web-svc", "version": "v12"}, 8080, {"method": "GET", "path": "/api/vote"}), bot)
    assert not admits(inbound(objects, "emojivoto", {"app": "web-svc"}, 8080, {"method": "GET", "path": "/"}), web)
    assert admits(inbound(objects, "emojivoto", voting, 8801, {"method": "GET", "path": "/metrics"}), prom)
    assert not admits(inbound(objects, "emojivoto", voting, 8801, {"method": "GET", "path": "/metrics"}), web)
    assert not admits(inbound(objects, "emojivoto", emoji, 8080, list_all), UNAUTHENTICATED)


# --- traffic ---------------------------------------------------------------------------------


def test_emojivoto_canary_weights_and_header_route():
    _, objects = _example("emojivoto")
    testers = outbound(objects, "emojivoto", "web-svc", 80, {"method": "GET", "path": "/", "headers": {"x-canary": "true"}})
    assert testers.weights == {"web-svc-v12": 100.0}
    everyone = outbound(objects, "emojivoto", "web-svc", 80, {"method": "GET", "path": "/"})
    assert everyone.weights == {"web-svc-v11": 90.0, "web-svc-v12": 10.0}
    other_header = outbound(objects, "emojivoto", "web-svc", 80, {"method": "GET", "path": "/", "headers": {"x-canary": "false"}})
    assert other_header.weights == {"web-svc-v11": 90.0, "web-svc-v12": 10.0}
    assert one(objects, "Service", "web-svc-v12")["spec"]["selector"] == {"app": "web-svc", "version": "v12"}
    assert one(objects, "Service", "web-svc-v11")["spec"]["selector"] == {"app": "web-svc", "version": "v11"}
    assert everyone.annotations == {"timeout.linkerd.io/request": "2s"}


def test_emojivoto_grpc_timeouts_and_retries():
    _, objects = _example("emojivoto")
    emoji = outbound(objects, "emojivoto", "emoji-svc", 8080, {"service": "emojivoto.v1.EmojiService", "method": "ListAll"})
    assert emoji.weights == {"emoji-svc": 100.0}
    assert emoji.annotations == {
        "retry.linkerd.io/grpc": "unavailable",
        "retry.linkerd.io/limit": "2",
        "retry.linkerd.io/timeout": "300ms",
        "timeout.linkerd.io/request": "1s",
    }
    voting = outbound(objects, "emojivoto", "voting-svc", 8080, {"service": "emojivoto.v1.VotingService", "method": "VotePoop"})
    assert voting.annotations == {"timeout.linkerd.io/request": "1s"}


def test_bookinfo_reviews_routing_and_policy():
    _, objects = _example("bookinfo")
    jason = outbound(objects, "bookinfo", "reviews", 9080, {"method": "GET", "path": "/reviews/0", "headers": {"end-user": "jason"}})
    assert jason.weights == {"reviews-v2": 100.0}
    others = outbound(objects, "bookinfo", "reviews", 9080, {"method": "GET", "path": "/reviews/0"})
    assert others.weights == {"reviews-v1": 90.0, "reviews-v2": 0.0, "reviews-v3": 10.0}
    assert others.annotations == {
        "retry.linkerd.io/http": "5xx",
        "retry.linkerd.io/limit": "2",
        "retry.linkerd.io/timeout": "200ms",
        "timeout.linkerd.io/request": "500ms",
    }
    ratings = outbound(objects, "bookinfo", "ratings", 9080, {"method": "GET", "path": "/ratings/0"})
    assert ratings.annotations["retry.linkerd.io/limit"] == "3"
    assert ratings.weights == {"ratings-v1": 100.0}


ROUTE_POLICY = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  defaults: {namespace: shop}
  services:
    - name: api
      ports: [{name: http, port: 8080}]
      timeout: 3s
      retries: {attempts: 2, retryOn: [5xx]}
      versions: [{name: v1, weight: 75}, {name: v2, weight: 25}]
      routes:
        - {name: reports, match: {path: {prefix: /reports}}, timeout: 30s}
        - {name: pay, match: {path: {exact: /pay}, method: POST}, retries: {attempts: 0}}
        - {name: beta, match: {headers: {x-beta: {exact: "1"}}}, version: v2}
"""


def test_route_with_own_policy_gets_it_and_keeps_its_backends():
    objects = load_objects(render_text(ROUTE_POLICY))
    reports = outbound(objects, "shop", "api", 8080, {"method": "GET", "path": "/reports/q3"})
    assert reports.annotations == {"retry.linkerd.io/http": "5xx", "retry.linkerd.io/limit": "2", "timeout.linkerd.io/request": "30s"}
    assert reports.weights == {"api-v1": 75.0, "api-v2": 25.0}
    pay = outbound(objects, "shop", "api", 8080, {"method": "POST", "path": "/pay"})
    assert pay.annotations == {"timeout.linkerd.io/request": "3s"}  # no retries on payments
    beta = outbound(objects, "shop", "api", 8080, {"method": "GET", "path": "/", "headers": {"x-beta": "1"}})
    assert beta.weights == {"api-v2": 100.0}
    assert beta.annotations == {"retry.linkerd.io/http": "5xx", "retry.linkerd.io/limit": "2", "timeout.linkerd.io/request": "3s"}
    plain = outbound(objects, "shop", "api", 8080, {"method": "GET", "path": "/"})
    assert plain.route == "api"


MIXED = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  defaults: {namespace: shop}
  services:
    - name: api
      ports:
        - {name: http, port: 8080}
        - {name: grpc, port: 9090, protocol: grpc}
      probes: [{port: http, path: /healthz}, {port: grpc}]
      allowFrom:
        - {service: admin, ports: [http]}
        - {service: web, ports: [http], methods: [GET], paths: [/items/*]}
        - {service: web, ports: [http], methods: [GET], paths: [/items/special]}
        - {service: batch, ports: [http], paths: [/items/special]}
        - {service: web, ports: [grpc], grpc: {service: shop.Api}}
        - {service: batch, ports: [grpc], grpc: {service: shop.Api, methods: [Export]}}
    - {name: web, ports: [{name: http, port: 80}]}
    - {name: admin, ports: [{name: http, port: 80}]}
    - {name: batch, ports: [{name: http, port: 80}]}
"""


def _id(sa: str) -> str:
    return f"{sa}.shop.serviceaccount.identity.linkerd.cluster.local"


def test_whole_port_callers_keep_every_path_when_routes_attach():
    objects = load_objects(render_text(MIXED))
    api = {"app": "api"}
    for path in ("/", "/items/1", "/items/special", "/anything/else"):
        result = inbound(objects, "shop", api, 8080, {"method": "DELETE", "path": path})
        assert admits(result, _id("admin")), path
    assert not admits(inbound(objects, "shop", api, 8080, {"method": "DELETE", "path": "/items/1"}), _id("web"))


def test_covered_requests_admit_every_rule_that_covers_them():
    objects = load_objects(render_text(MIXED))
    api = {"app": "api"}
    special = inbound(objects, "shop", api, 8080, {"method": "GET", "path": "/items/special"})
    assert admits(special, _id("web")) and admits(special, _id("batch")) and admits(special, _id("admin"))
    post_special = inbound(objects, "shop", api, 8080, {"method": "POST", "path": "/items/special"})
    assert admits(post_special, _id("batch")) and not admits(post_special, _id("web"))
    item = inbound(objects, "shop", api, 8080, {"method": "GET", "path": "/items/7"})
    assert admits(item, _id("web")) and not admits(item, _id("batch"))
    export = inbound(objects, "shop", api, 9090, {"service": "shop.Api", "method": "Export"})
    assert admits(export, _id("web")) and admits(export, _id("batch"))
    get = inbound(objects, "shop", api, 9090, {"service": "shop.Api", "method": "Get"})
    assert admits(get, _id("web")) and not admits(get, _id("batch")) and not admits(get, _id("admin"))


def test_declared_probes_pass_from_any_network():
    objects = load_objects(render_text(MIXED))
    api = {"app": "api"}
    assert admits(inbound(objects, "shop", api, 8080, {"method": "GET", "path": "/healthz"}), UNAUTHENTICATED)
    assert not admits(inbound(objects, "shop", api, 8080, {"method": "POST", "path": "/healthz"}), UNAUTHENTICATED)
    health = inbound(objects, "shop", api, 9090, {"service": "grpc.health.v1.Health", "method": "Check"})
    assert admits(health, UNAUTHENTICATED)
    assert not admits(inbound(objects, "shop", api, 9090, {"service": "shop.Api", "method": "Get"}), UNAUTHENTICATED)
