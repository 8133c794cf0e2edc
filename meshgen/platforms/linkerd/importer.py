"""Linkerd manifests -> an intent: the inverse of :mod:`meshgen.platforms.linkerd.platform` and
:mod:`meshgen.platforms.linkerd.authorization`.

Read: Namespace (``config.linkerd.io/default-inbound-policy`` -> ``mesh.mtls``/``defaultDeny``),
Service (ports; ``balancer.linkerd.io/failure-accrual*`` -> ``circuitBreaker``; the per-version
Services meshgen labels ``meshgen.dev/version-of`` -> ``versions``), Deployment (service account,
replicas), GAMMA ``HTTPRoute``/``GRPCRoute`` on a Service (weights, header routes,
``timeout.linkerd.io/*`` and ``retry.linkerd.io/*`` annotations), ``Server``,
``AuthorizationPolicy``, ``MeshTLSAuthentication``, ``NetworkAuthentication``,
``ServerAuthorization``, routes on a Server (allow-lists), ``HTTPLocalRateLimitPolicy``
(``rateLimit``), ``EgressNetwork`` (``mesh.egressDefaultDeny``), ``ServiceProfile``
(``retryBudget``; its per-route timeouts and retries are reported), Gateway API gateways.

How ambiguity is resolved, as the data plane would
(https://linkerd.io/2.19/reference/authorization-policy/, https://linkerd.io/2.19/reference/retries/,
https://linkerd.io/2.19/reference/timeouts/):

- A port no ``Server`` covers takes the namespace's default inbound policy; without the
  annotation, the cluster default ``all-unauthenticated`` (``mesh.mtls: permissive``).
- A ``Server`` admits only what an ``AuthorizationPolicy`` (or ``ServerAuthorization``) on it or
  on one of its routes admits: a Server without authorizations denies. A service whose Server
  denies and whose callers cannot be named stays closed (``mesh.defaultDeny``), never opened.
- Authentications the intent cannot name (``NetworkAuthentication`` other than probes, identity
  ``*``, ``identityRefs`` of other kinds) drop that authorization: fewer callers admitted.
- A route's retry annotations replace the Service's wholesale and a route's timeout wins over the
  Service's (policy controller ``outbound`` index), so the route object's annotations are read.
  A ServiceProfile switches route annotations off in Linkerd 2.18+; its routes are reported.
- Identities ``<sa>.<ns>.serviceaccount.identity.linkerd.<td>`` name the service whose pods run
  as ``sa`` (a Deployment, the ``<callee>-<caller service>`` name meshgen gives the
  ``MeshTLSAuthentication``, a service named ``sa``), else ``serviceAccount`` + ``namespace``;
  ``*.<ns>...`` is the whole namespace.
"""

from __future__ import annotations

import re
from typing import Any

from meshgen.importing.delivery import read_rollouts
from meshgen.importing.common import APP_PROTOCOLS, check_keys, number
from meshgen.importing.findings import APPROXIMATED
from meshgen.importing.gateway_api import ROUTE_KINDS, MeshRouteReader, import_gateways, is_version_service
from meshgen.importing.model import Imported
from meshgen.importing.reader import SourceObject
from meshgen.importing.workloads import WorkloadRun, managed
from meshgen.platforms.base import object_name
from meshgen.platforms.linkerd import operations_import

LINKERD_GROUPS = frozenset({"policy.linkerd.io", "linkerd.io"})
GATEWAY_GROUP = "gateway.networking.k8s.io"
#: Server proxyProtocol -> intent protocol (the inverse of authorization.PROXY_PROTOCOL).
PROXY_PROTOCOLS = {"HTTP/1": "http", "HTTP/2": "http2", "gRPC": "grpc", "opaque": "tcp", "TLS": "tls"}
#: retry.linkerd.io/http element -> intent retryOn (the inverse of platform._HTTP_RETRY).
HTTP_RETRY = {"5xx": "5xx", "gateway-error": "gateway-error", "409": "retriable-4xx"}
GRPC_RETRY = ("cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable")
IDENTITY = re.compile(r"(?P<sa>\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.serviceaccount\.identity\.linkerd\.(?P<td>.+)")
#: Service annotations meshgen writes (read here or implied by the ports' protocols).
SERVICE_ANNOTATIONS = {
    "balancer.linkerd.io/failure-accrual", "balancer.linkerd.io/failure-accrual-consecutive-max-failures",
    "balancer.linkerd.io/failure-accrual-consecutive-min-penalty", "balancer.linkerd.io/failure-accrual-consecutive-max-penalty",
    "config.linkerd.io/opaque-ports",
}
ROUTE_ANNOTATIONS = {"timeout.linkerd.io/request", "retry.linkerd.io/http", "retry.linkerd.io/grpc", "retry.linkerd.io/limit", "retry.linkerd.io/timeout"}


class LinkerdImporter:
    """Reads Linkerd 2.18/2.19 manifests (policy.linkerd.io, GAMMA routes, linkerd.io ServiceProfile)."""

    groups = LINKERD_GROUPS
    gateway_class = None

    def run(self, objects: list[SourceObject]) -> Imported:
        """Objects -> intent data and findings (see the module docstring for the rules). Pure."""
        return _Run(objects).result


