"""Read the rendered istio-ambient objects back and check what they allow, not how they look.

A model of ambient's decision (:mod:`tests.platforms.ambient_sim`: redirection to the waypoint,
the waypoint's targetRefs policies with the caller's identity, then the destination ztunnel's
selector and namespace policies with the waypoint's identity, L4 attributes only) is run
against every example and an intent with every caller kind. Expected decisions come from an
oracle written here from the intent's documented meaning, not from meshgen: allowFrom entries
(who, which ports, which methods and paths), denyFrom before allowFrom, gateways allowed to the
services they route to, everything else denied under defaultDeny. Callers the intent cannot
tell apart by identity (versions or label sets sharing a service account) must be reported lost
and are not checked.
"""

from __future__ import annotations

import pytest
import yaml

from meshgen import load_intent, render
from meshgen.capabilities import Feature, Support
from tests.conftest import EXAMPLES, REPO, write_intent
from tests.platforms.ambient_sim import Caller, Mesh, Request

PLATFORM = "istio-ambient"

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
        - {name: admin, port: 9000, targetPort: 9090, protocol: tcp}
      allowFrom:
        - {service: web, versions: [v2], ports: [http], methods: [GET, POST], paths: [/orders/*, /health, "*.json"]}
        - {selector: {role: batch}, namespace: jobs, ports: [http]}
        - {namespace: ops, ports: [admin]}
        - {service: worker, ports: [admin]}
      denyFrom:
        - {serviceAccount: scraper, namespace: jobs}
    - name: ledger
      ports: [{name: tcp, port: 7000, protocol: tcp}]
      allowFrom: [{service: api}, {namespace: ops}]
      denyFrom: [{service: web, versions: [v1]}]
    - name: web
      ports: [{name: http, port: 80}]
      versions:
        - {name: v1, weight: 70, serviceAccount: web-v1}
        - {name: v2, weight: 30, labels: {track: canary}, serviceAccount: web-v2}
    - name: worker
      namespace: jobs
      selector: {role: batch}
      ports: [{name: http, port: 80}]
    - name: scraper
      namespace: jobs
      selector: {role: scrape, tier: untrusted}
      serviceAccount: scraper
      ports: [{name: http, port: 80}]
    - name: toolbox
      namespace: ops
      ports: [{name: http, port: 80}]
    - name: open
      namespace: ops
      ports: [{name: http, port: 80}]
      timeout: 2s
"""

OPEN = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: open}
spec:
  mesh: {defaultDeny: false}
  defaults: {namespace: shop}
  services:
    - name: api
      ports: [{name: http, port: 80}]
      denyFrom: [{service: web, methods: [DELETE]}]
    - name: web
      ports: [{name: http, port: 80}]
    - name: cache
      ports: [{name: tcp, port: 6379, protocol: tcp}]
"""


# --- the oracle -----------------------------------------------------------------------------------


def callers_of(intent) -> list[Caller]:
    """Every workload of the intent (one per version), its gateways, and identities it never names."""
    out = []
    for svc in intent.spec.services:
        base = dict(svc.selector or {"app": svc.name})
        for version in svc.versions or [None]:
            labels, sa, name = dict(base), svc.service_account or svc.name, svc.name
            if version is not None:
                labels.update(version.labels if version.labels is not None else {"version": version.name})
                sa, name = version.service_account or sa, f"{svc.name}/{version.name}"
            out.append(Caller(name, svc.namespace, sa, tuple(sorted(labels.items()))))
    for gw in intent.spec.gateways:
        out.append(Caller(f"gateway {gw.name}", gw.namespace, gw.service_account or f"{gw.name}-istio", gateway=True))
    for c in list(out):
        out.append(Caller(f"impostor {c.name}", "elsewhere", c.service_account, c.labels))
    for ns in sorted({c.namespace for c in out} | {"ops"}):
        out.append(Caller(f"anonymous in {ns}", ns, "default"))
    return out


def peer_matches(intent, peer, src: Caller, callee) -> bool:
    """The intent's meaning of an allowFrom/denyFrom entry for one concrete caller."""
    if peer.gateway is not None:
        return src.gateway and src.name == f"gateway {peer.gateway}"
    if src.gateway:
        return (
            peer.namespace is not None
            and peer.service is None
            and peer.selector is None
            and peer.service_account is None
            and src.namespace == peer.namespace
        )
    if peer.service is not None:
        target = next(
            s
            for s in intent.spec.services
            if s.name == peer.service and (peer.namespace is None or s.namespace == peer.namespace)
        )
        if src.namespace != target.namespace or src.name.split("/")[0] != target.name:
            return False
        return not peer.versions or src.name.split("/")[1] in peer.versions
    if peer.service_account is not None:
        return src.namespace == peer.namespace and src.service_account == peer.service_account
    if peer.selector is not None:
        labels = dict(src.labels)
        return src.namespace == (peer.namespace or callee.namespace) and all(
            labels.get(k) == v for k, v in peer.selector.items()
        )
    return src.namespace == peer.namespace


def _on_port(peer, port) -> bool:
    return not peer.ports or port.name in peer.ports or port.port in peer.ports


def gateway_routes(intent, svc) -> set[tuple[str, int]]:
    """(gateway name, Service port) for every gateway route whose backend is ``svc``."""
    out = set()
    for gw in intent.spec.gateways:
        for route in gw.routes:
            if route.service == svc.name and (route.namespace or svc.namespace) == svc.namespace:
                out.add((gw.name, route.port or svc.ports[0].port))
    return out


def samples(peer) -> tuple[list[Request], list[Request]]:
    """(allowed, refused) requests for an entry's methods, paths and gRPC methods."""
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
    ok = [Request(m, path) for m in methods for path in (paths or ["/"])]
    refused = [Request(m, path) for m in methods for path in refused_paths]
    if peer.methods:
        refused += [Request(other, (paths or ["/"])[0]) for other in ("DELETE", "PATCH") if other not in peer.methods]
    if peer.grpc is not None:
        names = peer.grpc.methods or ["AnyMethod"]
        ok = [Request("POST", f"/{peer.grpc.service}/{n}") for n in names]
        refused = [Request("POST", f"/{peer.grpc.service}Other/{names[0]}")]
        if peer.grpc.methods:
            refused.append(Request("POST", f"/{peer.grpc.service}/NotAllowed"))
    return ok, refused


def _l7(peer) -> bool:
    return bool(peer.methods or peer.paths or peer.grpc)


def _ambiguous(intent, callee, src: Caller, sources: list[Caller], port) -> bool:
    """Whether another caller with src's identity has a different intent on this port (not enforceable)."""
    mine = [
        p for p in (*callee.allow_from, *callee.deny_from) if peer_matches(intent, p, src, callee) and _on_port(p, port)
    ]
    for other in sources:
        if other is src or (other.namespace, other.service_account) != (src.namespace, src.service_account):
            continue
        theirs = [
            p
            for p in (*callee.allow_from, *callee.deny_from)
            if peer_matches(intent, p, other, callee) and _on_port(p, port)
        ]
        if [id(p) for p in mine] != [id(p) for p in theirs]:
            return True
    return False


# --- the cases -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    # Examples with a rollout are left out: Flagger writes their Services and HTTPRoute at run time
    # (tests/test_flagger.py and test_istio_ambient.py read their Canary instead).
    paths = [p for p in EXAMPLES if not any("rollout" in s for s in yaml.safe_load(p.read_text())["spec"]["services"])]
    for name, text in (("callers", CALLERS), ("open", OPEN)):
        paths.append(write_intent(tmp_path_factory.mktemp(name), text))
    out = []
    for path in paths:
        intent = load_intent(path)
        rendering = render(intent, PLATFORM, str(path))
        name = path.parent.name if path.parent.parent == REPO / "examples" else path.parent.name.rstrip("0123456789")
        out.append((name, intent, rendering))
    return out


def _pods(intent, callee) -> list[dict[str, str]]:
    base = dict(callee.selector or {"app": callee.name})
    out = []
    for version in callee.versions or [None]:
        labels = dict(base)
        if version is not None:
            labels.update(version.labels if version.labels is not None else {"version": version.name})
        out.append(labels)
    return out


def test_every_call_is_decided_as_the_intent_says(cases):
    checked = 0
    for name, intent, rendering in cases:
        mesh = Mesh(rendering.objects(), intent.spec.mesh.trust_domain)
        sources = callers_of(intent)
        lost = {(f.subject, f.feature) for f in rendering.plan.findings if f.support is Support.NOT_EXPRESSIBLE}
        for callee in intent.spec.services:
            subject = f"{callee.namespace}/{callee.name}"
            routed = gateway_routes(intent, callee)
            for labels in _pods(intent, callee):
                for port in [p for p in callee.ports if p.protocol != "udp"]:
                    for src in sources:
                        if _ambiguous(intent, callee, src, sources, port):
                            assert {(subject, Feature.AUTHZ_BY_VERSION), (subject, Feature.AUTHZ_BY_SELECTOR)} & lost, (
                                name,
                                subject,
                                src,
                            )
                            continue
                        allowed_by = [
                            p for p in callee.allow_from if peer_matches(intent, p, src, callee) and _on_port(p, port)
                        ]
                        denied_by = [
                            p for p in callee.deny_from if peer_matches(intent, p, src, callee) and _on_port(p, port)
                        ]
                        implicit = src.gateway and any(
                            gw == src.name.removeprefix("gateway ") and pp == port.port for gw, pp in routed
                        )
                        restricted = intent.spec.mesh.default_deny or bool(callee.allow_from) or bool(routed)
                        where = f"{name}: {src.name} -> {callee.name}:{port.port} (pod {labels})"

                        def call(req=None, src=src, callee=callee, port=port, labels=labels, mesh=mesh):
                            return mesh.call_service(src, callee.namespace, callee.name, port.port, labels, req)

                        if any(not _l7(p) for p in denied_by):
                            assert not call(), where
                            checked += 1
                            continue
                        if implicit or any(not _l7(p) for p in allowed_by) or not restricted:
                            for req in [Request()] + [r for p in denied_by for r in samples(p)[0]]:
                                expected = not any(_hit(p, req) for p in denied_by)
                                assert call(req) is expected, f"{where} {req.method} {req.path}"
                                checked += 1
                            continue
                        if not allowed_by:
                            assert not call(), where
                            assert not call(Request()), where
                            checked += 2
                            continue
                        for peer in allowed_by:
                            ok, refused = samples(peer)
                            for req in ok:
                                expected = not any(_hit(p, req) for p in denied_by)
                                assert call(req) is expected, f"{where} {req.method} {req.path}"
                                checked += 1
                            others = [q for q in allowed_by if q is not peer]
                            for req in refused:
                                if any(_hit(q, req) for q in others):
                                    continue
                                assert not call(req), f"{where} {req.method} {req.path} admitted"
                                checked += 1
    assert checked > 1000


def _hit(peer, req: Request) -> bool:
    """Whether ``req`` is one of the requests ``peer`` names (methods and path patterns)."""
    if peer.methods and req.method not in peer.methods:
        return False
    patterns = list(peer.paths) + (list(peer.grpc.paths()) if peer.grpc else [])
    if not patterns:
        return True
    path = req.path.split("?", 1)[0]
    for p in patterns:
        if (
            p == "*"
            or (p.endswith("*") and path.startswith(p[:-1]))
            or (p.startswith("*") and path.endswith(p[1:]))
            or path == p
        ):
            return True
    return False


def test_no_caller_skips_a_waypoint_by_calling_pod_ips(cases):
    """Direct pod-IP calls reach ztunnel with the caller's own identity: they must never be admitted
    where the intent restricts callers and the service's policy lives on its waypoint."""
    checked = 0
    for name, intent, rendering in cases:
        mesh = Mesh(rendering.objects(), intent.spec.mesh.trust_domain)
        for callee in intent.spec.services:
            waypoint = mesh.waypoint_of(callee.namespace, callee.name)
            restricted = (
                intent.spec.mesh.default_deny or callee.allow_from or callee.deny_from or callee.request_authentication
            )
            if waypoint is None or not restricted:
                continue
            for labels in _pods(intent, callee):
                for port in callee.ports:
                    for src in callers_of(intent):
                        assert not mesh.call_pod(src, callee.namespace, labels, port.pod_port, Request()), (
                            name,
                            src.name,
                            callee.name,
                        )
                        checked += 1
    assert checked > 100


def test_ztunnel_never_gets_an_l7_attribute(cases):
    for name, _, rendering in cases:
        for obj in rendering.objects():
            if obj["kind"] != "AuthorizationPolicy" or (obj.get("spec") or {}).get("targetRefs"):
                continue
            for rule in obj["spec"].get("rules", []):
                assert not rule.get("when"), (name, obj["metadata"]["name"])
                for f in rule.get("from", []):
                    assert set(f["source"]) <= {
                        "principals",
                        "namespaces",
                        "notPrincipals",
                        "notNamespaces",
                        "ipBlocks",
                    }, (name, obj["metadata"]["name"])
                for t in rule.get("to", []):
                    assert set(t["operation"]) <= {"ports", "notPorts"}, (name, obj["metadata"]["name"])


def test_bookinfo_edges_spelled_out(cases):
    _, intent, rendering = next(c for c in cases if c[0] == "bookinfo")
    mesh = Mesh(rendering.objects())
    pod = {c.name: c for c in callers_of(intent)}
    gateway = pod["gateway public"]

    def call(src, service, labels, method="GET", path="/"):
        return mesh.call_service(src, "bookinfo", service, 9080, labels, Request(method, path))

    details = {"app": "details", "version": "v1"}
    reviews = {"app": "reviews", "version": "v2"}
    assert call(pod["productpage"], "details", details, "GET", "/details/0")
    assert not call(pod["productpage"], "details", details, "POST", "/details/0")
    assert not call(pod["reviews/v1"], "details", details)
    assert call(pod["productpage"], "reviews", reviews, "GET", "/reviews/0")
    assert not call(pod["productpage"], "reviews", reviews, "GET", "/ratings/0")
    assert call(pod["reviews/v3"], "ratings", {"app": "ratings", "version": "v1"}, "GET", "/ratings/0")
    assert call(gateway, "productpage", {"app": "productpage"}, "GET", "/productpage")
    assert not call(gateway, "reviews", reviews, "GET", "/reviews/0")
    assert not call(pod["impostor productpage"], "details", details)
    # The waypoint is the only identity ztunnel admits to reviews' pods.
    assert mesh.call_pod(Caller("waypoint", "bookinfo", "waypoint"), "bookinfo", reviews, 9080)
    assert not mesh.call_pod(pod["productpage"], "bookinfo", reviews, 9080, Request("GET", "/reviews/0"))


def test_open_mesh_denies_only_what_the_intent_denies(cases):
    _, intent, rendering = next(c for c in cases if c[0] == "open")
    mesh = Mesh(rendering.objects())
    web = next(c for c in callers_of(intent) if c.name == "web")
    stranger = Caller("stranger", "elsewhere", "x")
    assert mesh.call_service(web, "shop", "api", 80, {"app": "api"}, Request("GET", "/"))
    assert not mesh.call_service(web, "shop", "api", 80, {"app": "api"}, Request("DELETE", "/"))
    assert mesh.call_service(stranger, "shop", "api", 80, {"app": "api"}, Request("DELETE", "/"))
    # The DENY lives on the waypoint: a direct pod-IP call must not slip past it.
    assert not mesh.call_pod(web, "shop", {"app": "api"}, 80, Request("DELETE", "/"))
    assert mesh.call_service(stranger, "shop", "cache", 6379, {"app": "cache"})
    assert mesh.call_pod(stranger, "shop", {"app": "cache"}, 6379)


def test_jwt_is_required_on_the_waypoint(tmp_path):
    text = CALLERS.replace(
        "    - name: toolbox\n",
        "    - name: secure\n      ports: [{name: http, port: 80}]\n      allowFrom: [{service: toolbox, namespace: ops}]\n"
        "      requestAuthentication: {issuer: https://idp.example.com, jwksUri: https://idp.example.com/jwks}\n"
        "    - name: toolbox\n",
    )
    intent = load_intent(write_intent(tmp_path, text))
    mesh = Mesh(render(intent, PLATFORM, "intent.yaml").objects())
    toolbox = next(c for c in callers_of(intent) if c.name == "toolbox")
    assert mesh.call_service(toolbox, "shop", "secure", 80, {"app": "secure"}, Request("GET", "/", jwt=True))
    assert not mesh.call_service(toolbox, "shop", "secure", 80, {"app": "secure"}, Request("GET", "/", jwt=False))
    assert not mesh.call_pod(toolbox, "shop", {"app": "secure"}, 80, Request("GET", "/", jwt=True))


@pytest.mark.parametrize("api_extra", ["", "      timeout: 2s\n"])
def test_an_allow_list_of_nobody_fails_closed_without_default_deny(tmp_path, api_extra, crd_catalog):
    """A selector matching no workload admits nobody, on ztunnel and on the waypoint alike."""
    text = OPEN.replace(
        "      denyFrom: [{service: web, methods: [DELETE]}]\n",
        "      allowFrom: [{selector: {role: ghost}}]\n" + api_extra,
    )
    rendering = render(load_intent(write_intent(tmp_path, text)), PLATFORM, "intent.yaml")
    assert any(f.feature is Feature.AUTHZ_BY_SELECTOR and f.loses_intent for f in rendering.plan.findings)
    from meshgen.validate import validate_objects

    assert [str(v) for v in validate_objects(rendering.objects(), crd_catalog)] == []
    mesh = Mesh(rendering.objects())
    intent = load_intent(write_intent(tmp_path, text))
    for src in callers_of(intent):
        assert not mesh.call_service(src, "shop", "api", 80, {"app": "api"}, Request()), src.name
        assert not mesh.call_pod(src, "shop", {"app": "api"}, 80, Request()), src.name


# --- routing -------------------------------------------------------------------------------------


def _pods_selected(objects, namespace: str, service: str, intent) -> list[str]:
    """Names (service/version) of the intent's pods a Service selects."""
    svc = next(
        o
        for o in objects
        if o["kind"] == "Service" and o["metadata"]["namespace"] == namespace and o["metadata"]["name"] == service
    )
    selector = svc["spec"]["selector"]
    return [
        c.name
        for c in callers_of(intent)
        if not c.gateway and c.namespace == namespace and all(dict(c.labels).get(k) == v for k, v in selector.items())
    ]


def test_every_route_sends_each_version_its_intent_weight(cases):
    """The catch-all rule of every mesh route: its backendRefs' Services select exactly one
    version's pods each, with the intent's weight, and the route is on a waypoint-bound Service."""
    checked = 0
    for name, intent, rendering in cases:
        objects = rendering.objects()
        mesh = Mesh(objects, intent.spec.mesh.trust_domain)
        for svc in intent.spec.services:
            routes = [
                o
                for o in objects
                if o["kind"] in ("HTTPRoute", "GRPCRoute")
                and any(p.get("kind") == "Service" and p["name"] == svc.name for p in o["spec"]["parentRefs"])
                and o["metadata"]["namespace"] == svc.namespace
            ]
            if len(svc.versions) > 1 and any(p.is_l7 for p in svc.ports):
                assert routes, (name, svc.name)
            for route in routes:
                assert mesh.waypoint_of(svc.namespace, svc.name) is not None, (name, svc.name)
                default = route["spec"]["rules"][-1]
                assert "matches" not in default, (name, route["metadata"]["name"])  # the catch-all
                got = {}
                for ref in default["backendRefs"]:
                    pods = _pods_selected(objects, svc.namespace, ref["name"], intent)
                    if svc.versions:
                        assert len(pods) == 1, (name, ref["name"], pods)
                        got[pods[0]] = ref.get("weight", 1)
                    else:
                        assert pods == [svc.name], (name, ref["name"], pods)
                if svc.versions:
                    expected = {f"{svc.name}/{v.name}": v.weight for v in svc.versions}
                    if len(svc.versions) == 1:
                        assert set(got) == set(expected), (name, svc.name)
                    else:
                        assert got == expected, (name, svc.name)
                checked += 1
    assert checked > 10
