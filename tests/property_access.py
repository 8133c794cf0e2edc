"""Random access-control intents, a reference reading of them, and the platform simulators behind one call.

Shared by tests/test_property_admits.py (issue 12). Three parts:

* :func:`access_intents`: a hypothesis strategy of VALID intent documents focused on access
  control: 2-5 services in 1-2 namespaces, service accounts (some shared, some per version),
  http/grpc/tcp ports, ``allowFrom`` and ``denyFrom`` entries of every caller kind (gateways
  included) with ports, methods, paths and gRPC methods, 0-2 gateways routing to services,
  service routes with header and path matches, ``defaultDeny`` true/false, ``mtls``
  strict/permissive, optional ``requestAuthentication``.
* :func:`intent_admits`: the reference. It reads the intent MODEL (pydantic objects) with the
  meaning its field descriptions and the README document, never meshgen's planning code
  (:mod:`meshgen.platforms.identity` is not imported here).
* :data:`SIMULATORS`: for each simulated platform, a function from rendered objects to a judge of
  one request, wrapping the semantic simulators the platform tests already use (imported, not copied).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from hypothesis import strategies as st

from meshgen.intent.model import MeshIntent, Peer, Port, Service
from meshgen.loader import parse_intent
from tests.platforms import ambient_sim, consul_sim, istio_sim, linkerd_sim
from tests.platforms import test_cilium_semantics as cilium_sim
from tests.platforms import test_kubernetes_semantics as kubernetes_sim

ISSUER = "https://issuer.example.com"
NAMESPACES = ("shop", "ops")
OUTSIDE_SA = "robot"  # a service account outside the intent, named by serviceAccount callers
SELECTOR = {"role": "batch"}  # labels some intent workloads carry, and a pod outside the intent too
PATHS = ("/api/*", "/health", "*.json", "/pkg.Orders/*", "/pkg.Orders/Get")
METHODS = ("GET", "POST")
GRPC = ({"service": "pkg.Orders"}, {"service": "pkg.Orders", "methods": ["Get"]})


# --- the strategy -----------------------------------------------------------------------------


@st.composite
def access_intents(draw) -> dict[str, Any]:
    """A valid MeshIntent document (plain dict) exercising every allowFrom caller kind."""
    n = draw(st.integers(2, 5))
    namespaces = NAMESPACES[: draw(st.integers(1, 2))]
    services: list[dict[str, Any]] = []
    for i in range(n):
        svc: dict[str, Any] = {"name": f"s{i}", "namespace": draw(st.sampled_from(namespaces))}
        sa = draw(st.sampled_from([None, "shared", "other"]))
        if sa is not None:
            svc["serviceAccount"] = sa
        if draw(st.booleans()):
            svc["selector"] = {"app": f"s{i}", **SELECTOR}
        protocols = draw(st.lists(st.sampled_from(["http", "grpc", "tcp"]), min_size=1, max_size=2, unique=True))
        svc["ports"] = [{"name": f"{p}-{j}", "port": 8000 + j, "protocol": p} for j, p in enumerate(protocols)]
        if draw(st.booleans()):
            v2_sa = draw(st.sampled_from([None, "canary"]))
            v2 = {"name": "v2", "weight": 10} | ({"serviceAccount": v2_sa} if v2_sa else {})
            svc["versions"] = [{"name": "v1", "weight": 90}, v2]
        if draw(st.integers(0, 3)) == 0:
            svc["requestAuthentication"] = {"issuer": ISSUER, "jwksUri": f"{ISSUER}/jwks"}
        services.append(svc)
        if svc.get("versions") and any(p["protocol"] != "tcp" for p in svc["ports"]) and draw(st.booleans()):
            # Header and path matches steer requests between versions; they must not change who is admitted.
            match = draw(st.sampled_from([{"headers": {"x-canary": {"exact": "1"}}}, {"path": {"prefix": "/api"}}]))
            svc["routes"] = [{"match": match, "version": "v2"}]
    gateways = []
    for k in range(draw(st.integers(0, 2))):
        backend = draw(st.sampled_from(services))
        gateways.append(
            {
                "name": f"gw{k}",
                "namespace": draw(st.sampled_from(namespaces)),
                # Explicit: the gateway pods' identity is then the same on every platform that has pods.
                "serviceAccount": f"gw{k}",
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
                "routes": [
                    {"service": backend["name"], "namespace": backend["namespace"]}
                    | draw(st.sampled_from([{}, {"match": {"path": {"prefix": "/api"}}}]))
                ],
            }
        )
    for svc in services:
        peers = draw(st.lists(_peer(services, gateways, svc, namespaces), max_size=3))
        if peers:
            svc["allowFrom"] = peers
        denied = draw(st.lists(_peer(services, gateways, svc, namespaces), max_size=1))
        if denied:
            svc["denyFrom"] = denied
    mesh = {"mtls": draw(st.sampled_from(["strict", "permissive"])), "defaultDeny": draw(st.booleans())}
    spec: dict[str, Any] = {"mesh": mesh, "defaults": {"namespace": namespaces[0]}, "services": services}
    if gateways:
        spec["gateways"] = gateways
    return {"apiVersion": "meshgen.dev/v1alpha1", "kind": "MeshIntent", "metadata": {"name": "prop"}, "spec": spec}


def _peer(
    services: list[dict[str, Any]], gateways: list[dict[str, Any]], callee: dict[str, Any], namespaces
) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw) -> dict[str, Any]:
        kinds = ["service", "namespace", "serviceAccount", "selector"] + (["gateway"] if gateways else [])
        kind = draw(st.sampled_from(kinds))
        peer: dict[str, Any]
        if kind == "gateway":
            peer = {"gateway": draw(st.sampled_from(gateways))["name"]}
        elif kind == "service":
            caller = draw(st.sampled_from(services))
            peer = {"service": caller["name"]}
            if caller.get("versions") and draw(st.booleans()):
                peer["versions"] = [draw(st.sampled_from(["v1", "v2"]))]
        elif kind == "namespace":
            peer = {"namespace": draw(st.sampled_from(namespaces))}
        elif kind == "serviceAccount":
            peer = {"serviceAccount": draw(st.sampled_from([OUTSIDE_SA, "shared"])), "namespace": draw(st.sampled_from(namespaces))}
        else:
            peer = {"selector": dict(SELECTOR)}
            if draw(st.booleans()):
                peer["namespace"] = draw(st.sampled_from(namespaces))
        l7 = [p["name"] for p in callee["ports"] if p["protocol"] != "tcp"]
        if l7 and draw(st.booleans()):
            # methods and paths only apply to http/grpc ports: name those ports only.
            peer["ports"] = l7
            if draw(st.booleans()):
                peer["methods"] = draw(st.lists(st.sampled_from(METHODS), min_size=1, unique=True))
            if draw(st.booleans()):
                peer["paths"] = draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=2, unique=True))
            elif any(name.startswith("grpc") for name in l7) and draw(st.booleans()):
                peer["grpc"] = draw(st.sampled_from(GRPC))
        elif draw(st.booleans()):
            peer["ports"] = [draw(st.sampled_from(callee["ports"]))["name"]]
        return peer

    return build()


def load(doc: dict[str, Any]) -> MeshIntent:
    """Validate a generated document as ``meshgen render`` would (raises IntentError)."""
    return parse_intent(yaml.safe_dump(doc, sort_keys=False), Path("intent.yaml"))


# --- who calls ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A pod that sends a request: its namespace, service account and labels; ``plaintext`` = no sidecar/mTLS."""

    name: str
    namespace: str
    service_account: str
    labels: tuple[tuple[str, str], ...]
    service: str | None = None  # the intent service it belongs to, if any
    version: str | None = None
    plaintext: bool = False
    gateway: str | None = None  # the intent gateway whose pods these are


