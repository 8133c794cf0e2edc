"""Traffic without a mesh: Services, Gateway API at the edge, and what the applications must do.

Between pods, a Kubernetes Service spreads connections over every ready endpoint (kube-proxy or
the CNI's replacement picks one per connection); nothing reads requests, so header and path
routes, retries, timeouts, mirroring, faults, outlier detection and rate limits have no object
to live in. Each one is reported per service, naming what the calling (or called) application
must do instead, so moving to a mesh later is a re-render that turns those findings into objects.

At the edge the Gateway API controller of ``gateways[].className`` (default ``nginx``, the
GatewayClass NGINX Gateway Fabric installs, https://docs.nginx.com/nginx-gateway-fabric/) is a
real proxy: gateway routes keep their matches, filters and timeouts, and a gateway route to a
service with versions is split over one Service per version (``<service>-<version>``) by the
version weights, after a rule per header route of the service (:func:`gateways`), so canaries and
test-user routes hold for north-south traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Retries, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject

#: GatewayClass when gateways[].className is unset: the one NGINX Gateway Fabric's install creates.
DEFAULT_GATEWAY_CLASS = "nginx"
#: HTTPRoute ``spec.rules`` maxItems in the Gateway API CRD (../shared/crds/gateway-api/standard).
MAX_RULES = 16


def _retrying(retries: Retries | None) -> bool:
    return retries is not None and retries.attempts > 0


@dataclass
class Edge:
    """What the gateways apply of each service's traffic rules, for the findings.

    Attributes:
        weights: ``(namespace, service)`` -> gateways whose routes split it by version weight.
        routes: ``(namespace, service, route index)`` -> gateways whose routes apply that header route.
    """

    weights: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    routes: dict[tuple[str, str, int], set[str]] = field(default_factory=dict)


def gateways(intent: MeshIntent, report: Report, platform: str) -> tuple[list[PlannedObject], Edge]:
    """Gateway API objects for every intent gateway, with version weights and routes applied at the edge.

    Each HTTPRoute rule whose one backend is a service with several versions becomes, in order: one
    rule per intent route of that service (``match`` -> ``version``) whose conditions can be ANDed
    with the gateway rule's (:func:`merge_match`), sending to the version's Service; then the
    gateway rule itself with weighted backendRefs to every version's Service. Gateway API tries the
    more specific match first (https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule), and
    a merged rule carries every condition of the gateway rule plus the route's, so it is tried
    before the weighted rule it narrows.

    Returns:
        The objects (:func:`meshgen.platforms.gateway_api.plan_gateways`, plus the per-version
        Services the rules name) and what was applied at the edge.
    """
    for gw in intent.spec.gateways:
        if gw.class_name is None:
            report.approximated(
                Feature.GATEWAY_HTTP,
                f"gateway {gw.namespace}/{gw.name}",
                f"no mesh ships an ingress controller: the Gateway uses class {DEFAULT_GATEWAY_CLASS} (NGINX Gateway "
                "Fabric's default GatewayClass); set gateways[].className to the Gateway API implementation installed",
            )
    objects = gapi.plan_gateways(intent, gapi.GatewayOptions(DEFAULT_GATEWAY_CLASS, platform), report)
    versioned = {(s.namespace or "", s.name): s for s in intent.spec.services if len(s.versions) > 1}
    edge = Edge()
    out: list[PlannedObject] = []
    for obj in objects:
        rules_in = obj.values.get("rules", []) if obj.kind == "HTTPRoute" else []
        if not any(
            len(r.get("backendRefs", [])) == 1 and _key(obj, r["backendRefs"][0]) in versioned for r in rules_in
        ):
            out.append(obj)
            continue
        gw = f"{obj.namespace}/{obj.values['parents'][0]['name']}"
        rules = []
        # HTTPRoute spec.rules holds at most MAX_RULES: edge routes only fill what the gateway's own rules leave.
        room = MAX_RULES - len(rules_in)
        for rule in rules_in:
            refs = rule.get("backendRefs", [])
            svc = versioned.get(_key(obj, refs[0])) if len(refs) == 1 else None
            if svc is None:
                rules.append(rule)
                continue
            ref = refs[0]
            key = (svc.namespace or "", svc.name)
            edge.weights.setdefault(key, set()).add(gw)
            for index, route in enumerate(svc.routes):
                if route.version is None or route.match is None:
                    continue
                wanted = gapi.http_match(route.match)
                merged = [m for given in (rule.get("matches") or [{}]) if (m := merge_match(given, wanted)) is not None]
                if not merged or room <= 0:
                    continue
                room -= 1
                edge.routes.setdefault((*key, index), set()).add(gw)
                rules.append({**rule, "matches": merged, "backendRefs": [_version_ref(svc, route.version, ref)]})
            weighted = [{**_version_ref(svc, v.name, ref), "weight": v.weight} for v in svc.versions]
            rules.append({**rule, "backendRefs": weighted})
        out.append(
            PlannedObject(
                obj.template, obj.api_version, obj.kind, obj.name, obj.namespace, {**obj.values, "rules": rules}
            )
        )
    for key in sorted(edge.weights):
        out.extend(gapi.version_services(intent, versioned[key]))
    return out, edge


def _key(obj: PlannedObject, ref: dict[str, Any]) -> tuple[str, str]:
    return ref.get("namespace", obj.namespace or ""), ref["name"]


def _version_ref(svc: Service, version: str, ref: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": gapi.version_service_name(svc, version)}
    if "namespace" in ref:
        out["namespace"] = ref["namespace"]
    out["port"] = ref["port"]
    return out


def merge_match(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any] | None:
    """Two ``HTTPRouteMatch`` objects ANDed into one, or None when one match cannot say both.

    Conditions on different attributes combine; two different path conditions, two different
    methods, or two different conditions on one header or query parameter do not.
    """
    out: dict[str, Any] = {}
    for name in ("path", "method"):
        a, b = first.get(name), second.get(name)
        if a is not None and b is not None and a != b:
            return None
        if a is not None or b is not None:
            out[name] = a if a is not None else b
    for name in ("headers", "queryParams"):
        merged = {m["name"]: m for m in first.get(name, [])}
        for m in second.get(name, []):
            if m["name"] in merged and merged[m["name"]] != m:
                return None
            merged[m["name"]] = m
        if merged:
            out[name] = [merged[k] for k in sorted(merged)]
    return {k: out[k] for k in ("path", "headers", "queryParams", "method") if k in out}


def service_findings(intent: MeshIntent, svc: Service, report: Report, edge: Edge) -> None:
    """Report every traffic feature of ``svc`` that needs a proxy, with what the application must do."""
    subject = f"{svc.namespace}/{svc.name}"
    key = (svc.namespace or "", svc.name)
    if len(svc.versions) > 1:
        weights = ", ".join(f"{v.name} {v.weight}%" for v in svc.versions)
        edges = sorted(edge.weights.get(key, ()))
        spread = (
            "calls from other services go through the Service, which spreads connections over the pods of every "
            "version by endpoint count; run replicas in the ratio of the weights, or move the split into the callers"
        )
        if edges:
            report.approximated(
                Feature.CANARY_WEIGHTS,
                subject,
                f"weights {weights} apply only to traffic from gateway {', '.join(edges)} (HTTPRoute backendRefs to "
                f"per-version Services); {spread}",
            )
        else:
            report.lost(Feature.CANARY_WEIGHTS, subject, f"weights {weights} are not applied: {spread}")
    for index, route in enumerate(svc.routes):
        name = route.name or f"routes[{index}]"
        if route.version is not None and route.match is not None and len(svc.versions) > 1:
            edges = sorted(edge.routes.get((*key, index), ()))
            if edges:
                report.approximated(
                    Feature.REQUEST_ROUTING,
                    subject,
                    f"route {name} sends matching requests to version {route.version} only through gateway "
                    f"{', '.join(edges)} (an HTTPRoute rule with both matches); calls between services reach any version",
                )
            else:
                report.lost(
                    Feature.REQUEST_ROUTING,
                    subject,
                    f"route {name} sends matching requests to version {route.version}; nothing reads requests between "
                    "pods, so they reach any version",
                )
        if route.mirror is not None:
            report.lost(
                Feature.MIRRORING,
                subject,
                f"route {name}: {route.mirror.percent:g}% of requests are not copied to {route.mirror.version} (no proxy)",
            )
        if route.fault is not None and route.fault.delay is not None:
            report.lost(
                Feature.FAULT_DELAY,
                subject,
                f"route {name}: the {route.fault.delay.fixed_delay} delay on {route.fault.delay.percent:g}% of requests is "
                "not injected (no proxy; a chaos tool or the application must inject it)",
            )
        if route.fault is not None and route.fault.abort is not None:
            report.lost(
                Feature.FAULT_ABORT,
                subject,
                f"route {name}: the HTTP {route.fault.abort.http_status} abort on {route.fault.abort.percent:g}% of requests "
                "is not injected (no proxy; a chaos tool or the application must inject it)",
            )
    _resilience(svc, report, subject)


def _resilience(svc: Service, report: Report, subject: str) -> None:
    callers = f"callers of {svc.name}"
    scopes: list[tuple[str, Any, Retries | None]] = [("", svc.timeout, svc.retries)]
    for index, route in enumerate(svc.routes):
        scopes.append((f" on route {route.name or f'routes[{index}]'}", route.timeout, route.retries))
    for where, timeout, retries in scopes:
        if timeout is not None:
            report.lost(
                Feature.TIMEOUT,
                subject,
                f"the {timeout} request timeout{where} is not applied: {callers} must set it as their client's deadline",
            )
        if _retrying(retries):
            conditions = ", ".join(map(str, retries.retry_on))
            report.lost(
                Feature.RETRIES,
                subject,
                f"{retries.attempts} {'retry' if retries.attempts == 1 else 'retries'} on {conditions}{where} "
                f"{'is' if retries.attempts == 1 else 'are'} not made: "
                f"{callers} must retry in their client library (idempotent requests only)",
            )
            if retries.per_try_timeout is not None:
                report.lost(
                    Feature.PER_TRY_TIMEOUT,
                    subject,
                    f"the {retries.per_try_timeout} per-try timeout{where} is not applied: {callers} must bound each try",
                )
    if svc.retry_budget is not None:
        b = svc.retry_budget
        report.lost(
            Feature.RETRY_BUDGET,
            subject,
            f"retryBudget {b.percent:g}% / {b.min_retries_per_second} per second is not applied: {callers} must cap "
            "retries in their client library (for example gRPC retry throttling)",
        )
    cb = svc.circuit_breaker
    if cb is not None:
        if cb.consecutive_errors is not None or cb.base_ejection_time is not None:
            report.lost(
                Feature.OUTLIER_DETECTION,
                subject,
                "outlier detection is not applied: the Service keeps sending to pods that fail but pass their readiness "
                f"probe; {callers} need client-side load balancing with ejection, or a stricter readiness probe",
            )
        if cb.interval is not None or cb.max_ejection_percent is not None:
            report.lost(
                Feature.EJECTION_LIMITS,
                subject,
                "ejection limits (interval, maxEjectionPercent) have no outlier detection to limit",
            )
        if cb.has_connection_pool:
            report.lost(
                Feature.CONNECTION_POOL,
                subject,
                f"connection-pool limits are not applied: {callers} must limit connections and pending requests in their "
                "client library",
            )
    if svc.rate_limit is not None:
        report.lost(
            Feature.RATE_LIMIT,
            subject,
            f"{svc.rate_limit.requests_per_second} requests/s is not enforced: {svc.name} must limit its own request rate",
        )
        if svc.rate_limit.burst is not None:
            report.lost(
                Feature.RATE_LIMIT_BURST, subject, f"burst {svc.rate_limit.burst} is not enforced (no rate limit)"
            )


def service_objects(intent: MeshIntent, svc: Service) -> list[PlannedObject]:
    """The service's own Service (ports with appProtocol), as every platform emits it."""
    return [gapi.service_object(intent, svc)]
