"""Read the rendered NetworkPolicies back and check who they admit, not how they look.

A small model of Kubernetes NetworkPolicy evaluation, written from
https://kubernetes.io/docs/concepts/services-networking/network-policies/:

* a pod is isolated for ingress when some NetworkPolicy of its namespace selects it
  (``podSelector``) and has ``Ingress`` in ``policyTypes``; it is isolated for egress likewise;
* an isolated pod accepts a connection only if some selecting policy's ``ingress`` rule admits it
  (the union of every rule, no order, no deny); a rule without ``from`` admits every source, one
  without ``ports`` every port;
* a ``from``/``to`` element with only ``podSelector`` selects pods of the policy's namespace, with
  only ``namespaceSelector`` every pod of the matching namespaces, with both the matching pods in
  the matching namespaces; namespaces carry ``kubernetes.io/metadata.name``;
* a connection between pods needs the caller's egress and the callee's ingress to allow it;
  sources outside the cluster match no selector.

Its decisions are compared with an oracle written here from the intent's meaning, on every
example and on synthetic intents with every caller kind, deny rules, an open service and egress
deny. Identity in the oracle is the baseline's: a caller is the pods its labels select in its
namespace (NetworkPolicy cannot tell service accounts apart), and what NetworkPolicy cannot
enforce fails closed: a caller restricted to methods, paths or gRPC methods, and every caller of
a service requiring a JWT, must be refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml

from meshgen import load_intent, render
from tests.conftest import EXAMPLES, REPO, write_intent

NS_LABEL = "kubernetes.io/metadata.name"
GW_LABEL = "gateway.networking.k8s.io/gateway-name"

# --- a model of the cluster -----------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    """A source or destination: a pod (namespace, labels, service account) or a client outside the cluster."""

    name: str
    namespace: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    service_account: str = ""
    external: bool = False

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def pods_of(intent) -> list[Pod]:
    """One pod per service version (or per service), and one per gateway (GEP-1762 label)."""
    out = []
    for svc in intent.spec.services:
        base = dict(svc.selector or {"app": svc.name})
        for version in svc.versions or [None]:
            labels = dict(base)
            sa = svc.service_account or svc.name
            name = svc.name
            if version is not None:
                labels.update(version.labels if version.labels is not None else {"version": version.name})
                sa = version.service_account or sa
                name = f"{svc.name}/{version.name}"
            out.append(Pod(name, svc.namespace, tuple(sorted(labels.items())), sa))
    for gw in intent.spec.gateways:
        out.append(Pod(f"gateway {gw.name}", gw.namespace, ((GW_LABEL, gw.name),), f"{gw.name}-gw"))
    return out


def strangers(pods: list[Pod]) -> list[Pod]:
    """Sources no intent allows: outside clients, look-alikes in other namespaces, unlabelled pods."""
    out = [Pod("internet", external=True)]
    for pod in pods:
        out.append(Pod(f"impostor {pod.name}", "elsewhere", pod.labels, pod.service_account))
    for ns in sorted({p.namespace for p in pods}):
        out.append(Pod(f"anonymous in {ns}", ns, (("app", "stranger"),), "default"))
        out.append(Pod(f"other gateway in {ns}", ns, ((GW_LABEL, "not-in-intent"),), "other"))
    return out


# --- a model of NetworkPolicy ------------------------------------------------------------------


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """A LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist), ANDed."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(peer: dict, src: Pod, policy_ns: str) -> bool:
    if src.external:
        return False  # only ipBlock can name addresses outside the pod network; meshgen writes none
    assert "ipBlock" not in peer
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], {NS_LABEL: src.namespace}):
            return False
    elif src.namespace != policy_ns:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], src.label_map)


def port_matches(rule: dict, port: int, protocol: str) -> bool:
    if "ports" not in rule:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in rule["ports"])


def applying(policies: list[dict], pod: Pod, direction: str) -> list[dict]:
    return [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], pod.label_map)
    ]


def ingress_allows(policies: list[dict], dst: Pod, src: Pod, port: int, protocol: str = "TCP") -> bool:
    selecting = applying(policies, dst, "Ingress")
    if not selecting:
        return True
    return any(
        ("from" not in rule or any(peer_matches(peer, src, dst.namespace) for peer in rule["from"]))
        and port_matches(rule, port, protocol)
        for policy in selecting
        for rule in policy["spec"].get("ingress", [])
    )