def _version_labels(svc: Service, version) -> dict[str, str]:
    # Model: Version.labels "Pod labels of this version. Default {version: <name>}".
    extra = {} if version is None else (version.labels if version.labels is not None else {"version": version.name})
    return {**svc.pod_selector, **extra}


def workloads(intent: MeshIntent) -> list[Caller]:
    """One caller per service version (or service): model defaults serviceAccount = name, selector {app: name}."""
    out = []
    for svc in intent.spec.services:
        for version in svc.versions or [None]:
            sa = (version.service_account if version is not None else None) or svc.service_account or svc.name
            labels = tuple(sorted(_version_labels(svc, version).items()))
            name = svc.name + (f"/{version.name}" if version is not None else "")
            out.append(Caller(name, svc.namespace, sa, labels, svc.name, version.name if version else None))
    return out


def callers(intent: MeshIntent) -> list[Caller]:
    """Every workload, pods outside the intent that allowFrom entries name, impostors, and plaintext pods."""
    inside = workloads(intent)
    out = list(inside)
    for ns in NAMESPACES + ("elsewhere",):
        out.append(Caller(f"robot in {ns}", ns, OUTSIDE_SA, (("app", "robot"),)))
        out.append(Caller(f"batch pod in {ns}", ns, "default", tuple(sorted({"app": "job", **SELECTOR}.items()))))
        out.append(Caller(f"anonymous in {ns}", ns, "default", (("app", "stranger"),)))
    for pod in inside:
        out.append(Caller(f"impostor {pod.name}", "elsewhere", pod.service_account, pod.labels))
    for gw in intent.spec.gateways:
        # Gateway API implementations label their pods gateway.networking.k8s.io/gateway-name (GEP-1762);
        # the strategy names the service account, so it is the same everywhere.
        labels = (("gateway.networking.k8s.io/gateway-name", gw.name),)
        out.append(Caller(f"gateway {gw.name}", gw.namespace or "", gw.service_account or gw.name, labels, gateway=gw.name))
    if intent.spec.mesh.mtls == "permissive":
        out += [Caller(f"plaintext {c.name}", c.namespace, c.service_account, c.labels, c.service, c.version, True) for c in inside[:2]]
    return out


