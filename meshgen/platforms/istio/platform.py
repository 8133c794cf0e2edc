"""Istio (sidecar mode), as an Istio expert writes it.

Per namespace: the Namespace labelled ``istio-injection: enabled``, a ``PeerAuthentication`` for
the mTLS mode and, under ``defaultDeny``, an allow-nothing ``AuthorizationPolicy``. Per service:
its Service (ports with ``appProtocol``), a ``DestinationRule`` (subsets, outlier detection,
connection pool, retry budget), a ``VirtualService`` (ordered matches, then the weighted route;
timeout; retries, ``attempts: 0`` when off because Istio retries twice by default; faults;
mirroring), ``AuthorizationPolicy`` ALLOW/DENY rules with SPIFFE principals, a
``RequestAuthentication`` for JWTs and an ``EnvoyFilter`` local rate limit. Gateways are Gateway
API ``Gateway`` (class ``istio``) and routes; egress hosts are ``ServiceEntry`` objects.

Sources: https://istio.io/latest/docs/reference/config/ (networking v1, security v1), CRDs of
Istio 1.30 in ../shared/crds/istio, ../shared/design/platform-matrix.md sections 2-11.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import Gateway, MeshIntent, Retries, Route, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import Plan, PlannedObject, egress_object_names, object_name, sort_objects
from meshgen.platforms.enforcement import ISTIO_DRY_RUN, audited
from meshgen.platforms.helm_values import TRUST_MANAGER, Chart
from meshgen.platforms.identity import Rule, admits_exactly, deny_by_identity, rules_for
from meshgen.platforms.istio.alerts import plan_alerts
from meshgen.platforms.istio.capabilities import COLUMN
from meshgen.platforms.istio.certificates import plan_certificates
from meshgen.platforms.istio.control_plane import plan_control_plane, plan_proxy_resources
from meshgen.platforms.istio.delivery import DELIVERY
from meshgen.platforms.istio.telemetry import plan_telemetry
from meshgen.platforms.sections import Section, compose, control_plane_namespace

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"


def fqdn(svc: Service) -> str:
    """The Service's cluster-local DNS name, as Istio resolves hosts: ``reviews.bookinfo.svc.cluster.local``."""
    return f"{svc.name}.{svc.namespace}.svc.cluster.local"


def gateway_identity(gw: Gateway) -> tuple[str, str]:
    """Istio deploys a Gateway API gateway as ``<name>-<class>`` (Deployment and ServiceAccount)."""
    return gw.namespace or "", gw.service_account or f"{gw.name}-{gw.class_name or 'istio'}"


def gateway_labels(gw: Gateway) -> dict[str, str]:
    """The label Istio puts on a gateway's pods."""
    return {"gateway.networking.k8s.io/gateway-name": gw.name}


def permissive_under_default_deny(enforced: list[str]) -> str:
    """The finding of ``mtls: permissive`` with ``defaultDeny`` on Istio (sidecar and ambient).

    Principals and namespaces "will never match when the traffic is plain text"
    (https://istio.io/latest/news/security/istio-security-2021-004/): under allow-nothing every
    ALLOW meshgen writes is principal-based, so PERMISSIVE lets no plaintext caller of the
    ``enforced`` services (names) in.
    """
    return (
        f"mtls: permissive under defaultDeny admits no plaintext caller of {', '.join(enforced)}: plaintext callers "
        "have no principal, so allow-nothing and every principal-based allowFrom refuse them; they are admitted only "
        "where a policy has no principal condition (services in audit). For a permissive migration mesh the callers "
        "first, or set defaultDeny: false until they are"
    )


def retry_on(retries: Retries) -> str:
    """Envoy ``x-envoy-retry-on`` / ``x-envoy-retry-grpc-on`` list; bare status codes allowed."""
    return ",".join(str(c) for c in retries.retry_on)


