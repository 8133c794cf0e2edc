"""Cilium 1.19 (sidecar-less service mesh), as a Cilium expert writes it.

Per namespace: the Namespace (Cilium needs no injection label) and, under ``defaultDeny``, a
``default-deny-ingress`` CiliumNetworkPolicy selecting every pod of the namespace with an empty
ingress rule: once a policy with an ingress section selects a pod, everything not allowed is
dropped. Per service: its Service (ports with ``appProtocol``), one Service per version
(``<service>-<version>``) and GAMMA ``HTTPRoute``/``GRPCRoute`` objects for weights, header routes
and timeouts (:func:`meshgen.platforms.gateway_api.mesh_routes`; Cilium attaches only producer
routes, in the Service's own namespace), and a CiliumNetworkPolicy of allow rules (``ingress``)
and deny rules (``ingressDeny``). Gateways are Gateway API ``Gateway`` objects of class
``cilium``; egress hosts become ``toFQDNs`` rules next to the DNS rule that lets Cilium's DNS
proxy learn their addresses.

Decisions (each one also a finding where intent is approximated or lost):

* Identity. Cilium authorizes security identities, i.e. label sets. A service caller is its
  service account (``io.cilium.k8s.policy.serviceaccount``) in its namespace
  (``k8s:io.kubernetes.pod.namespace``), as Istio authorizes principals; version and selector
  callers are their pod labels, which Cilium enforces exactly (no shared-identity caveat);
  namespace callers are the namespace label alone. Callers and gateways come from
  :func:`meshgen.platforms.identity.rules_for`, so every platform admits the same callers.
* Gateways. Cilium's Gateway API runs in the per-node Envoy, not in pods, and traffic it
  forwards reaches backends from the reserved ``ingress`` identity, so a gateway caller is
  ``fromEntities: [ingress]``; that identity is shared by every Cilium Gateway and Ingress of the
  cluster (reported). Since Cilium 1.18 (cilium/cilium#39206) east-west GAMMA traffic keeps the
  caller's own identity, so GAMMA routes and label allow-lists compose.
* L7 rules. ``toPorts[].rules.http[]`` ``method`` and ``path`` are regular expressions that
  Cilium hands to Envoy as ``safe_regex`` matches on ``:method`` and ``:path``: they must match
  the whole value, and ``:path`` includes the query string. Patterns are written anchored
  (``^...$``) so they read the same under either convention: ``/reviews/*`` (prefix) ->
  ``^/reviews/.*$``; ``/login`` (exact) -> ``^/login(\\?.*)?$`` (any query, as Istio matches the
  path without the query); ``*.png`` (suffix) -> ``^[^?]*\\.png(\\?.*)?$``; a gRPC method ->
  ``POST`` and ``^/pkg\\.Service/Method$``. Literal text is escaped for both POSIX ERE and RE2.
* Default deny. With ``defaultDeny`` the namespace policy denies, and per-service policies add
  allows (Cilium unions them). Without it, a service with ``allowFrom`` still denies everyone
  else (``enableDefaultDeny.ingress: true``, as an Istio ALLOW policy does) and a service without
  one gets no policy. A deny-only policy sets ``enableDefaultDeny.ingress: false`` so that it
  does not turn into an allow-nothing. Egress is never made default-deny by these policies:
  only ``mesh.egressDefaultDeny`` does that, through the namespace ``egress`` policy, which keeps
  DNS to kube-dns and every in-cluster destination (``toEntities: [cluster, kube-apiserver]``)
  reachable. Kubelet probes need no rule: Cilium admits traffic from the local host by default
  (agent option ``allow-localhost: auto``).
* mTLS. ``strict`` puts ``authentication.mode: required`` (SPIRE mutual authentication) on
  every rule admitting workloads; rules admitting the ``ingress`` identity cannot carry it
  (Cilium skips authentication for reserved identities, so the traffic would be dropped).
* Retries. ``HTTPRoute.rules[].retry`` is experimental-channel only and ``GRPCRoute`` has no
  retry or timeouts at all; output stays valid against the standard channel, so retries are
  reported lost, per-try timeouts become ``timeouts.backendRequest`` on HTTP ports, and timeouts
  on gRPC ports are reported lost. GAMMA routes that would carry nothing (no versions, rules or
  timeouts) are not emitted: they would only add an Envoy hop.
* Not expressible without a hand-written CiliumEnvoyConfig: retry budgets, circuit breaking,
  connection pools, request rate limits, fault injection; JWT validation not at all.

Sources: https://docs.cilium.io/en/stable/security/policy/ (layer 3, layer 7, kubernetes,
language), https://docs.cilium.io/en/stable/network/servicemesh/gateway-api/gamma/,
https://docs.cilium.io/en/stable/network/servicemesh/mutual-authentication/, the ``cilium.io/v2``
CiliumNetworkPolicy CRD of Cilium 1.19 in ../shared/crds/cilium, Gateway API v1.6 CRDs in
../shared/crds/gateway-api/standard, ../shared/design/platform-matrix.md sections 2-11 and 15.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import EgressHost, Gateway, MeshIntent, Port, RequestMatch, Retries, Route, Service
from meshgen.intent.types import Duration
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import Plan, PlannedObject, object_name, sort_objects
from meshgen.platforms.cilium.alerts import plan_alerts
from meshgen.platforms.cilium.capabilities import COLUMN
from meshgen.platforms.cilium.certificates import plan_certificates
from meshgen.platforms.cilium.control_plane import plan_control_plane, plan_proxy_resources
from meshgen.platforms.cilium.delivery import DELIVERY
from meshgen.platforms.cilium.telemetry import plan_telemetry
from meshgen.platforms.helm_values import Chart
from meshgen.platforms.identity import Rule, rules_for
from meshgen.platforms.sections import Section, compose, control_plane_namespace

CILIUM = "cilium.io/v2"
POLICY_TEMPLATE = "cilium/cilium-network-policy.yaml.j2"

#: Label Cilium derives from a pod's service account (https://docs.cilium.io/en/stable/security/policy/kubernetes/).
SA_LABEL = "io.cilium.k8s.policy.serviceaccount"
#: Label Cilium derives from a pod's namespace.
NS_LABEL = "k8s:io.kubernetes.pod.namespace"
#: CoreDNS / kube-dns pods, as Cilium's DNS policy examples select them.
KUBE_DNS = {NS_LABEL: "kube-system", "k8s:k8s-app": "kube-dns"}
#: The reserved identity of traffic that Cilium's Gateway API / Ingress Envoy forwards to backends.
GATEWAY_ENTITY = "ingress"
DEFAULT_GATEWAY_CLASS = "cilium"

# Characters with a meaning in POSIX ERE or RE2; escaping them with "\" is valid in both.
_REGEX_SPECIAL = frozenset(".[]{}()*+?^$|\\")


def literal(text: str) -> str:
    """``text`` as a regular expression matching exactly it: ``/a.b`` -> ``/a\\.b``."""
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def path_regex(pattern: str) -> str:
    """An intent path pattern (Istio glob) as a Cilium ``rules.http[].path`` regular expression.

    Cilium matches ``path`` against the whole ``:path`` header, query string included
    (Envoy ``safe_regex`` header matcher). Istio's AuthorizationPolicy ``paths`` ignore the query,
    so exact and suffix patterns accept an optional ``?query``; a prefix already accepts anything
    after it.

    Args:
        pattern: ``/exact``, ``/prefix/*``, ``*suffix`` or ``*`` (any path), as validated by
            :class:`meshgen.intent.model.Peer`.

    Returns:
        An anchored regular expression, e.g. ``/reviews/*`` -> ``^/reviews/.*$``.
    """
    query = r"(\?.*)?"
    if pattern == "*":
        return "^.*$"
    if pattern.endswith("*"):
        return "^" + literal(pattern[:-1]) + ".*$"
    if pattern.startswith("*"):
        return "^[^?]*" + literal(pattern[1:]) + query + "$"
    return "^" + literal(pattern) + query + "$"


def grpc_path_regex(path: str) -> str:
    """A gRPC method path (``/pkg.Service/Method`` or ``/pkg.Service/*``) as an anchored regex.

    gRPC requests carry no query string; ``*`` stands for one method name.
    """
    if path.endswith("/*"):
        return "^" + literal(path[:-1]) + "[^/]+$"
    return "^" + literal(path) + "$"


def http_rules(rule: Rule) -> list[dict[str, str]]:
    """The ``rules.http`` entries of one allow rule: every (method, path) pair, ORed by Cilium.

    gRPC methods are always ``POST`` requests; the HTTP methods of the rule, when given, still
    apply to them (as Istio ANDs methods and paths).
    """
    methods = [f"^{literal(m)}$" for m in rule.methods]
    out: list[dict[str, str]] = []
    paths = [path_regex(p) for p in rule.paths]
    if paths:
        out += [{"method": m, "path": p} for m in methods for p in paths] if methods else [{"path": p} for p in paths]
    grpc = [grpc_path_regex(p) for p in rule.grpc_paths]
    if grpc:
        out += [{"method": m, "path": p} for m in (methods or ["^POST$"]) for p in grpc]
    if not out:
        out = [{"method": m} for m in methods]
    return out


def gateway_identity(gw: Gateway) -> tuple[str, str]:
    """The key :mod:`~meshgen.platforms.identity` stores for a gateway caller: its namespace and
    name. Cilium's own gateways have no pods and no service account, so the pair only names the
    gateway; :meth:`CiliumPlatform._peer` turns it into the ``ingress`` entity."""
    return gw.namespace or "", gw.name


def gateway_labels(gw: Gateway) -> dict[str, str]:
    """Cilium's gateways have no pods, hence no labels."""
    return {}


#: CiliumNetworkPolicy v2 ``toPorts[].ports`` maxItems (cilium v1.19 CRD).
MAX_PORTS_PER_PORT_RULE = 40


def port_chunks(ports: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    """``ports`` cut into lists of at most 40 (``toPorts[].ports`` maxItems in the v1.19 CRD).

    One ``toPorts`` entry per chunk, each with the same L7 rules: a connection is allowed when any
    entry of ``toPorts`` matches its port (Cilium "Layer 4 Examples": "toPorts ... a list of
    PortRule", https://docs.cilium.io/en/stable/security/policy/language/#layer-4-examples), so
    several entries admit exactly the ports one entry would. An empty list stays one empty chunk.
    """
    return [ports[i : i + MAX_PORTS_PER_PORT_RULE] for i in range(0, len(ports), MAX_PORTS_PER_PORT_RULE)] or [ports]


def _ports(ports: tuple[Port, ...] | list[Port]) -> list[dict[str, str]]:
    # Cilium policies see the pod's port (after Service translation), not the Service port.
    seen = sorted({(p.pod_port, "UDP" if p.protocol == "udp" else "TCP") for p in ports})
    return [{"port": str(number), "protocol": proto} for number, proto in seen]


def _effective(svc: Service, route: Route | None) -> tuple[Duration | None, Retries | None]:
    """The timeout and retries that apply to a route's rule (``None``: the default rule)."""
    timeout = route.timeout if route is not None and route.timeout is not None else svc.timeout
    retries = route.retries if route is not None and route.retries is not None else svc.retries
    return timeout, retries


def _retrying(retries: Retries | None) -> bool:
    return retries is not None and retries.attempts > 0


class CiliumPlatform:
    """Cilium 1.19: CiliumNetworkPolicy, GAMMA routes, Gateway API ingress (class ``cilium``)."""

    name = "cilium"
    description = "Cilium 1.19: CiliumNetworkPolicy (label identity, L7 HTTP rules), GAMMA routes, Gateway API ingress"
    capabilities = COLUMN
    template_folders = ("cilium",)
    control_plane_namespace = "kube-system"
    unrotated_mesh_ca = None
    delivery = DELIVERY
    charts = (Chart("cilium", "cilium/cilium", "cilium", "kube-system"),)

    def operations(self, intent: MeshIntent, report: Report) -> Section:
        """Certificates, control-plane HA values, telemetry and alerts (see this package's modules). Pure."""
        cp_ns = control_plane_namespace(intent, self.control_plane_namespace)
        return compose(intent, report, cp_ns, (plan_certificates, plan_control_plane, plan_proxy_resources, plan_telemetry), plan_alerts)

    def plan(self, intent: MeshIntent) -> Plan:
        """Decide every Cilium object for ``intent``. Pure."""
        report = Report(self.name, self.capabilities)
        labels = gapi.labels_for(intent)
        objects: list[PlannedObject] = []
        mesh = intent.spec.mesh
        # Cilium's gateways run in the node's Envoy: only namespaces with services have pods.
        workload_ns = sorted({s.namespace or "" for s in intent.spec.services})
        namespaces = sorted(set(workload_ns) | {g.namespace or "" for g in intent.spec.gateways})

        for ns in namespaces:
            objects.append(PlannedObject("core/namespace.yaml.j2", "v1", "Namespace", ns, None, {"labels": labels}))
        if mesh.default_deny:
            for ns in workload_ns:
                objects.append(
                    self._policy_object(
                        "default-deny-ingress",
                        ns,
                        labels,
                        f"meshgen: deny every call to pods of namespace {ns} that no other policy allows",
                        selector={},
                        enable_default_deny={"ingress": True},
                        ingress=[{}],
                    )
                )
        self._mesh_findings(intent, report)

        for svc in intent.spec.services:
            objects.extend(self._service(intent, svc, report, labels))

        objects.extend(gapi.plan_gateways(intent, gapi.GatewayOptions(DEFAULT_GATEWAY_CLASS, self.name, (("TCPRoute", "Cilium's Gateway API does not implement TCPRoute (cilium/cilium#21929)"),)), report))
        objects.extend(self._egress(intent, workload_ns, labels))
        return Plan(self.name, sort_objects(objects), (), report.sorted())

    # --- mesh-wide ----------------------------------------------------------------------

    def _mesh_findings(self, intent: MeshIntent, report: Report) -> None:
        mesh = intent.spec.mesh
        if mesh.mtls == "strict":
            report.use(
                Feature.MTLS_STRICT,
                "mesh",
                "every ingress rule admitting workloads requires mutual authentication (authentication.mode: required): "
                "an out-of-band SPIRE handshake between Cilium agents, beta in 1.19, deprecated in 1.20 and planned for "
                "removal in 1.21; it authenticates Cilium label identities but encrypts nothing. It needs Helm "
                "authentication.mutual.spire.enabled=true (in values/cilium.yaml; without it Cilium drops the traffic "
                "these rules allow); encryption comes from WireGuard or IPsec (also in values/cilium.yaml), which covers "
                "only traffic between nodes. Calls from gateways (the reserved ingress identity) cannot be authenticated",
            )
        else:
            report.use(
                Feature.MTLS_PERMISSIVE,
                "mesh",
                "rules do not require mutual authentication: callers are admitted by label identity alone, which is not "
                "cryptographic; traffic is encrypted only if WireGuard or IPsec is enabled in Cilium's Helm values",
            )

    # --- per service --------------------------------------------------------------------

    def _service(self, intent: MeshIntent, svc: Service, report: Report, labels) -> list[PlannedObject]:
        subject = f"{svc.namespace}/{svc.name}"
        out = [
            gapi.service_object(intent, svc)
        ]
        out.extend(self._routes(intent, svc, report, subject))
        self._resilience(svc, report, subject)
        out.extend(self._policy(intent, svc, report, subject, labels))
        return out

    def _routes(self, intent: MeshIntent, svc: Service, report: Report, subject: str) -> list[PlannedObject]:
        l7 = [p for p in svc.ports if p.is_l7]
        l4 = [p for p in svc.ports if not p.is_l7]
        if svc.versions and l4:
            names = ", ".join(f"{p.name} ({p.protocol})" for p in l4)
            report.lost(
                Feature.CANARY_WEIGHTS,
                subject,
                f"Cilium's GAMMA routes only HTTP and gRPC: connections to port {names} spread over every version's pods "
                "by endpoint count, not by the version weights",
            )
        if not l7:
            return []
        self._route_findings(svc, l7, report, subject)

        def extras(service: Service, route: Route | None) -> dict[str, Any]:
            timeout, retries = _effective(service, route)
            timeouts: dict[str, str] = {}
            if timeout is not None:
                timeouts["request"] = gapi.duration(timeout)
            if _retrying(retries) and retries.per_try_timeout is not None:
                timeouts["backendRequest"] = gapi.duration(retries.per_try_timeout)
            return {"timeouts": timeouts} if timeouts else {}

        routes = []
        for obj in gapi.mesh_routes(intent, svc, extras, mirror=True):
            values = dict(obj.values)
            if obj.kind == "GRPCRoute":
                # GRPCRoute has no timeouts field (reported by _route_findings).
                values["rules"] = [{k: v for k, v in rule.items() if k != "timeouts"} for rule in values["rules"]]
            if _trivial(svc, values["rules"]):
                continue  # the route would carry nothing but add an Envoy hop
            routes.append(PlannedObject(obj.template, obj.api_version, obj.kind, obj.name, obj.namespace, values))
        out = list(routes)
        if svc.versions and routes:
            out.extend(gapi.version_services(intent, svc))
        return out

    def _route_findings(self, svc: Service, l7: list[Port], report: Report, subject: str) -> None:
        grpc_ports = [p for p in l7 if p.protocol == "grpc"]
        http_ports = [p for p in l7 if p.protocol != "grpc"]
        rules: list[tuple[str, Route | None]] = [(r.name or f"routes[{i}]", r) for i, r in enumerate(svc.routes)]
        rules.append(("default", None))
        for name, route in rules:
            # A route inheriting the service's values is covered by the service-level ("default") finding.
            timeout = svc.timeout if route is None else route.timeout
            retries = svc.retries if route is None else route.retries
            where = "" if route is None else f" (route {name})"
            if _retrying(retries):
                report.use(
                    Feature.RETRIES,
                    subject,
                    f"{retries.attempts} {'retry' if retries.attempts == 1 else 'retries'} on "
                    f"{', '.join(map(str, retries.retry_on))}{where} not rendered: "
                    "HTTPRoute rules[].retry is Gateway API experimental-channel only and GRPCRoute has none, so each "
                    "call is tried once",
                )
            for port in grpc_ports:
                if timeout is not None:
                    report.lost(
                        Feature.TIMEOUT,
                        subject,
                        f"GRPCRoute has no timeouts field: the {timeout} request timeout{where} on port {port.name} is not applied",
                    )
                if _retrying(retries) and retries.per_try_timeout is not None:
                    report.lost(
                        Feature.PER_TRY_TIMEOUT,
                        subject,
                        f"GRPCRoute has no timeouts field: the {retries.per_try_timeout} per-try timeout{where} on port {port.name} is not applied",
                    )
            if http_ports and _retrying(retries) and retries.per_try_timeout is not None:
                report.use(
                    Feature.PER_TRY_TIMEOUT,
                    subject,
                    f"perTryTimeout {retries.per_try_timeout}{where} becomes HTTPRoute timeouts.backendRequest, which "
                    "Cilium passes only the Gateway-profile conformance tests for; as retries are not rendered it bounds "
                    "the only try",
                )
        for index, route in enumerate(svc.routes):
            name = route.name or f"routes[{index}]"
            if route.match is not None and not gapi.grpc_expressible(route.match):
                for port in grpc_ports:
                    report.lost(
                        Feature.REQUEST_ROUTING,
                        subject,
                        f"route {name} matches a path, HTTP method or query parameter, which a GRPCRoute cannot: it does "
                        f"not apply to port {port.name}",
                    )
            if route.match is not None and route.match.method is not None and http_ports:
                report.approximated(
                    Feature.REQUEST_ROUTING,
                    subject,
                    f"route {name} matches the HTTP method, which Cilium passes only the Gateway-profile conformance "
                    "tests for, not the mesh profile",
                )
            if route.mirror is not None:
                report.use(
                    Feature.MIRRORING,
                    subject,
                    f"route {name} mirrors {route.mirror.percent:g}% to {route.mirror.version} with a RequestMirror filter, "
                    "which Cilium's mesh conformance report does not cover",
                )
            if route.fault is not None and route.fault.delay is not None:
                report.use(
                    Feature.FAULT_DELAY,
                    subject,
                    f"route {name}: the {route.fault.delay.fixed_delay} delay on {route.fault.delay.percent:g}% of requests is "
                    "not injected (Cilium and Gateway API have no fault injection)",
                )
            if route.fault is not None and route.fault.abort is not None:
                report.use(
                    Feature.FAULT_ABORT,
                    subject,
                    f"route {name}: the HTTP {route.fault.abort.http_status} abort on {route.fault.abort.percent:g}% of "
                    "requests is not injected (Cilium and Gateway API have no fault injection)",
                )
        for detail in _precedence_inversions(svc, bool(http_ports), bool(grpc_ports)):
            report.approximated(Feature.REQUEST_ROUTING, subject, detail)

    def _resilience(self, svc: Service, report: Report, subject: str) -> None:
        retrying = any(_retrying(_effective(svc, r)[1]) for r in [None, *svc.routes])
        if svc.retry_budget is not None and retrying:
            report.use(
                Feature.RETRY_BUDGET,
                subject,
                f"retryBudget {svc.retry_budget.percent:g}% / {svc.retry_budget.min_retries_per_second} per second is not "
                "rendered: Cilium has no retry budget API (and its routes do not retry)",
            )
        cb = svc.circuit_breaker
        if cb is not None:
            envoy = "not rendered: Cilium has it only through a hand-written CiliumEnvoyConfig that takes over the Service's Envoy cluster"
            if cb.consecutive_errors is not None or cb.base_ejection_time is not None:
                report.use(Feature.OUTLIER_DETECTION, subject, f"outlier detection (consecutiveErrors, baseEjectionTime) {envoy}")
            if cb.interval is not None or cb.max_ejection_percent is not None:
                report.use(Feature.EJECTION_LIMITS, subject, f"ejection limits (interval, maxEjectionPercent) {envoy}")
            if cb.has_connection_pool:
                report.use(Feature.CONNECTION_POOL, subject, f"connection-pool limits {envoy}")
        if svc.rate_limit is not None:
            report.use(
                Feature.RATE_LIMIT,
                subject,
                f"{svc.rate_limit.requests_per_second} requests/s is not rendered: Cilium's Bandwidth Manager limits bits "
                "per second per pod, not requests",
            )
            if svc.rate_limit.burst is not None:
                report.use(Feature.RATE_LIMIT_BURST, subject, f"burst {svc.rate_limit.burst} is not rendered: Cilium has no request rate limit")
        jwt = svc.request_authentication
        if jwt is not None and "without-jwt" in svc.widen_access:
            report.approximated(
                Feature.REQUEST_AUTHENTICATION, subject,
                f"JWTs from {jwt.issuer} are not validated (Cilium has no request authentication): the allowFrom callers "
                "are admitted without a token check (widenAccess: without-jwt)",
            )
        elif jwt is not None:
            report.lost(
                Feature.REQUEST_AUTHENTICATION, subject,
                f"JWTs from {jwt.issuer} cannot be validated (Cilium has no request authentication): every caller of "
                f"{subject} is refused instead; widenAccess: [without-jwt] admits the allowFrom callers without a token check",
            )

    # --- authorization ------------------------------------------------------------------

    def _policy(self, intent: MeshIntent, svc: Service, report: Report, subject: str, labels) -> list[PlannedObject]:
        strict = intent.spec.mesh.mtls == "strict"
        allow = rules_for(intent, svc, gateway_identity, gateway_labels)
        deny = rules_for(intent, svc, gateway_identity, gateway_labels, deny=True)
        ingress = []
        # JWT required but not checkable: admit nobody (fail closed, see the finding in _features).
        refuse_all = svc.request_authentication is not None and "without-jwt" not in svc.widen_access
        for rule in [] if refuse_all else allow:
            peer = self._peer(intent, rule, report, subject, strict)
            if peer is None:
                continue
            entry = {**peer, "toPorts": self._to_ports(rule, l7=True)}
            ingress.append(entry)
        ingress_deny = []
        for rule in deny:
            peer = self._peer(intent, rule, report, subject, strict=False)
            if peer is None:
                continue
            if rule.is_l7:
                report.use(
                    Feature.AUTHZ_DENY_RULES,
                    subject,
                    f"denyFrom {rule.caller.description} is narrowed by methods, paths or gRPC methods, which Cilium's "
                    f"ingressDeny cannot express: the caller is denied ports {', '.join(p['port'] for p in _ports(rule.ports))} entirely",
                )
            ingress_deny.append({**peer, "toPorts": self._to_ports(rule, l7=False)})
        closed = not ingress and (refuse_all or bool(allow))  # every caller refused: deny all, not allow all
        if not ingress and not ingress_deny and not closed:
            return []
        if ingress:
            report.use(Feature.AUTHZ_IDENTITY, subject)
        return [
            self._policy_object(
                svc.name,
                svc.namespace or "",
                labels,
                f"meshgen: who may call {subject}",
                selector=dict(sorted(svc.pod_selector.items())),
                # An allow-list denies everyone else (as an Istio ALLOW policy does); a deny-only
                # policy must not, or it would deny every caller.
                enable_default_deny={"ingress": bool(ingress) or closed},
                ingress=ingress,
                ingress_deny=ingress_deny,
                deny_all_ingress=closed,
            )
        ]

    def _peer(self, intent: MeshIntent, rule: Rule, report: Report, subject: str, strict: bool) -> dict[str, Any] | None:
        """The ``from*`` part of an ingress (or ingressDeny) rule for ``rule``'s caller."""
        caller = rule.caller
        if caller.kind == "gateway":
            gw = intent.gateway(caller.identities[0][1])
            assert gw is not None
            ports = ", ".join(p["port"] for p in _ports(rule.ports))
            if (gw.class_name or DEFAULT_GATEWAY_CLASS) == DEFAULT_GATEWAY_CLASS:
                report.approximated(
                    Feature.AUTHZ_IDENTITY,
                    subject,
                    f"{caller.description} is admitted as Cilium's reserved ingress identity, which every Cilium Gateway "
                    f"and Ingress of the cluster shares: any of them may reach port {ports}",
                )
                if strict:
                    report.approximated(
                        Feature.MTLS_STRICT,
                        subject,
                        f"calls from {caller.description} (reserved ingress identity) are admitted without mutual "
                        "authentication: Cilium cannot authenticate reserved identities",
                    )
                return {"fromEntities": [GATEWAY_ENTITY]}
            if gw.service_account is None:
                report.lost(
                    Feature.AUTHZ_IDENTITY,
                    subject,
                    f"{caller.description} uses gateway class {gw.class_name}, whose pods meshgen cannot name: set "
                    "gateways[].serviceAccount; until then nothing admits it",
                )
                return None
            selectors = [{NS_LABEL: gw.namespace or "", SA_LABEL: gw.service_account}]
        elif caller.kind == "namespace":
            selectors = [{NS_LABEL: ns} for ns in caller.namespaces]
        elif caller.kind in ("service", "service-account") and not (rule.peer is not None and rule.peer.versions):
            selectors = [{NS_LABEL: ns, SA_LABEL: sa} for ns, sa in caller.identities]
        else:
            # Versions and selectors: the pod labels themselves, which Cilium enforces exactly.
            selectors = [{NS_LABEL: ns, **dict(labels)} for ns, labels in caller.label_sets]
        peer: dict[str, Any] = {"fromEndpoints": [{"matchLabels": dict(sorted(s.items()))} for s in selectors]}
        if strict:
            peer["authentication"] = {"mode": "required"}
        return peer

    @staticmethod
    def _to_ports(rule: Rule, *, l7: bool) -> list[dict[str, Any]]:
        extra: dict[str, Any] = {"rules": {"http": http_rules(rule)}} if l7 and rule.is_l7 else {}
        return [{"ports": chunk, **extra} for chunk in port_chunks(_ports(rule.ports))]

    # --- egress -------------------------------------------------------------------------

    def _egress(self, intent: MeshIntent, namespaces: list[str], labels) -> list[PlannedObject]:
        hosts = intent.spec.egress
        deny = intent.spec.mesh.egress_default_deny
        if not hosts and not deny:
            return []  # no egress rules: egress is not default-deny, nothing to keep open
        rules: list[dict[str, Any]] = [
            {
                # Lets workloads resolve names and Cilium's DNS proxy learn the addresses of toFQDNs hosts.
                "toEndpoints": [{"matchLabels": dict(sorted(KUBE_DNS.items()))}],
                "toPorts": [
                    {
                        "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
                        "rules": {"dns": [{"matchPattern": "*"}]},
                    }
                ],
            }
        ]
        if deny:
            # Only calls leaving the cluster are restricted; kube-apiserver is its own entity when the
            # control plane runs outside the cluster, and in-cluster callers of the API must keep it.
            rules.append({"toEntities": ["cluster", "kube-apiserver"]})
        for host in hosts:
            ports = [{"port": str(p), "protocol": "TCP"} for p in host.ports]
            rules.append({"toFQDNs": [_fqdn(host)], "toPorts": [{"ports": chunk} for chunk in port_chunks(ports)]})
        what = "only listed external hosts, DNS and in-cluster destinations" if deny else "external hosts (visibility; egress stays open)"
        return [
            self._policy_object(
                "egress",
                ns,
                labels,
                f"meshgen: egress of namespace {ns}: {what}",
                selector={},
                enable_default_deny={"egress": deny},
                egress=rules,
            )
            for ns in namespaces
        ]

    @staticmethod
    def _policy_object(name: str, namespace: str, labels, description: str, **spec: Any) -> PlannedObject:
        values = {
            "labels": labels,
            "description": description,
            "selector": spec.get("selector") or {},
            "enable_default_deny": spec.get("enable_default_deny"),
            "ingress": spec.get("ingress") or [],
            "ingress_deny": spec.get("ingress_deny") or [],
            "egress": spec.get("egress") or [],
            # An empty ingress list with default deny admits nobody (the CRD needs some section).
            "deny_all_ingress": bool(spec.get("deny_all_ingress")),
        }
        return PlannedObject(POLICY_TEMPLATE, CILIUM, "CiliumNetworkPolicy", object_name(name), namespace, values)


def _fqdn(host: EgressHost) -> dict[str, str]:
    # "*.example.com": one DNS label, as the wildcard reads in DNS (Cilium's "**." would allow any depth).
    if host.host.startswith("*"):
        return {"matchPattern": host.host}
    return {"matchName": host.host}


def _trivial(svc: Service, rules: list[dict[str, Any]]) -> bool:
    """Whether a GAMMA route only sends everything to the Service itself (no weights, no timeouts)."""
    return len(rules) == 1 and set(rules[0]) == {"backendRefs"} and [r["name"] for r in rules[0]["backendRefs"]] == [svc.name]


# --- Gateway API rule precedence ----------------------------------------------------------


def _http_rank(match: RequestMatch | None) -> tuple[int, int, int, int, int]:
    """HTTPRoute match precedence (https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule):
    exact path, longest prefix, method, most headers, most query parameters. No path = prefix ``/``."""
    if match is None:
        return (0, 1, 0, 0, 0)
    exact, prefix = 0, 1
    if match.path is not None:
        exact = int(match.path.operator == "exact")
        prefix = len(match.path.value) if match.path.operator == "prefix" else 0
    elif match.grpc is not None:
        exact = int(match.grpc.method is not None)
        prefix = 0 if exact else len(f"/{match.grpc.service}")
    return (exact, prefix, int(match.method is not None), len(match.headers), len(match.query_params))


def _grpc_rank(match: RequestMatch | None) -> tuple[int, int, int]:
    """GRPCRoute match precedence: longest service, longest method, most headers."""
    if match is None or match.grpc is None:
        return (0, 0, len(match.headers) if match is not None else 0)
    return (len(match.grpc.service), len(match.grpc.method or ""), len(match.headers))


def _precedence_inversions(svc: Service, http: bool, grpc: bool) -> list[str]:
    """Why Gateway API may try a later intent route before an earlier one, for every such pair.

    Istio and the intent try routes in order; Gateway API orders rules by match specificity and
    keeps list order only between equally specific matches.
    """
    out: list[str] = []
    named = [(r.name or f"routes[{i}]", r) for i, r in enumerate(svc.routes)]
    order = "Gateway API orders rules by match specificity, not by position"
    for i, (first, a) in enumerate(named):
        for second, b in named[i + 1 :]:
            regex = any(r.match is not None and r.match.path is not None and r.match.path.operator == "regex" for r in (a, b))
            if http and regex and a.match is not None and b.match is not None:
                out.append(
                    f"route {first} or route {second} matches the path with a regular expression, whose precedence "
                    f"Gateway API leaves to the implementation: Cilium may try {second} first where both match; the "
                    f"intent tries {first} first"
                )
            elif http and _http_rank(b.match) > _http_rank(a.match):
                out.append(
                    f"route {second} has a more specific HTTP match than route {first}, so Cilium tries it first where "
                    f"both match ({order}); the intent tries {first} first"
                )
            elif grpc and gapi.grpc_expressible(a.match) and gapi.grpc_expressible(b.match) and _grpc_rank(b.match) > _grpc_rank(a.match):
                out.append(
                    f"route {second} has a more specific gRPC match than route {first}, so Cilium tries it first where "
                    f"both match ({order}); the intent tries {first} first"
                )
    return out