# --- the reference ------------------------------------------------------------------------------


def _glob(pattern: str, path: str) -> bool:
    """Peer.paths: "exact (/a), prefix (/a/*), or suffix (*.png)", on the path without its query."""
    path = path.split("?", 1)[0]
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return path.endswith(pattern[1:])
    return path == pattern


def _is_caller(intent: MeshIntent, peer: Peer, callee: Service, c: Caller, *, deny: bool = False) -> bool:
    """Whether ``c`` is the caller ``peer`` names; ``deny``: read narrowly (the bound is an upper one)."""
    labels = dict(c.labels)
    if peer.gateway is not None:
        return c.gateway == peer.gateway
    if peer.service is not None:
        svc = next(s for s in intent.spec.services if s.name == peer.service and (peer.namespace in (None, s.namespace)))
        chosen = [
            w
            for w in workloads(intent)
            if w.service == svc.name and w.namespace == svc.namespace and (not peer.versions or w.version in peer.versions)
        ]
        accounts = {w.service_account for w in chosen}
        if c.namespace != svc.namespace:
            return False
        if deny:
            # What a denyFrom service entry certainly denies is that service's own pods.
            return c.service == svc.name and (not peer.versions or c.version in peer.versions)
        if c.service == svc.name or peer.versions:
            # "Only these versions of `service`": exactly the pods of those versions, never the
            # service's other versions nor another service, even when they share the service
            # account (issue 12).
            return c.service == svc.name and any(c.version == w.version for w in chosen)
        # Another service (or any pod) running as the caller's identity: analyzer MG204 documents that
        # "several services run as one service account: allow-lists cannot tell them apart"
        # (docs/analyzers.md#mg204), so the intent's service caller is that identity.
        return c.service_account in accounts
    if peer.service_account is not None:
        return c.namespace == peer.namespace and c.service_account == peer.service_account
    if peer.selector is not None:
        # "Workloads carrying these labels (with namespace)", default namespace: the callee's.
        ns = peer.namespace or callee.namespace
        return c.namespace == ns and all(labels.get(k) == v for k, v in peer.selector.items())
    return c.namespace == peer.namespace  # "Alone: any workload of this namespace"


def _request_ok(peer: Peer, port: Port, method: str, path: str) -> bool:
    if peer.ports and port.name not in peer.ports and port.port not in peer.ports:
        return False
    if not port.is_l7:
        return True  # the strategy only writes methods/paths with http/grpc ports named
    if peer.methods and method not in peer.methods:
        return False
    # Peer.grpc: "Only these gRPC methods (grpc ports only)"; GrpcMethods: every method when none is named.
    if peer.grpc is not None:
        if port.protocol != "grpc":
            return False
        _, service, name = path.split("/")
        if service != peer.grpc.service or (peer.grpc.methods and name not in peer.grpc.methods):
            return False
    return not peer.paths or any(_glob(p, path) for p in peer.paths)