class IstioPlatform:
    """Istio in sidecar mode (Istio 1.27+, networking and security v1 APIs)."""

    name = "istio"
    description = "Istio sidecar mode: VirtualService, DestinationRule, AuthorizationPolicy, Gateway API ingress"
    capabilities = COLUMN
    template_folders = ("istio",)
    control_plane_namespace = "istio-system"
    unrotated_mesh_ca = None
    delivery = DELIVERY
    charts = (
        Chart("istiod", "istio/istiod", "istiod", "istio-system"),
        Chart("istio-csr", "jetstack/cert-manager-istio-csr", "cert-manager-istio-csr", "cert-manager"),
        TRUST_MANAGER,
    )

    def operations(self, intent: MeshIntent, report: Report) -> Section:
        """Certificates, control-plane HA values, telemetry and alerts (see this package's modules). Pure."""
        cp_ns = control_plane_namespace(intent, self.control_plane_namespace)
        return compose(intent, report, cp_ns, (plan_certificates, plan_control_plane, plan_proxy_resources, plan_telemetry), plan_alerts)

    def plan(self, intent: MeshIntent) -> Plan:
        """Decide every Istio object for ``intent``. Pure."""
        report = Report(self.name, self.capabilities)
        labels = gapi.labels_for(intent)
        objects: list[PlannedObject] = []
        mesh = intent.spec.mesh
        namespaces = intent.namespaces()

        for ns in namespaces:
            objects.append(
                PlannedObject("core/namespace.yaml.j2", "v1", "Namespace", ns, None, {"labels": {**labels, "istio-injection": "enabled"}})
            )
            objects.append(
                PlannedObject(
                    "istio/peer-authentication.yaml.j2", SECURITY, "PeerAuthentication", "default", ns, {"labels": labels, "mode": mesh.mtls.upper()}
                )
            )
            if mesh.default_deny:
                # Mesh-wide audit: the namespace's default deny is dry-run too (enforcement.py).
                dry_run = ISTIO_DRY_RUN if mesh.enforcement == "audit" else {}
                objects.append(PlannedObject("istio/authorization-policy.yaml.j2", SECURITY, "AuthorizationPolicy", "allow-nothing", ns, {"labels": labels, "annotations": dry_run, "selector": None, "target_refs": [], "action": None, "rules": None}))
        report.use(Feature.MTLS_STRICT if mesh.mtls == "strict" else Feature.MTLS_PERMISSIVE, "mesh")
        enforced = [svc.name for svc in intent.spec.services if not audited(intent, svc)]
        if mesh.mtls == "permissive" and mesh.default_deny and enforced:
            # principals and namespaces "will never match when the traffic is plain text"
            # (https://istio.io/latest/news/security/istio-security-2021-004/): under allow-nothing
            # every ALLOW is principal-based, so PERMISSIVE lets no plaintext caller in.
            # Lost, as on Linkerd: the mode's purpose (let not-yet-meshed callers in) is not kept,
            # and admitting plaintext would admit every unmeshed caller, not only the allowed ones.
            report.lost(Feature.MTLS_PERMISSIVE, "mesh", permissive_under_default_deny(enforced))

        for svc in intent.spec.services:
            objects.extend(self._service(intent, svc, report))

        objects.extend(gapi.plan_gateways(intent, gapi.GatewayOptions("istio", self.name), report))
        if mesh.default_deny:
            for gw in intent.spec.gateways:
                # The gateway is the public entry point: allow-nothing must not close it.
                objects.append(
                    PlannedObject(
                        "istio/authorization-policy.yaml.j2",
                        SECURITY,
                        "AuthorizationPolicy",
                        object_name(gw.name, "gateway-ingress"),
                        gw.namespace,
                        {
                            "labels": labels,
                            "selector": None,
                            "target_refs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.name}],
                            "action": "ALLOW",
                            "rules": [{}],
                        },
                    )
                )
        objects.extend(self._egress(intent, namespaces, labels))
        return Plan(self.name, sort_objects(objects), (), report.sorted())

    # --- per service --------------------------------------------------------------------

    def _service(self, intent: MeshIntent, svc: Service, report: Report) -> list[PlannedObject]:
        subject = f"{svc.namespace}/{svc.name}"
        labels = gapi.labels_for(intent)
        out = [
            gapi.service_object(intent, svc)
        ]
        dr = self._destination_rule(svc, report, subject)
        if dr is not None:
            out.append(PlannedObject("istio/destination-rule.yaml.j2", NETWORKING, "DestinationRule", svc.name, svc.namespace, {"labels": labels, **dr}))
        vs = self._virtual_service(svc, report, subject)
        if vs is not None:
            out.append(PlannedObject("istio/virtual-service.yaml.j2", NETWORKING, "VirtualService", svc.name, svc.namespace, {"labels": labels, **vs}))
        out.extend(self._authorization(intent, svc, report, subject, labels))
        # A TCP-only service has no requests to count: meshgen.platforms.effects reports it lost.
        if svc.rate_limit is not None and any(p.is_l7 for p in svc.ports):
            out.append(self._rate_limit(svc, report, subject, labels))
        return out

    def _destination_rule(self, svc: Service, report: Report, subject: str) -> dict[str, Any] | None:
        policy: dict[str, Any] = {}
        cb = svc.circuit_breaker
        if cb is not None and cb.has_connection_pool:
            pool: dict[str, Any] = {}
            if cb.max_connections is not None:
                pool["tcp"] = {"maxConnections": cb.max_connections}
            http: dict[str, Any] = {}
            if cb.max_pending_requests is not None:
                http["http1MaxPendingRequests"] = cb.max_pending_requests
            if cb.max_requests is not None:
                http["http2MaxRequests"] = cb.max_requests
            if http:
                pool["http"] = http
            policy["connectionPool"] = pool
        if cb is not None and cb.has_outlier_detection:
            od: dict[str, Any] = {}
            if cb.consecutive_errors is not None:
                od["consecutive5xxErrors"] = cb.consecutive_errors
            if cb.interval is not None:
                od["interval"] = str(cb.interval)
            if cb.base_ejection_time is not None:
                od["baseEjectionTime"] = str(cb.base_ejection_time)
            if cb.max_ejection_percent is not None:
                od["maxEjectionPercent"] = cb.max_ejection_percent
            policy["outlierDetection"] = od
        if svc.retry_budget is not None and _any_retries(svc):
            budget = svc.retry_budget
            report.use(
                Feature.RETRY_BUDGET,
                subject,
                f"retryBudget percent {_num(budget.percent)} of active requests; minRetriesPerSecond "
                f"{budget.min_retries_per_second} becomes minRetryConcurrency {budget.min_retries_per_second} "
                "(Envoy budgets concurrent retries, not retries per second)",
            )
            policy["retryBudget"] = {"percent": float(budget.percent), "minRetryConcurrency": budget.min_retries_per_second}
        subsets = [{"name": v.name, "labels": dict(sorted(v.pod_labels.items()))} for v in svc.versions]
        if not policy and not subsets:
            return None
        return {"host": fqdn(svc), "traffic_policy": policy, "subsets": subsets}

    def _virtual_service(self, svc: Service, report: Report, subject: str) -> dict[str, Any] | None:
        host = fqdn(svc)
        if not any(p.is_l7 for p in svc.ports):
            if len(svc.versions) < 1:
                return None
            tcp = [{"route": _weighted(svc, host)}]
            return {"host": host, "http": [], "tcp": tcp}
        http = []
        for index, route in enumerate(svc.routes):
            http.append(self._http_route(svc, route, route.name or f"route-{index}", report, subject))
        http.append(self._http_route(svc, None, "default", report, subject))
        # http rules never see a tcp or tls port's connections: without a tcp rule they would reach
        # every version's pods whatever the weights.
        tcp = [{"route": _weighted(svc, host)}] if svc.versions and not all(p.is_l7 for p in svc.ports) else []
        return {"host": host, "http": http, "tcp": tcp}

    def _http_route(self, svc: Service, route: Route | None, name: str, report: Report, subject: str) -> dict[str, Any]:
        host = fqdn(svc)
        rule: dict[str, Any] = {"name": name}
        if route is not None and route.match is not None:
            rule["match"] = [_istio_match(route.match)]
        if route is not None and route.version is not None:
            rule["route"] = [{"destination": {"host": host, "subset": route.version}}]
        else:
            rule["route"] = _weighted(svc, host)
        timeout = route.timeout if route is not None and route.timeout is not None else svc.timeout
        retries = route.retries if route is not None and route.retries is not None else svc.retries
        fault = route.fault if route is not None else None
        if fault is not None:
            body: dict[str, Any] = {}
            if fault.delay is not None:
                body["delay"] = {"fixedDelay": str(fault.delay.fixed_delay), "percentage": {"value": float(fault.delay.percent)}}
            if fault.abort is not None:
                body["abort"] = {"httpStatus": fault.abort.http_status, "percentage": {"value": float(fault.abort.percent)}}
            rule["fault"] = body
            if timeout is not None or (retries is not None and retries.attempts > 0):
                report.approximated(
                    Feature.TIMEOUT,
                    subject,
                    f"rule {name} injects faults; Istio does not apply timeouts or retries on a rule with a fault, so they are left out there",
                )
        else:
            if timeout is not None:
                rule["timeout"] = str(timeout)
            rule["retries"] = _retries(retries)
        if route is not None and route.mirror is not None:
            rule["mirror"] = {"host": host, "subset": route.mirror.version}
            rule["mirrorPercentage"] = {"value": float(route.mirror.percent)}
        return rule

    # --- authorization ------------------------------------------------------------------

    def _authorization(self, intent: MeshIntent, svc: Service, report: Report, subject: str, labels) -> list[PlannedObject]:
        td = intent.spec.mesh.trust_domain
        out = []
        selector = dict(sorted(svc.pod_selector.items()))
        allow = rules_for(intent, svc, gateway_identity, gateway_labels)
        deny = rules_for(intent, svc, gateway_identity, gateway_labels, deny=True)
        widen = tuple(svc.widen_access)
        allow_rules = [r for rule in allow if (r := self._rule(rule, td, report, subject, Feature.AUTHZ_IDENTITY, widen)) is not None]
        if allow and not allow_rules and not intent.spec.mesh.default_deny:
            # Every caller was refused: without this, no ALLOW policy would mean "allow everyone".
            out.append(
                PlannedObject(
                    "istio/authorization-policy.yaml.j2", SECURITY, "AuthorizationPolicy", svc.name, svc.namespace,
                    {"labels": labels, "selector": selector, "target_refs": [], "action": "ALLOW", "rules": None},
                )
            )
        if allow_rules:
            out.append(
                PlannedObject(
                    "istio/authorization-policy.yaml.j2",
                    SECURITY,
                    "AuthorizationPolicy",
                    svc.name,
                    svc.namespace,
                    {"labels": labels, "selector": selector, "target_refs": [], "action": "ALLOW", "rules": allow_rules},
                )
            )
        plaintext = intent.spec.mesh.mtls == "permissive"
        deny_rules = [
            r for rule in deny if (r := self._rule(deny_by_identity(rule, report, subject), td, report, subject, Feature.AUTHZ_DENY_RULES, plaintext=plaintext)) is not None
        ]
        if deny_rules:
            out.append(
                PlannedObject(
                    "istio/authorization-policy.yaml.j2",
                    SECURITY,
                    "AuthorizationPolicy",
                    object_name(svc.name, "deny"),
                    svc.namespace,
                    {"labels": labels, "selector": selector, "target_refs": [], "action": "DENY", "rules": deny_rules},
                )
            )
        jwt = svc.request_authentication
        if jwt is not None:
            rule: dict[str, Any] = {"issuer": jwt.issuer, "jwksUri": jwt.jwks_uri}
            if jwt.audiences:
                rule["audiences"] = list(jwt.audiences)
            out.append(
                PlannedObject(
                    "istio/request-authentication.yaml.j2",
                    SECURITY,
                    "RequestAuthentication",
                    svc.name,
                    svc.namespace,
                    {"labels": labels, "selector": selector, "jwt_rules": [rule]},
                )
            )
            # RequestAuthentication alone lets requests without a token through: deny those.
            require = [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}]
            for claim, values in sorted(jwt.required_claims.items()):
                require.append({"when": [{"key": f"request.auth.claims[{claim}]", "notValues": list(values)}]})
            out.append(
                PlannedObject(
                    "istio/authorization-policy.yaml.j2",
                    SECURITY,
                    "AuthorizationPolicy",
                    object_name(svc.name, "require-jwt"),
                    svc.namespace,
                    {"labels": labels, "selector": selector, "target_refs": [], "action": "DENY", "rules": require},
                )
            )
        if audited(intent, svc):
            out = self._audit(intent, svc, out, subject, labels, selector)
        elif intent.spec.mesh.enforcement == "audit" and intent.spec.mesh.default_deny and not allow_rules:
            # The namespace's allow-nothing is dry-run under mesh-wide audit; a service that keeps
            # enforcing keeps its default deny: an ALLOW policy without rules matches nothing.
            out.append(
                PlannedObject(
                    "istio/authorization-policy.yaml.j2", SECURITY, "AuthorizationPolicy", object_name(svc.name, "enforce"), svc.namespace,
                    {"labels": labels, "selector": selector, "target_refs": [], "action": "ALLOW", "rules": []},
                )
            )
        return out

    @staticmethod
    def _audit(intent: MeshIntent, svc: Service, policies: list[PlannedObject], subject: str, labels, selector) -> list[PlannedObject]:
        """``svc``'s AuthorizationPolicies in dry-run (``istio.io/dry-run: "true"``: evaluated and
        logged, not enforced; https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/).

        Under defaultDeny with the mesh enforcing, the namespace's allow-nothing still selects the
        service; an enforced ALLOW-all for it (``<service>-audit-allow``) keeps it reachable while
        its own rules are audited (ALLOW policies are a union: one match allows).
        """
        out = [
            dataclasses.replace(p, values={**p.values, "annotations": ISTIO_DRY_RUN}) if p.kind == "AuthorizationPolicy" else p
            for p in policies
        ]
        if intent.spec.mesh.default_deny and intent.spec.mesh.enforcement != "audit":
            out.append(
                PlannedObject(
                    "istio/authorization-policy.yaml.j2", SECURITY, "AuthorizationPolicy", object_name(svc.name, "audit-allow"), svc.namespace,
                    {"labels": labels, "selector": selector, "target_refs": [], "action": "ALLOW", "rules": [{}]},
                )
            )
        return out

    def _rule(
        self,
        rule: Rule,
        td: str,
        report: Report,
        subject: str,
        feature: Feature,
        widen: tuple[str, ...] = (),
        *,
        plaintext: bool = False,
    ) -> dict[str, Any] | None:
        """One AuthorizationPolicy rule for ``rule`` (None: refused, nothing admitted in its place).

        ``plaintext`` (deny rules under mtls permissive): ``principals`` and ``namespaces`` are
        mTLS-only and "will never match when the traffic is plain text"
        (https://istio.io/latest/news/security/istio-security-2021-004/), so a plaintext request
        from the denied caller would pass a DENY written with them alone. The rule then also
        denies requests without a principal (``notPrincipals: ["*"]``): a plaintext caller cannot
        be told apart from the denied one, so it is refused too (fails closed; reported).
        """
        caller = rule.caller
        allow = feature is not Feature.AUTHZ_DENY_RULES
        if not admits_exactly(caller, allow, widen, report, subject):
            return None  # refused: leaving the rule out admits nobody in its place (the safe side)
        source: dict[str, Any]
        if caller.kind == "namespace":
            source = {"namespaces": list(caller.namespaces)}
        else:
            source = {"principals": [f"{td}/ns/{ns}/sa/{sa}" for ns, sa in caller.identities]}
        operation: dict[str, Any] = {"ports": [str(p) for p in sorted({p.pod_port for p in rule.ports})]}
        if rule.methods:
            operation["methods"] = list(rule.methods)
        if rule.all_paths:
            operation["paths"] = list(rule.all_paths)
        sources = [{"source": source}]
        if plaintext and not allow:
            sources.append({"source": {"notPrincipals": ["*"]}})
            report.approximated(
                Feature.AUTHZ_DENY_RULES,
                subject,
                f"mtls: permissive: a plaintext caller has no principal, so it cannot be told apart from {caller.description}; "
                f"the deny also refuses every plaintext caller on ports {', '.join(operation['ports'])} (fails closed)",
            )
        return {"from": sources, "to": [{"operation": operation}]}

    def _rate_limit(self, svc: Service, report: Report, subject: str, labels) -> PlannedObject:
        limit = svc.rate_limit
        assert limit is not None
        per_pod = max(1, math.ceil(limit.requests_per_second / svc.replicas))
        burst = max(per_pod, math.ceil((limit.burst or limit.requests_per_second) / svc.replicas))
        report.use(
            Feature.RATE_LIMIT,
            subject,
            f"{limit.requests_per_second} requests/s for the service becomes an EnvoyFilter token bucket of "
            f"{per_pod}/s (burst {burst}) on each of its {svc.replicas} pods",
        )
        return PlannedObject(
            "istio/envoy-filter.yaml.j2",
            "networking.istio.io/v1alpha3",
            "EnvoyFilter",
            object_name(svc.name, "ratelimit"),
            svc.namespace,
            {"labels": labels, "selector": dict(sorted(svc.pod_selector.items())), "tokens_per_fill": per_pod, "max_tokens": burst},
        )

    # --- egress -------------------------------------------------------------------------

    def _egress(self, intent: MeshIntent, namespaces: list[str], labels) -> list[PlannedObject]:
        out = []
        home = intent.spec.defaults.namespace
        egress_names = egress_object_names(intent.spec.egress)
        for host in intent.spec.egress:
            proto = {"http": "HTTP", "tls": "TLS", "tcp": "TCP", "grpc": "GRPC"}[host.protocol]
            out.append(
                PlannedObject(
                    "istio/service-entry.yaml.j2",
                    NETWORKING,
                    "ServiceEntry",
                    egress_names[(host.host, None)],
                    home,
                    {
                        "labels": labels,
                        "hosts": [host.host],
                        "ports": [{"number": p, "name": f"{host.protocol}-{p}", "protocol": proto} for p in host.ports],
                        "resolution": "NONE" if host.host.startswith("*") else "DNS",
                    },
                )
            )
        if intent.spec.mesh.egress_default_deny:
            for ns in namespaces:
                out.append(PlannedObject("istio/sidecar.yaml.j2", NETWORKING, "Sidecar", "default", ns, {"labels": labels, "mode": "REGISTRY_ONLY"}))
        return out