class _Run(WorkloadRun):
    platform = "linkerd"
    # Linkerd has no Telemetry API and meshgen writes no ReferenceGrant for it: those kinds are
    # another tool's here, reported not understood.
    operations_kinds = frozenset({"PodMonitor", "ServiceMonitor", "PrometheusRule", "Kustomization"})

    def __init__(self, objects: list[SourceObject]) -> None:
        super().__init__(objects)
        read_rollouts(self, frozenset(ROUTE_ANNOTATIONS))  # Flagger's Canary and what meshgen left to Flagger (importing/delivery.py)
        self.gamma = MeshRouteReader(self)
        self.closed: set[tuple[str, str]] = set()
        self.closing: dict[tuple[str, str], SourceObject] = {}
        self.accounts: dict[tuple[str, str], tuple[str, str]] | None = None
        self.by_label: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
        self._app_name(objects)
        self._namespaces()
        self._services()
        self._deployments()
        self._service_accounts()
        self.gamma.versions()
        self._mesh_routes()
        gateways, used = import_gateways(
            self.take("Gateway", group=GATEWAY_GROUP),
            [o for k in ROUTE_KINDS for o in self.by_kind.get(k, []) if o.group == GATEWAY_GROUP and id(o) not in self.handled],
            "",
            self.f,
            self.home,
            set(self.services),
        )
        self.handled.update(id(o) for o in used)
        self._authorization()
        self._rate_limits()
        self._service_profiles()
        egress = self._egress()
        operations_import.read_back(self)
        self._leftovers(objects)
        self._spec(gateways, egress)

    # --- Namespace, Service, Deployment --------------------------------------------------

    def _namespaces(self) -> None:
        policies = []
        for obj in self.take("Namespace"):
            annotations = obj.metadata.get("annotations") or {}
            for key in annotations:
                if key == "config.linkerd.io/access-log" and managed(obj):
                    continue  # telemetry.accessLogs, read by operations_import
                elif key not in ("config.linkerd.io/default-inbound-policy", "linkerd.io/inject"):
                    self.f.lost(obj, ("metadata", "annotations", key), f"annotation {key} has no equivalent in the intent; dropped")
            if annotations.get("linkerd.io/inject", "enabled") != "enabled":
                self.f.approximated(obj, ("metadata", "annotations"), "proxy injection is not enabled here; the intent's services are always in the mesh")
            policies.append((obj, str(annotations.get("config.linkerd.io/default-inbound-policy", "all-unauthenticated"))))
        chosen = {p for _, p in policies}
        # The most closed policy wins when namespaces differ (fail closed).
        rank = ["deny", "audit", "cluster-authenticated", "all-authenticated", "cluster-unauthenticated", "all-unauthenticated"]
        policy = min(chosen, key=lambda p: rank.index(p) if p in rank else 0) if chosen else "all-unauthenticated"
        if len(chosen) > 1:
            for obj, _ in policies:
                self.f.approximated(obj, ("metadata", "annotations"), f"default inbound policies differ between namespaces; the intent's mesh-wide one is {policy}")
        if not policies:
            first = next(iter(self.by_kind.get("Service", [])), None)
            if first is not None:
                self.f.approximated(first, (), "no Namespace: Linkerd's cluster default inbound policy all-unauthenticated is assumed (mesh.mtls permissive)")
        self.mesh["mtls"] = "permissive" if policy in ("all-unauthenticated", "cluster-unauthenticated") else "strict"
        self.mesh["defaultDeny"] = policy in ("deny", "audit")
        if policy == "audit":
            self.mesh["enforcement"] = "audit"
        if policy.startswith("cluster-"):
            for obj, p in policies:
                if p == policy:
                    self.f.approximated(obj, ("metadata", "annotations", "config.linkerd.io/default-inbound-policy"),
                                        f"{p} (callers from the cluster networks only) is imported as {policy.replace('cluster', 'all')}")

    def _prepare_ports(self) -> None:
        self._servers: dict[tuple[str, str], list[tuple[dict, str]]] = {}  # (namespace, port number or name) -> (matchLabels, proxyProtocol)
        for srv in self.by_kind.get("Server", []):
            match = {str(k): str(v) for k, v in ((srv.spec.get("podSelector") or {}).get("matchLabels") or {}).items()}
            self._servers.setdefault((self.ns(srv), str(srv.spec.get("port"))), []).append((match, str(srv.spec.get("proxyProtocol") or "")))

    def _port_hint(self, key: tuple[str, str], selector: dict[str, str], target: Any, name: str) -> str | None:
        """The ``proxyProtocol`` of the Server for this port of the service's pods, if any."""
        candidates = self._servers.get((key[0], str(target)), []) + self._servers.get((key[0], name), [])
        return next((proto for match, proto in candidates if all(selector.get(a) == b for a, b in match.items())), None)

    def _skip_service(self, obj: SourceObject) -> bool:
        return is_version_service(obj)  # read by MeshRouteReader.versions

    def _service_read(self, obj: SourceObject, svc: dict[str, Any]) -> None:
        self._failure_accrual(obj, svc)

    def _protocol(self, obj: SourceObject, path: tuple, port: dict, proxy_protocol: str | None) -> str:
        if str(port.get("protocol", "TCP")) == "UDP":
            return "udp"
        app = port.get("appProtocol")
        if app in APP_PROTOCOLS:
            return APP_PROTOCOLS[str(app)]
        if proxy_protocol in PROXY_PROTOCOLS:
            return PROXY_PROTOCOLS[proxy_protocol]
        self.f.approximated(obj, path, "no appProtocol and no Server proxyProtocol: Linkerd detects the protocol; imported as tcp")
        return "tcp"

    def _failure_accrual(self, obj: SourceObject, svc: dict) -> None:
        annotations = obj.metadata.get("annotations") or {}
        for key in annotations:
            if key not in SERVICE_ANNOTATIONS:
                self.f.lost(obj, ("metadata", "annotations", key), f"annotation {key} has no equivalent in the intent; dropped")
        if annotations.get("balancer.linkerd.io/failure-accrual") != "consecutive":
            return
        cb: dict[str, Any] = {}
        if "balancer.linkerd.io/failure-accrual-consecutive-max-failures" in annotations:
            cb["consecutiveErrors"] = int(annotations["balancer.linkerd.io/failure-accrual-consecutive-max-failures"])
        penalty = annotations.get("balancer.linkerd.io/failure-accrual-consecutive-min-penalty")
        if penalty:
            cb["baseEjectionTime"] = str(penalty)
        if not cb:
            cb["consecutiveErrors"] = 7  # Linkerd's default (https://linkerd.io/2.19/reference/circuit-breaking/)
            self.f.approximated(obj, ("metadata", "annotations"), "failure accrual with Linkerd's default of 7 consecutive failures")
        svc["circuitBreaker"] = cb

    # --- GAMMA routes --------------------------------------------------------------------

    def _mesh_routes(self) -> None:
        """Routes whose parent is a Service (GAMMA, :class:`~meshgen.importing.gateway_api.MeshRouteReader`):
        one object per L7 port (``<svc>`` or ``<svc>-<port>``), plus ``<base>-<route>`` objects for
        routes with their own policy (Linkerd's annotations, :meth:`_policy`)."""
        for key, primaries, own in self.gamma.by_service():
            svc = self.services[key]
            routes: list[dict[str, Any]] = []
            retries: list[dict[str, Any]] = []
            split = None
            for obj in primaries:
                self.source(key, obj)
                timeout, retry = self._policy(obj)
                if timeout is not None:
                    svc["timeout"] = timeout
                if retry is not None:
                    retries.append(retry)
                parsed, weights, _ = self.gamma.rules(obj, key, keep_default=True)
                if weights is not None:
                    self.gamma.weights(obj, svc, weights)
                    split = split or weights
                if len(parsed) > len(routes):
                    routes = parsed  # a GRPCRoute leaves out routes it cannot match: keep the fullest
            if retries:
                svc["retries"] = _merge_retries(retries)
            for obj in own:
                self.source(key, obj)
                timeout, retry = self._policy(obj)
                # a matched rule sending to the primaries' weighted backends follows the default split
                parsed, _, _ = self.gamma.rules(obj, key, keep_default=False, default_backends=split)
                name = self._own_route_name(svc, obj)
                for route in parsed:
                    if timeout is not None and timeout != svc.get("timeout"):
                        route["timeout"] = timeout
                    if retry is not None and retry != svc.get("retries"):
                        route["retries"] = retry
                    elif retry is None and svc.get("retries"):
                        # render leaves the retry annotations off a route with retries {attempts: 0}
                        route["retries"] = {"attempts": 0}
                    if name:
                        route = {"name": name, **route}
                        name = None  # one route per object in a render; any further match is unnamed
                    if route not in routes:
                        routes.insert(_place(routes, route), route)
            for i, route in enumerate(routes):
                if route.get("name") == f"route-{i}":
                    del route["name"]  # the name render gives an unnamed route there
            if routes:
                svc["routes"] = routes

    @staticmethod
    def _own_route_name(svc: dict[str, Any], obj: SourceObject) -> str | None:
        """The route name in a route object of its own, which render names ``<base>-<route name>``
        (``<base>`` being ``<svc>`` or ``<svc>-<port>``, meshgen.platforms.linkerd.platform
        ``_routes``); None when the object's name is not of that shape."""
        l7 = [p for p in svc["ports"] if p["protocol"] in ("http", "http2", "grpc")]
        bases = {svc["name"] if len(l7) == 1 else object_name(svc["name"], p["name"]) for p in l7}
        for base in sorted(bases, key=len, reverse=True):
            rest = obj.name[len(base) + 1:]
            if obj.name.startswith(base + "-") and rest and object_name(base, rest) == obj.name:
                return rest
        return None

    def _policy(self, obj: SourceObject) -> tuple[str | None, dict[str, Any] | None]:
        """``timeout.linkerd.io/request`` and ``retry.linkerd.io/*`` (https://linkerd.io/2.19/reference/retries/)."""
        annotations = obj.metadata.get("annotations") or {}
        for key in annotations:
            if key not in ROUTE_ANNOTATIONS:
                self.f.lost(obj, ("metadata", "annotations", key), f"annotation {key} has no equivalent in the intent; dropped")
        timeout = annotations.get("timeout.linkerd.io/request")
        conditions: list[str | int] = []
        for key in ("retry.linkerd.io/http", "retry.linkerd.io/grpc"):
            for token in str(annotations.get(key) or "").split(","):
                token = token.strip()
                if token in HTTP_RETRY and key.endswith("http"):
                    conditions.append(HTTP_RETRY[token])
                elif token.isdigit() and key.endswith("http"):
                    conditions.append(int(token))
                elif token in GRPC_RETRY and key.endswith("grpc"):
                    conditions.append(token)
                elif token:
                    self.f.lost(obj, ("metadata", "annotations", key), f"retry condition {token} has no intent equivalent; dropped")
        retry = None
        limit = int(annotations.get("retry.linkerd.io/limit", 1 if conditions else 0))
        if conditions and limit > 0:
            retry = {"attempts": limit, "retryOn": conditions}
            if annotations.get("retry.linkerd.io/timeout"):
                retry["perTryTimeout"] = str(annotations["retry.linkerd.io/timeout"])
        return (str(timeout) if timeout else None), retry

    # --- authorization -------------------------------------------------------------------

    def _server_targets(self, obj: SourceObject) -> list[tuple[tuple[str, str], dict]]:
        """The (service, port) pairs a Server covers: services whose pod selector satisfies its
        ``podSelector`` (matchLabels and matchExpressions), the port by number or name."""
        selector = obj.spec.get("podSelector") or {}
        labels = {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
        expressions = selector.get("matchExpressions") or []
        port = str(obj.spec.get("port"))
        out = []
        ns = self.ns(obj)
        if not self.by_label:
            for key, sel in sorted(self.selectors.items()):
                for k, v in sel.items():
                    self.by_label.setdefault((key[0], k, v), []).append(key)
                self.by_label.setdefault((key[0], "", ""), []).append(key)
        first = next(iter(sorted(labels.items())), ("", ""))
        for key in self.by_label.get((ns, *first), []):
            sel = self.selectors[key]
            if any(sel.get(k) != v for k, v in labels.items()):
                continue
            if not all(_satisfies(sel, e) for e in expressions):
                continue
            for p in self.services[key]["ports"]:
                if port in (str(p.get("targetPort", p["port"])), p["name"]):
                    out.append((key, p))
        return out

    def _authorization(self) -> None:
        servers: dict[tuple[str, str], list[tuple[tuple[str, str], dict]]] = {}
        server_objs: dict[tuple[str, str], SourceObject] = {}
        for obj in self.take("Server"):
            check_keys(obj, obj.spec, ("spec",), {"podSelector", "port", "proxyProtocol", "accessPolicy"}, self.f)
            targets = self._server_targets(obj)
            if not targets:
                self.f.lost(obj, ("spec",), f"port {obj.spec.get('port')} of the selected pods is no port of a Service read here; dropped")
                continue
            servers[(self.ns(obj), obj.name)] = targets
            server_objs[(self.ns(obj), obj.name)] = obj
            for key, _ in targets:
                self.source(key, obj)
                self.closing.setdefault(key, obj)
            # accessPolicy defaults to deny (policy.linkerd.io/v1beta3 Server; v1beta1 Servers always deny)
            access = str(obj.spec.get("accessPolicy", "deny"))
            if access == "deny":
                self.closed.update(key for key, _ in targets)
            elif access != ("audit" if self.mesh.get("enforcement") == "audit" else "deny" if self.mesh["defaultDeny"] else
                            "all-authenticated" if self.mesh["mtls"] == "strict" else "all-unauthenticated"):
                self.f.approximated(obj, ("spec", "accessPolicy"), f"accessPolicy {access} differs from the namespace default; the intent's mesh-wide policy applies")
        authn = {(self.ns(o), o.name): o for o in self.take("MeshTLSAuthentication")}
        networks = {(self.ns(o), o.name): o for o in self.take("NetworkAuthentication")}
        routes: dict[tuple[str, str], tuple[SourceObject, tuple[str, str]]] = {}
        for kind in ("HTTPRoute", "GRPCRoute"):
            for obj in self.by_kind.get(kind, []):
                parents = obj.spec.get("parentRefs") or []
                if parents and all(p.get("kind") == "Server" for p in parents):
                    self.handled.add(id(obj))
                    server = (self.ns(obj), str(parents[0].get("name")))
                    if server in servers:
                        routes[(self.ns(obj), obj.name)] = (obj, server)
                    else:
                        self.f.lost(obj, ("spec", "parentRefs"), "its Server is not read here; dropped")
        grants: dict[tuple[str, str], list[tuple[dict, str, dict]]] = {}
        self._unreferenced_authentications([*authn.values(), *networks.values()], self.by_kind.get("AuthorizationPolicy", []))
        for obj in self.take("AuthorizationPolicy"):
            check_keys(obj, obj.spec, ("spec",), {"targetRef", "requiredAuthenticationRefs"}, self.f)
            target = obj.spec.get("targetRef") or {}
            tkey = (self.ns(obj), str(target.get("name")))
            narrow: dict[str, Any] = {}
            if target.get("kind") == "Server" and tkey in servers:
                covered = servers[tkey]
            elif target.get("kind") in ("HTTPRoute", "GRPCRoute") and tkey in routes:
                route, server = routes[tkey]
                covered = servers[server]
                narrow = self._route_narrowing(route, obj)
                if narrow is None:
                    continue
            elif target.get("kind") == "Namespace" and tkey[1] == self.ns(obj):
                # every Server of the namespace (https://linkerd.io/2.19/reference/authorization-policy/#authorizationpolicy)
                covered = [t for k, ts in sorted(servers.items()) if k[0] == tkey[1] for t in ts]
            else:
                self.f.lost(obj, ("spec", "targetRef"), f"target {target.get('kind')} {tkey[1]} is not a Server or route on one read here; dropped (fail closed)")
                continue
            refs = obj.spec.get("requiredAuthenticationRefs") or []
            peers: list[dict] | None = []
            for a, ref in enumerate(refs):
                rkey = (str(ref.get("namespace") or self.ns(obj)), str(ref.get("name")))
                rpath = ("spec", "requiredAuthenticationRefs", a)
                if ref.get("kind") == "MeshTLSAuthentication" and rkey in authn:
                    found = self._peers(authn[rkey], covered[0][0] if covered else None)
                elif ref.get("kind") == "ServiceAccount":
                    found = [self._identity_of(rkey[0], rkey[1], None, None)]
                elif ref.get("kind") == "NetworkAuthentication" and rkey in networks and covered and rkey[1] == object_name(self.services[covered[0][0]]["name"], "probes"):
                    for key, port in covered:
                        self._probe(key, port, narrow)
                    found = None
                else:
                    self.f.lost(obj, rpath, f"{ref.get('kind')} {rkey[1]}: callers by network or without a mesh identity are not expressible; "
                                "this authorization is dropped (fail closed)")
                    found = None
                if found is None or peers is None:
                    peers = None
                elif peers and found:
                    # every required authentication must hold: only callers named by both pass
                    peers = [p for p in peers if p in found]
                    self.f.approximated(obj, rpath, "several required authentications: only callers named in all of them are imported")
                else:
                    peers = found
            for peer in peers or []:
                for key, port in covered:
                    grants.setdefault(key, []).append((peer, port["name"], narrow))
        for obj in self.take("ServerAuthorization"):
            self._server_authorization(obj, servers, server_objs, grants)
        for key, items in sorted(grants.items()):
            self._allow_from(key, items)
        for key in sorted(self.closed):
            if not self.services[key].get("allowFrom") and not self.mesh["defaultDeny"]:
                self.mesh["defaultDeny"] = True
                svc = self.services[key]
                self.f.items.append(_note(self.closing[key], key, f"its Servers deny and admit nobody the intent can name ({svc['name']}); "
                                          "mesh.defaultDeny set so it stays closed (every service without allowFrom is closed too)"))

    def _unreferenced_authentications(self, authentications: list[SourceObject], policies: list[SourceObject]) -> None:
        """Report each MeshTLSAuthentication and NetworkAuthentication no AuthorizationPolicy names.

        An authentication authorizes nothing by itself: only an AuthorizationPolicy's
        ``requiredAuthenticationRefs`` make it admit callers
        (https://linkerd.io/2.19/reference/authorization-policy/), so leaving one out changes no
        decision. It is said anyway, at its ``file:line``: the policy naming it may be in a file
        that was not passed, and nothing read is dropped silently.
        """
        referenced = set()
        for policy in policies:
            for ref in policy.spec.get("requiredAuthenticationRefs") or []:
                referenced.add((str(ref.get("kind")), str(ref.get("namespace") or self.ns(policy)), str(ref.get("name"))))
        for obj in authentications:
            if (obj.kind, self.ns(obj), obj.name) not in referenced:
                self.f.approximated(obj, (), f"no AuthorizationPolicy read here requires this {obj.kind}, so it admits nobody and "
                                    "is not carried over (the intent names callers in allowFrom); import it with the policy that uses it")

    def _server_authorization(self, obj: SourceObject, servers: dict, server_objs: dict, grants: dict) -> None:
        """policy.linkerd.io/v1beta1 ServerAuthorization: ``server.name`` or ``server.selector``
        (Server labels), ``client.meshTLS`` (serviceAccounts, identities); unauthenticated and
        network clients cannot be named by the intent and are dropped (fail closed)."""
        spec = obj.spec
        check_keys(obj, spec, ("spec",), {"server", "client"}, self.f)
        server = spec.get("server") or {}
        if server.get("name"):
            names = [(self.ns(obj), str(server["name"]))]
        else:
            wanted = {str(k): str(v) for k, v in ((server.get("selector") or {}).get("matchLabels") or {}).items()}
            names = [k for k, o in sorted(server_objs.items()) if k[0] == self.ns(obj)
                     and all(str((o.metadata.get("labels") or {}).get(a)) == b for a, b in wanted.items())]
        covered = [t for n in names if n in servers for t in servers[n]]
        if not covered:
            self.f.lost(obj, ("spec", "server"), "names no Server read here; dropped")
            return
        client = spec.get("client") or {}
        check_keys(obj, client, ("spec", "client"), {"meshTLS", "unauthenticated", "networks"}, self.f)
        if client.get("unauthenticated") or client.get("networks"):
            self.f.lost(obj, ("spec", "client"), "callers without a mesh identity (unauthenticated, networks) are not expressible; "
                        "this authorization is dropped (fail closed)")
            return
        mtls = client.get("meshTLS") or {}
        check_keys(obj, mtls, ("spec", "client", "meshTLS"), {"serviceAccounts", "identities"}, self.f)
        peers = []
        for account in mtls.get("serviceAccounts") or []:
            peers.append(self._identity_of(str(account.get("namespace") or self.ns(obj)), str(account.get("name")), None, None))
        for i, text in enumerate(mtls.get("identities") or []):
            m = IDENTITY.fullmatch(str(text))
            if m is None:
                self.f.lost(obj, ("spec", "client", "meshTLS", "identities", i), f"identity {text} is not expressible; dropped (fail closed)")
            elif m["sa"] == "*":
                peers.append({"namespace": m["ns"]})
            else:
                peers.append(self._identity_of(m["ns"], m["sa"], None, None))
        if not peers:
            self.f.lost(obj, ("spec", "client", "meshTLS"), "no caller the intent can name; dropped (fail closed)")
        self.f.approximated(obj, (), "ServerAuthorization (deprecated) imported as allowFrom; meshgen renders AuthorizationPolicy")
        for peer in peers:
            for key, port in covered:
                grants.setdefault(key, []).append((peer, port["name"], {}))

    def _route_narrowing(self, route: SourceObject, policy: SourceObject) -> dict[str, Any] | None:
        """The requests a route on a Server matches, as Peer ``methods``/``paths``/``grpc``; {} for
        the catch-all ``<server>-any`` route; None (policy dropped) when not expressible."""
        rules = route.spec.get("rules") or []
        matches = [m for r in rules for m in (r.get("matches") or [])]
        if not matches:
            return {}
        if len(matches) != 1:
            self.f.lost(route, ("spec", "rules"), "a route on a Server with several matches: its authorizations are dropped (fail closed)")
            return None
        match = matches[0]
        if route.kind == "GRPCRoute":
            method = match.get("method") or {}
            if set(match) != {"method"} or method.get("type", "Exact") != "Exact" or not method.get("service"):
                self.f.lost(route, ("spec", "rules", 0, "matches", 0), "only exact gRPC service/method matches are expressible; its authorizations are dropped (fail closed)")
                return None
            grpc: dict[str, Any] = {"service": str(method["service"])}
            if method.get("method"):
                grpc["methods"] = [str(method["method"])]
            return {"grpc": grpc}
        out: dict[str, Any] = {}
        if set(match) - {"path", "method"}:
            self.f.lost(route, ("spec", "rules", 0, "matches", 0), "only path and method matches are expressible; its authorizations are dropped (fail closed)")
            return None
        if match.get("method"):
            out["methods"] = [str(match["method"])]
        path = match.get("path") or {}
        if path:
            kind, value = path.get("type", "PathPrefix"), str(path.get("value", "/"))
            if kind == "Exact":
                out["paths"] = [value]
            elif kind == "PathPrefix":
                out["paths"] = ["/*" if value == "/" else value.rstrip("/") + "/*"]
                if value != "/":
                    self.f.approximated(route, ("spec", "rules", 0, "matches", 0, "path"), f"PathPrefix {value} becomes {out['paths'][0]}, which also admits {value} itself as Linkerd does")
            else:
                self.f.lost(route, ("spec", "rules", 0, "matches", 0, "path"), "regular-expression paths are not read; its authorizations are dropped (fail closed)")
                return None
        return out

    def _probe(self, key: tuple[str, str], port: dict, narrow: dict) -> None:
        svc = self.services[key]
        probe: dict[str, Any] = {"port": port["name"]}
        if narrow.get("paths"):
            probe["path"] = narrow["paths"][0]
        if probe not in svc.setdefault("probes", []):
            svc["probes"].append(probe)

    def _peers(self, obj: SourceObject, callee: tuple[str, str] | None) -> list[dict[str, Any]]:
        check_keys(obj, obj.spec, ("spec",), {"identities", "identityRefs"}, self.f)
        out = []
        versioned = self._versioned_peer(obj, callee)
        if versioned is not None:
            return [versioned]
        for i, text in enumerate(obj.spec.get("identities") or []):
            m = IDENTITY.fullmatch(str(text))
            if m is None:
                self.f.lost(obj, ("spec", "identities", i), f"identity {text} is not <sa>.<ns>.serviceaccount.identity.linkerd.<td>; dropped (fail closed)")
                continue
            if m["td"] != "cluster.local":
                self.mesh["trustDomain"] = m["td"]
            if m["sa"] == "*":
                out.append({"namespace": m["ns"]})
            else:
                out.append(self._identity_of(m["ns"], m["sa"], obj, callee))
        for i, ref in enumerate(obj.spec.get("identityRefs") or []):
            if ref.get("kind") == "ServiceAccount" and ref.get("name") and ref.get("name") != "*":
                out.append(self._identity_of(str(ref.get("namespace") or self.ns(obj)), str(ref["name"]), obj, callee))
            elif ref.get("kind") == "Namespace" and ref.get("name"):
                out.append({"namespace": str(ref["name"])})
            else:
                self.f.lost(obj, ("spec", "identityRefs", i), f"identityRef {ref.get('kind')} {ref.get('name')} is not expressible; dropped (fail closed)")
        return out

    def _versioned_peer(self, obj: SourceObject, callee: tuple[str, str] | None) -> dict[str, Any] | None:
        """A MeshTLSAuthentication meshgen named ``<callee>-<service>[-<version>...]`` for a service
        whose versions run as their own accounts (identity._identities: one identity per version
        account) -> that service (and versions), each version's account read off its identity."""
        if callee is None:
            return None
        matches = [IDENTITY.fullmatch(str(t)) for t in obj.spec.get("identities") or []]
        if not matches or any(m is None or m["sa"] == "*" for m in matches) or obj.spec.get("identityRefs"):
            return None
        namespaces = {m["ns"] for m in matches}
        callee_name = self.services[callee]["name"]
        if len(namespaces) != 1 or not obj.name.startswith(callee_name + "-"):
            return None
        ns = namespaces.pop()
        slug = obj.name[len(callee_name) + 1:]
        if ns != callee[0] and slug.startswith(ns + "-"):
            slug = slug[len(ns) + 1:]
        accounts = sorted({m["sa"] for m in matches})
        cuts = [len(slug)] + [i for i, c in enumerate(slug) if c == "-"]
        for key in [(ns, slug[:i]) for i in sorted(cuts)]:
            svc = self.services.get(key)
            versions = (svc or {}).get("versions") or []
            if svc is None or not versions:
                continue
            rest = slug[len(svc["name"]):]
            chosen = [v for v in versions if rest == "" or rest.startswith("-")]
            if rest:
                wanted = rest[1:].split("-")
                chosen = [v for v in versions if v["name"] in wanted]
                if len(chosen) != len(wanted):
                    continue
            own: dict[str, str] = {}
            for v in chosen:
                found = v.get("serviceAccount") or next((a for a in accounts if a.endswith("-" + v["name"])), None)
                if found is None:
                    break
                own[v["name"]] = found
            else:
                if sorted(set(own.values())) != accounts:
                    continue
                for v in chosen:
                    v["serviceAccount"] = own[v["name"]]
                peer: dict[str, Any] = {"service": svc["name"]}
                if ns != self.home:
                    peer["namespace"] = ns
                if rest:
                    peer["versions"] = [v["name"] for v in chosen]
                return peer
        return None

    def _identity_of(self, ns: str, sa: str, authn: SourceObject | None, callee: tuple[str, str] | None) -> dict[str, Any]:
        qualify = {"namespace": ns} if ns != self.home else {}
        if self.accounts is None:  # (namespace, account) -> service, built once (services are all read)
            self.accounts = {}
            for k, s in sorted(self.services.items()):
                if "serviceAccount" in s or k[1] == s["name"]:
                    self.accounts.setdefault((k[0], s.get("serviceAccount", s["name"])), k)
        owner = self.accounts.get((ns, sa))
        if owner is not None:
            return {"service": self.services[owner]["name"], **qualify}
        if authn is None or callee is None:
            return {"serviceAccount": sa, "namespace": ns}
        # meshgen names the authentication <callee>-<caller service> (authorization.caller_slug)
        callee_name = self.services[callee]["name"]
        slug = authn.name[len(callee_name) + 1:] if authn.name.startswith(callee_name + "-") else ""
        for key in ((ns, slug), (ns, slug[len(ns) + 1:] if slug.startswith(ns + "-") else "")):
            s = self.services.get(key)
            if s is not None and "serviceAccount" not in s and self.accounts.get((ns, s["name"])) in (None, key):
                s["serviceAccount"] = sa
                self.accounts.pop((ns, s["name"]), None)
                self.accounts[(ns, sa)] = key
                return {"service": s["name"], **qualify}
        return {"serviceAccount": sa, "namespace": ns}

    def _allow_from(self, key: tuple[str, str], items: list[tuple[dict, str, dict]]) -> None:
        """Grants -> allowFrom: one entry per caller and request narrowing, ports merged, gRPC
        methods of one service merged (the inverse of the one-route-per-match split)."""
        svc = self.services[key]
        all_ports = [p["name"] for p in svc["ports"] if p["protocol"] != "udp"]
        merged: dict[str, dict[str, Any]] = {}
        whole: set[str] = set()
        import json

        for peer, port, narrow in items:
            grpc = narrow.get("grpc")
            shape = {**peer, **{k: v for k, v in narrow.items() if k != "grpc"}}
            if grpc:
                shape["grpc"] = {"service": grpc["service"]}
            ident = json.dumps(shape, sort_keys=True)
            entry = merged.setdefault(ident, {**shape, "ports": []})
            if port not in entry["ports"]:
                entry["ports"].append(port)
            if grpc and grpc.get("methods"):
                methods = entry["grpc"].setdefault("methods", [])
                for m in grpc["methods"]:
                    if m not in methods:
                        methods.append(m)
            elif grpc:
                # a grant on the whole-service route admits every method: the per-method
                # routes it is also authorized on (grpc_covers) add nothing to it
                whole.add(ident)
        out = []
        for ident, entry in merged.items():
            if sorted(entry["ports"]) == sorted(all_ports):
                del entry["ports"]
            if ident in whole:
                entry["grpc"].pop("methods", None)
            elif entry.get("grpc", {}).get("methods"):
                entry["grpc"]["methods"].sort()
            out.append(entry)
        if out:
            svc["allowFrom"] = out

    # --- rate limits, ServiceProfile, egress ---------------------------------------------

    def _rate_limits(self) -> None:
        """HTTPLocalRateLimitPolicy on a Server: the limit is per proxy
        (https://linkerd.io/2.19/reference/rate-limiting/), so the service's rate is it times the replicas."""
        servers = {(self.ns(o), o.name): o for o in self.by_kind.get("Server", [])}
        for obj in self.take("HTTPLocalRateLimitPolicy"):
            check_keys(obj, obj.spec, ("spec",), {"targetRef", "total"}, self.f)
            target = obj.spec.get("targetRef") or {}
            server = servers.get((self.ns(obj), str(target.get("name"))))
            labels = {str(k): str(v) for k, v in (((server.spec.get("podSelector") or {}).get("matchLabels") or {}) if server else {}).items()}
            key = next((k for k, sel in self.selectors.items() if server is not None and k[0] == self.ns(obj) and sel == labels), None)
            if key is None or target.get("kind") != "Server":
                self.f.lost(obj, ("spec", "targetRef"), "targets no Server of a Service read here; dropped")
                continue
            svc = self.services[key]
            rps = int((obj.spec.get("total") or {}).get("requestsPerSecond", 0)) * int(svc.get("replicas", 1))
            svc["rateLimit"] = {"requestsPerSecond": max(rps, (svc.get("rateLimit") or {}).get("requestsPerSecond", 0))}
            self.source(key, obj)

    def _service_profiles(self) -> None:
        for obj in self.take("ServiceProfile"):
            check_keys(obj, obj.spec, ("spec",), {"routes", "retryBudget"}, self.f)
            name = str(obj.name).split(".")
            key = (name[1] if len(name) > 1 else self.ns(obj), name[0])
            if key not in self.services:
                self.f.lost(obj, ("metadata", "name"), "names no Service read here; dropped")
                continue
            self.source(key, obj)
            budget = obj.spec.get("retryBudget")
            if budget:
                # https://linkerd.io/2.19/reference/service-profiles/#retry-budget
                self.services[key]["retryBudget"] = {
                    "percent": number(float(budget.get("retryRatio", 0.2)) * 100),
                    "minRetriesPerSecond": int(budget.get("minRetriesPerSecond", 10)),
                }
                if budget.get("ttl"):
                    self.f.approximated(obj, ("spec", "retryBudget", "ttl"), "the budget's ttl window has no intent equivalent; dropped")
            for r, _route in enumerate(obj.spec.get("routes") or []):
                self.f.lost(obj, ("spec", "routes", r), "ServiceProfile routes (per-route timeout, isRetryable, responseClasses) are not read: "
                            "a ServiceProfile switches off the route annotations meshgen writes; re-state them as intent routes")

    def _egress(self) -> list[dict[str, Any]]:
        """EgressNetwork ``trafficPolicy`` and the routes attached to it: each route's hostname
        and parent port is an allowed destination (https://linkerd.io/2.19/reference/egress-network/)."""
        out: dict[str, dict[str, Any]] = {}
        kinds = {"HTTPRoute": "http", "GRPCRoute": "grpc", "TLSRoute": "tls", "TCPRoute": "tcp"}
        for kind, protocol in kinds.items():
            for obj in self.by_kind.get(kind, []):
                parents = obj.spec.get("parentRefs") or []
                if id(obj) in self.handled or not parents or any(p.get("kind") != "EgressNetwork" for p in parents):
                    continue
                self.handled.add(id(obj))
                check_keys(obj, obj.spec, ("spec",), {"parentRefs", "hostnames", "rules"}, self.f)
                hosts = [str(h) for h in obj.spec.get("hostnames") or []]
                if not hosts:
                    self.f.lost(obj, ("spec",), "an egress route without hostnames (every external address) is not expressible; dropped (fail closed)")
                    continue
                if any(r.get("matches") for r in obj.spec.get("rules") or []):
                    self.f.approximated(obj, ("spec", "rules"), "request matches on an egress route are not expressible; the whole host is allowed")
                for parent in parents:
                    if parent.get("port") is None:
                        self.f.lost(obj, ("spec", "parentRefs"), "an egress route without a port is not expressible; dropped (fail closed)")
                        continue
                    for host in hosts:
                        entry = out.setdefault(host, {"host": host, "ports": [], "protocol": protocol})
                        if entry["protocol"] != protocol:
                            self.f.lost(obj, ("spec",), f"host {host} is already allowed as {entry['protocol']}; this {protocol} route is dropped")
                            continue
                        if int(parent["port"]) not in entry["ports"]:
                            entry["ports"].append(int(parent["port"]))
        egress = []
        for host in sorted(out.values(), key=lambda e: e["host"]):
            if not host["ports"]:
                continue
            if host["ports"] == [443]:
                del host["ports"]
            if host["protocol"] == "tls":
                del host["protocol"]
            egress.append(host)
        for obj in self.take("EgressNetwork"):
            check_keys(obj, obj.spec, ("spec",), {"trafficPolicy", "networks"}, self.f)
            if obj.spec.get("trafficPolicy") == "Deny":
                self.mesh["egressDefaultDeny"] = True
            if obj.spec.get("networks"):
                self.f.lost(obj, ("spec", "networks"), "egress networks by CIDR are not expressible; dropped")
        return egress

    # --- what is left --------------------------------------------------------------------

    def _leftovers(self, objects: list[SourceObject]) -> None:
        self._report_leftovers(objects)

def _satisfies(labels: dict[str, str], expression: dict) -> bool:
    """One ``LabelSelectorRequirement`` against a service's pod labels (Kubernetes semantics)."""
    key, op, values = str(expression.get("key")), expression.get("operator"), [str(v) for v in expression.get("values") or []]
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    return key not in labels


def _precedence(route: dict[str, Any]) -> tuple | None:
    """Gateway API's precedence of an HTTP route match, highest first when compared: an exact path,
    the longest path prefix, a method, the most headers, the most query parameters (HTTPRouteRule,
    https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule; Linkerd follows it across the
    route objects of a Service). None when the match has anything else (a regex path, gRPC)."""
    match = route.get("match") or {}
    path = match.get("path") or {"prefix": "/"}
    if set(match) - {"path", "method", "headers", "queryParams"} or "regex" in path:
        return None
    counts = len(match.get("headers") or {}), len(match.get("queryParams") or {})
    return ("exact" in path, len(path.get("prefix") or ""), "method" in match, *counts)


def _place(routes: list[dict[str, Any]], route: dict[str, Any]) -> int:
    """Where a route of an object of its own goes in the intent's first-match-wins list: before the
    first route it takes precedence over (:func:`_precedence`), else last (a tie goes by the
    objects' age and name, which the intent cannot say; render reports it approximated)."""
    key = _precedence(route)
    if key is not None:
        for i, other in enumerate(routes):
            theirs = _precedence(other)
            if theirs is not None and key > theirs:
                return i
    return len(routes)


def _merge_retries(retries: list[dict[str, Any]]) -> dict[str, Any]:
    """One retry policy per L7 port -> the service's: Linkerd applies only the conditions of the
    port's kind (retry.linkerd.io/http or /grpc), so the union renders each port's back."""
    out = dict(retries[0])
    conditions = list(out["retryOn"])
    for other in retries[1:]:
        conditions.extend(c for c in other["retryOn"] if c not in conditions)
    out["retryOn"] = conditions
    return out


def _note(obj: SourceObject, key: tuple[str, str], message: str):
    from meshgen.importing.findings import ImportFinding

    return ImportFinding(obj.file, obj.line, obj.ref, "", APPROXIMATED, f"{key[0]}/{key[1]}: {message}")


IMPORTER = LinkerdImporter()