def _routed_from(intent: MeshIntent, caller: Caller, callee: Service, port: Port) -> bool:
    """Whether one of the caller's gateways routes to this port of the callee.

    A gateway route is intent that the gateway may call its backend (GatewayRoute.port: "Service
    port. Default: the service's first port"), whatever the backend's allowFrom says.
    """
    gw = intent.gateway(caller.gateway) if caller.gateway else None
    if gw is None:
        return False
    for route in gw.routes:
        if route.service != callee.name or route.namespace not in (None, callee.namespace):
            continue
        if (route.port or callee.ports[0].port) == port.port:
            return True
    return False


def intent_admits(
    intent: MeshIntent, caller: Caller, callee: Service, port: Port, method: str, path: str, token: bool
) -> bool:
    """Whether the intent admits the request (an upper bound every platform must stay under).

    * ``mesh.mtls: strict`` refuses plaintext callers (README, "mtls: strict | permissive").
    * ``requestAuthentication``: "Require a valid JWT from this issuer on every request".
    * ``denyFrom``: "Callers always denied, evaluated before allowFrom".
    * a gateway route admits its gateway to the backend port (see :func:`_routed_from`).
    * ``allowFrom``: "Who may call this service; under mesh.defaultDeny all else is denied", and a
      service with allowFrom admits nobody else either way (MG202: "defaultDeny: false lets every
      caller reach services that have no allowFrom").
    """
    if caller.plaintext and intent.spec.mesh.mtls == "strict":
        return False
    if callee.request_authentication is not None and not token:
        return False
    if any(_is_caller(intent, p, callee, caller, deny=True) and _request_ok(p, port, method, path) for p in callee.deny_from):
        return False
    if _routed_from(intent, caller, callee, port):
        return True
    if not callee.allow_from:
        return not intent.spec.mesh.default_deny
    return any(_is_caller(intent, p, callee, caller) and _request_ok(p, port, method, path) for p in callee.allow_from)


def requests(callee: Service, port: Port) -> list[tuple[str, str]]:
    """(method, path) samples for a port: inside and outside every pattern the callee's entries use."""
    if not port.is_l7:
        return [("GET", "/")]
    if port.protocol == "grpc":
        return [("POST", "/pkg.Orders/Get"), ("POST", "/pkg.Orders/List"), ("POST", "/pkg.Other/Get")]
    out = [("GET", "/"), ("DELETE", "/admin")]
    for peer in callee.allow_from:
        for p in peer.paths:
            sample = p.replace("*", "x") if not p.startswith("*") else "/dir/file" + p[1:]
            out += [("GET", sample), ("POST", sample), ("PUT", sample + "/more"), ("GET", sample + "?q=1")]
    return sorted(set(out))


# --- the simulators -----------------------------------------------------------------------------

#: judge(caller, callee, version labels, port, method, path, token) -> admitted?
Judge = Callable[[Caller, Service, dict[str, str], Port, str, str, bool], bool]


def _istio(objects: list[dict[str, Any]], intent: MeshIntent) -> Judge:
    mesh = istio_sim.Mesh(objects)
    td = intent.spec.mesh.trust_domain

    def judge(c, callee, labels, port, method, path, token):
        peer = istio_sim.PLAINTEXT if c.plaintext else istio_sim.principal(td, c.namespace, c.service_account)
        jwt = istio_sim.Token(iss=ISSUER) if token else None
        return bool(mesh.admits(peer, f"{callee.namespace}/{callee.name}", port.port, method, path, labels=labels, token=jwt))

    return judge


def _ambient(objects: list[dict[str, Any]], intent: MeshIntent) -> Judge:
    mesh = ambient_sim.Mesh(objects, intent.spec.mesh.trust_domain)

    def judge(c, callee, labels, port, method, path, token):
        who = ambient_sim.Caller(c.name, c.namespace, c.service_account, c.labels)
        req = ambient_sim.Request(method, path, jwt=token)
        # Through the Service (its waypoint, if any), or straight to the pod IP, which skips the waypoint.
        return mesh.call_service(who, callee.namespace, callee.name, port.port, labels, req) or mesh.call_pod(
            who, callee.namespace, labels, port.pod_port, req
        )

    return judge