def _any_retries(svc: Service) -> bool:
    return any(r is not None and r.attempts > 0 for r in [svc.retries, *(route.retries for route in svc.routes)])


def _retries(retries: Retries | None) -> dict[str, Any]:
    if retries is None or retries.attempts == 0:
        return {"attempts": 0}  # Istio retries twice when a route says nothing
    out: dict[str, Any] = {"attempts": retries.attempts}
    if retries.per_try_timeout is not None:
        out["perTryTimeout"] = str(retries.per_try_timeout)
    out["retryOn"] = retry_on(retries)
    return out


def _weighted(svc: Service, host: str) -> list[dict[str, Any]]:
    if not svc.versions:
        return [{"destination": {"host": host}}]
    if len(svc.versions) == 1:
        return [{"destination": {"host": host, "subset": svc.versions[0].name}}]
    return [{"destination": {"host": host, "subset": v.name}, "weight": v.weight} for v in svc.versions]


def _istio_match(match) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if match.path is not None:
        out["uri"] = {match.path.operator: match.path.value}
    elif match.grpc is not None:
        g = match.grpc
        out["uri"] = {"exact": f"/{g.service}/{g.method}"} if g.method else {"prefix": f"/{g.service}/"}
    if match.method is not None:
        out["method"] = {"exact": match.method}
    if match.headers:
        out["headers"] = {k: {v.operator: v.value} for k, v in sorted(match.headers.items())}
    if match.query_params:
        out["queryParams"] = {k: {v.operator: v.value} for k, v in sorted(match.query_params.items())}
    return out


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