def egress_allows(policies: list[dict], src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
    if src.external:
        return True
    selecting = applying(policies, src, "Egress")
    if not selecting:
        return True
    return any(
        ("to" not in rule or any(peer_matches(peer, dst, src.namespace) for peer in rule["to"]))
        and port_matches(rule, port, protocol)
        for policy in selecting
        for rule in policy["spec"].get("egress", [])
    )


def connects(policies: list[dict], src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
    """Whether a connection from ``src`` to ``dst``'s pod port gets through both sides' policies."""
    return egress_allows(policies, src, dst, port, protocol) and ingress_allows(policies, dst, src, port, protocol)


# --- the oracle ---------------------------------------------------------------------------------


def service_of(intent, name: str, namespace: str | None):
    return next(s for s in intent.spec.services if s.name == name and (namespace is None or s.namespace == namespace))


def caller_matches(intent, peer, src: Pod, callee) -> bool:
    """The intent's meaning of an allowFrom/denyFrom entry for one source, with label identity."""
    if src.external:
        return False
    labels = src.label_map
    if peer.gateway is not None:
        gw = intent.gateway(peer.gateway)
        return src.namespace == gw.namespace and labels.get(GW_LABEL) == gw.name
    if peer.service is not None:
        target = service_of(intent, peer.service, peer.namespace)
        wanted = [dict(target.selector or {"app": target.name})]
        if peer.versions:
            wanted = [
                wanted[0] | (v.labels if v.labels is not None else {"version": v.name})
                for v in target.versions
                if v.name in peer.versions
            ]
        return src.namespace == target.namespace and any(all(labels.get(k) == v for k, v in w.items()) for w in wanted)
    if peer.service_account is not None:
        # The intent's own workloads running as it (NetworkPolicy names them by their labels).
        return (
            src.namespace == peer.namespace
            and src.service_account == peer.service_account
            and not src.name.startswith(("impostor", "anonymous", "other gateway"))
        )
    if peer.selector is not None:
        return src.namespace == (peer.namespace or callee.namespace) and all(
            labels.get(k) == v for k, v in peer.selector.items()
        )
    return src.namespace == peer.namespace


def on_port(peer, port) -> bool:
    return not peer.ports or port.name in peer.ports or port.port in peer.ports


def gateway_routes(intent, svc) -> list[tuple[str, int]]:
    """(gateway name, Service port) of every gateway route whose backend is ``svc``."""
    out = []
    for gw in intent.spec.gateways:
        for route in gw.routes:
            if route.service == svc.name and (route.namespace or svc.namespace) == svc.namespace:
                out.append((gw.name, route.port or svc.ports[0].port))
    return out


def expected(intent, callee, port, src: Pod) -> bool:
    """Whether the intent, enforced at L4 and failing closed, lets ``src`` call ``callee`` on ``port``."""
    if any(caller_matches(intent, p, src, callee) and on_port(p, port) for p in callee.deny_from):
        return False
    routes = gateway_routes(intent, callee)
    if not callee.allow_from and not routes and not intent.spec.mesh.default_deny:
        return not src.external or not callee.deny_from
    if callee.request_authentication is not None:
        return False  # JWTs cannot be checked at L4: fail closed
    implicit = any(
        not src.external
        and src.namespace == intent.gateway(g).namespace
        and src.label_map.get(GW_LABEL) == g
        and p == port.port
        for g, p in routes
    )
    explicit = any(
        caller_matches(intent, p, src, callee) and on_port(p, port) and not p.is_l7 for p in callee.allow_from
    )
    return implicit or explicit


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
        - {service: web, versions: [v2], ports: [http]}
        - {service: web, versions: [v1], ports: [http], methods: [GET]}
        - {selector: {role: batch}, namespace: jobs, ports: [http]}
        - {namespace: ops, ports: [admin]}
        - {service: worker, ports: [admin]}
        - {serviceAccount: toolbox, namespace: ops, ports: [http]}
        - {serviceAccount: vault, namespace: ops, ports: [http]}
        - {serviceAccount: ghost, namespace: ops}
      denyFrom:
        - {selector: {tier: untrusted}, namespace: jobs}
        - {service: toolbox, ports: [http], methods: [POST]}
    - name: web
      ports: [{name: http, port: 80}]
      versions:
        - {name: v1, weight: 70}
        - {name: v2, weight: 30, labels: {track: canary}}
      allowFrom:
        - {gateway: edge}
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
    - name: vault
      namespace: ops
      ports: [{name: http, port: 8200}]
      requestAuthentication: {issuer: https://auth.example.com, jwksUri: https://auth.example.com/jwks}
      allowFrom:
        - {namespace: shop}
  gateways:
    - name: edge
      listeners: [{port: 80, protocol: HTTP}]
      routes:
        - {service: web}
"""


def _variant(doc: dict, mesh: dict) -> dict:
    out = yaml.safe_load(yaml.safe_dump(doc))
    out["metadata"]["name"] = out["metadata"]["name"] + "-" + "-".join(sorted(mesh)).lower()
    out["spec"]["mesh"] = mesh
    return out


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    base = yaml.safe_load(CALLERS)
    docs = {
        "callers": base,
        # Without defaultDeny, services without allowFrom are open; ops/toolbox keeps only its denies.
        "open": _variant(base, {"defaultDeny": False}),
        "egress-deny": _variant(base, {"egressDefaultDeny": True}),
    }
    docs["open"]["spec"]["services"][4]["denyFrom"] = [{"selector": {"role": "batch"}, "namespace": "jobs"}]
    out = []
    for path in EXAMPLES:
        intent = load_intent(path)
        out.append((path.parent.name, intent, render(intent, "kubernetes", str(path)).objects()))
    for name, doc in docs.items():
        path = write_intent(tmp_path_factory.mktemp(name), yaml.safe_dump(doc, sort_keys=False))
        intent = load_intent(path)
        out.append((name, intent, render(intent, "kubernetes", str(path)).objects()))
    return out


def _policies(objects):
    return [o for o in objects if o["kind"] == "NetworkPolicy"]


def test_every_edge_is_decided_as_the_intent_says(cases):
    checked = admitted = 0
    for name, intent, objects in cases:
        policies = _policies(objects)
        pods = pods_of(intent)
        sources = pods + strangers(pods)
        for callee in intent.spec.services:
            targets = [p for p in pods if p.name.split("/")[0] == callee.name and p.namespace == callee.namespace]
            for target in targets:
                for port in callee.ports:
                    protocol = "UDP" if port.protocol == "udp" else "TCP"
                    for src in sources:
                        if src == target:
                            continue
                        want = expected(intent, callee, port, src)
                        got = ingress_allows(policies, target, src, port.pod_port, protocol)
                        assert got is want, f"{name}: {src.name} -> {target.name}:{port.pod_port} expected {want}"
                        checked += 1
                        admitted += want
    assert checked > 1000
    assert admitted > 50


def test_ports_other_than_the_service_ports_are_refused(cases):
    for name, intent, objects in cases:
        policies = _policies(objects)
        pods = pods_of(intent)
        for callee in intent.spec.services:
            target = next(p for p in pods if p.name.split("/")[0] == callee.name and p.namespace == callee.namespace)
            unused = max(p.pod_port for p in callee.ports) + 1
            isolated = bool(applying(policies, target, "Ingress"))
            if isolated:
                for src in pods:
                    assert not ingress_allows(policies, target, src, unused), (name, src.name, callee.name)


def test_callers_spelled_out(cases):
    _, intent, objects = next(c for c in cases if c[0] == "callers")
    policies = _policies(objects)
    pods = {p.name: p for p in pods_of(intent)}
    api = pods["api"]
    assert ingress_allows(policies, api, pods["web/v2"], 8080)
    assert not ingress_allows(policies, api, pods["web/v2"], 9000)  # http only
    assert not ingress_allows(policies, api, pods["web/v1"], 8080)  # GET-only: fail closed
    assert ingress_allows(policies, api, pods["worker"], 8080)
    assert ingress_allows(policies, api, pods["worker"], 9000)
    assert not ingress_allows(policies, api, pods["scraper"], 8080)  # role=batch but denied tier=untrusted
    assert not ingress_allows(policies, api, pods["scraper"], 9000)
    # denyFrom toolbox POST on http cannot be seen at L4: toolbox is denied the whole port, although its
    # service account is allowed there; "namespace ops" still admits it on admin.
    assert not ingress_allows(policies, api, pods["toolbox"], 8080)
    assert ingress_allows(policies, api, pods["toolbox"], 9000)
    # serviceAccount vault: the pods of the intent's workload running as it, by their labels.
    assert ingress_allows(policies, api, pods["vault"], 8080)
    assert ingress_allows(policies, api, pods["vault"], 9000)
    assert not ingress_allows(policies, api, Pod("vault look-alike", "elsewhere", pods["vault"].labels, "vault"), 8080)
    web = pods["web/v1"]
    assert ingress_allows(policies, web, pods["gateway edge"], 80)
    assert not ingress_allows(policies, web, Pod("internet", external=True), 80)
    vault = pods["vault"]
    assert not ingress_allows(policies, vault, pods["web/v1"], 8200)  # JWT: fail closed


def test_gateway_pods_accept_clients_on_their_listener_ports_only(cases):
    for name, intent, objects in cases:
        policies = _policies(objects)
        for gw in intent.spec.gateways:
            pod = Pod(f"gateway {gw.name}", gw.namespace, ((GW_LABEL, gw.name),))
            internet = Pod("internet", external=True)
            for lst in gw.listeners:
                assert ingress_allows(policies, pod, internet, lst.port), (name, gw.name, lst.port)
            assert not ingress_allows(policies, pod, internet, 1) or not applying(policies, pod, "Ingress"), name


def test_egress_deny_keeps_dns_and_in_cluster_calls_only(cases):
    _, intent, objects = next(c for c in cases if c[0] == "egress-deny")
    policies = _policies(objects)
    pods = pods_of(intent)
    dns = Pod("coredns", "kube-system", (("k8s-app", "kube-dns"),))
    outside = Pod("api.stripe.com", external=True)
    for src in pods:
        if src.namespace not in {s.namespace for s in intent.spec.services}:
            continue
        assert egress_allows(policies, src, dns, 53, "UDP"), src.name
        assert egress_allows(policies, src, dns, 53, "TCP"), src.name
        for dst in pods:
            assert egress_allows(policies, src, dst, 8080), (src.name, dst.name)
    # Outside addresses are refused: an external destination matches no namespaceSelector.
    workload = next(p for p in pods if p.name == "api")
    assert not egress_allows(policies, workload, outside, 443)
    # And every edge the intent allows still connects end to end.
    checked = 0
    for callee in intent.spec.services:
        for target in (p for p in pods if p.name.split("/")[0] == callee.name and p.namespace == callee.namespace):
            for port in callee.ports:
                for src in pods:
                    if src != target and expected(intent, callee, port, src):
                        assert connects(policies, src, target, port.pod_port), (src.name, target.name)
                        checked += 1
    assert checked > 5


def test_bookinfo_fails_closed_but_keeps_the_edge(cases):
    _, intent, objects = next(c for c in cases if c[0] == "bookinfo")
    policies = _policies(objects)
    pods = {p.name: p for p in pods_of(intent)}
    # Every allowFrom in Bookinfo names methods or paths: refused at L4 until widening is chosen explicitly.
    assert not ingress_allows(policies, pods["details/v1"], pods["productpage"], 9080)
    assert not ingress_allows(policies, pods["reviews/v1"], pods["productpage"], 9080)
    assert not ingress_allows(policies, pods["ratings/v1"], pods["reviews/v2"], 9080)
    assert ingress_allows(policies, pods["productpage"], pods["gateway public"], 9080)
    assert not ingress_allows(policies, pods["productpage"], pods["reviews/v1"], 9080)
    assert not ingress_allows(policies, pods["productpage"], Pod("internet", external=True), 9080)


def test_model_reads_the_documented_examples():
    """The model against the NetworkPolicy documentation's own cases, so it can fail on its own."""
    deny_all = {"metadata": {"namespace": "a"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    allow_ns = {
        "metadata": {"namespace": "a"},
        "spec": {
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {NS_LABEL: "b"}},
                            "podSelector": {"matchLabels": {"app": "x"}},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 6379}],
                }
            ],
        },
    }
    db = Pod("db", "a", (("role", "db"),))
    x_in_b = Pod("x", "b", (("app", "x"),))
    y_in_b = Pod("y", "b", (("app", "y"),))
    x_in_a = Pod("x", "a", (("app", "x"),))
    assert ingress_allows([], db, x_in_b, 6379)  # nothing selects it: not isolated
    assert not ingress_allows([deny_all], db, x_in_b, 6379)
    assert ingress_allows([deny_all, allow_ns], db, x_in_b, 6379)  # union of allows
    assert not ingress_allows([deny_all, allow_ns], db, x_in_b, 6380)
    assert not ingress_allows([deny_all, allow_ns], db, y_in_b, 6379)
    assert not ingress_allows([deny_all, allow_ns], db, x_in_a, 6379)  # both selectors in one element: AND
    pod_only = {
        "metadata": {"namespace": "a"},
        "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "x"}}}]}]},
    }
    assert ingress_allows([pod_only], db, x_in_a, 1)  # podSelector alone: the policy's namespace
    assert not ingress_allows([pod_only], db, x_in_b, 1)
    assert selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["u"]}]}, {})
    assert not selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["u"]}]}, {"tier": "u"})


def test_examples_are_covered(cases):
    names = {c[0] for c in cases}
    assert {p.parent.name for p in EXAMPLES} <= names
    assert REPO.is_dir()