def _linkerd(objects: list[dict[str, Any]], intent: MeshIntent) -> Judge:
    td = intent.spec.mesh.trust_domain

    def judge(c, callee, labels, port, method, path, token):
        if port.protocol == "grpc":
            _, service, name = path.split("/")
            req = {"service": service, "method": name}
        else:
            req = {"method": method, "path": path.split("?", 1)[0]}
        result = linkerd_sim.inbound(objects, callee.namespace, labels, port.pod_port, req)
        identity = linkerd_sim.UNAUTHENTICATED if c.plaintext else f"{c.service_account}.{c.namespace}.serviceaccount.identity.linkerd.{td}"
        return linkerd_sim.admits(result, identity)

    return judge


def _cilium(objects: list[dict[str, Any]], intent: MeshIntent) -> Judge:
    policies = [o for o in objects if o["kind"] == "CiliumNetworkPolicy"]

    def judge(c, callee, labels, port, method, path, token):
        # Cilium's own gateways have no pods: their Envoy sends as the reserved ingress identity.
        if c.gateway is not None:
            src = cilium_sim.Source(c.name, entity="ingress")
        else:
            src = cilium_sim.Source(c.name, c.namespace, c.service_account, c.labels)
        return cilium_sim.admits(policies, callee.namespace, labels, src, port.pod_port, method, path)

    return judge


def _kubernetes(objects: list[dict[str, Any]], intent: MeshIntent) -> Judge:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]

    def judge(c, callee, labels, port, method, path, token):
        src = kubernetes_sim.Pod(c.name, c.namespace, c.labels, c.service_account)
        dst = kubernetes_sim.Pod(callee.name, callee.namespace, tuple(sorted(labels.items())), callee.identity)
        return kubernetes_sim.ingress_allows(policies, dst, src, port.pod_port)

    return judge


def _consul(objects: list[dict[str, Any]], intent: MeshIntent) -> Judge | Callable[..., bool | None]:
    """Consul's decision (tests/platforms/consul_sim.py) for pods, from Consul's documented model.

    https://developer.hashicorp.com/consul/docs/connect/intentions: intentions "control traffic
    communication between services", by the identity in the mTLS certificate (L4) and, for
    HTTP-based destinations, by request attributes (L7); one intention, the one of highest
    precedence (exact before ``*``), applies to a caller, its L7 permissions in order, and what
    none admits gets the default intention policy (consul_sim documents each rule). So a pod is
    asked as its Consul service name: an intent workload as its service (consul-k8s registers
    the Kubernetes Service that selects it), a gateway of class consul as the Gateway's name, any
    other pod as its service account (with ACLs the two must be equal), all in Consul CE's one
    namespace. Only pods of injected namespaces (the Namespace label meshgen's Helm values select)
    have a sidecar and a certificate.

    Returns None (not judged) where the model stops: plaintext callers (permissive mTLS mode is not
    modelled) and ports other than the one Consul CE registers.
    """
    injected = {
        o["metadata"]["name"]
        for o in objects
        if o["kind"] == "Namespace" and "meshgen.dev/consul-inject" in (o["metadata"].get("labels") or {})
    }
    strict = intent.spec.mesh.mtls == "strict"
    jwt_on = {
        o["spec"]["destination"]["name"]
        for o in objects
        if o["kind"] == "ServiceIntentions" and (o["spec"].get("jwt") or {}).get("providers")
    }

    def judge(c, callee, labels, port, method, path, token):
        if c.plaintext or c.namespace not in injected:
            return False if strict else None
        if port.name != callee.ports[0].name:
            return None
        if callee.name in jwt_on and not token:
            return False
        source = c.gateway or c.service or c.service_account
        req = consul_sim.Request(source, callee.name, method, path.split("?", 1)[0])
        return consul_sim.decide(objects, req, acl_default_allow=True)

    return judge


#: Platforms whose rendered access rules a simulator reads back, by registry name.
SIMULATORS: dict[str, Callable[[list[dict[str, Any]], MeshIntent], Judge]] = {
    "istio": _istio,
    "istio-ambient": _ambient,
    "linkerd": _linkerd,
    "cilium": _cilium,
    "kubernetes": _kubernetes,
    "consul": _consul,
}

#: Simulators that cannot tell a plaintext caller from its pod: the identity they check is the pod's
#: labels (Cilium, NetworkPolicy) or ztunnel's (ambient: every pod in the mesh is captured), so the
#: plaintext callers of a permissive mesh are only asked of the sidecar meshes.
NO_PLAINTEXT = ("istio-ambient", "cilium", "kubernetes")
