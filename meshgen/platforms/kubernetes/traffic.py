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
version weights, so canary weights hold for north-south traffic.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Retries, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject

#: GatewayClass when gateways[].className is unset: the one NGINX Gateway Fabric's install creates.
DEFAULT_GATEWAY_CLASS = "nginx"


def _retrying(retries: Retries | None) -> bool:
    return retries is not None and retries.attempts > 0


def gateways(intent: MeshIntent, report: Report, platform: str) -> list[PlannedObject]:
    """Gateway API objects for every intent gateway, with version weights applied at the edge.

    Returns:
        Gateways, routes and ReferenceGrants (:func:`meshgen.platforms.gateway_api.plan_gateways`),
        with each HTTPRoute backendRef to a service with versions replaced by weighted backendRefs
        to its per-version Services, and those Services.
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
    versioned: dict[tuple[str, str], Service] = {
        (s.namespace or "", s.name): s for s in intent.spec.services if len(s.versions) > 1
    }
    out: list[PlannedObject] = []
    split: dict[tuple[str, str], Service] = {}
    for obj in objects:
        if obj.kind != "HTTPRoute" or not versioned:
            out.append(obj)
            continue
        rules = []
        for rule in obj.values["rules"]:
            refs = []
            for ref in rule.get("backendRefs", []):
                key = (ref.get("namespace", obj.namespace or ""), ref["name"])
                svc = versioned.get(key)
                if svc is None:
                    refs.append(ref)
                    continue
                split[key] = svc
                for version in svc.versions:
                    new = {"name": gapi.version_service_name(svc, version.name)}
                    if "namespace" in ref:
                        new["namespace"] = ref["namespace"]
                    new["port"] = ref["port"]
                    new["weight"] = version.weight
                    refs.append(new)
            rules.append({**rule, "backendRefs": refs} if "backendRefs" in rule else rule)
        out.append(PlannedObject(obj.template, obj.api_version, obj.kind, obj.name, obj.namespace, {**obj.values, "rules": rules}))
    for key in sorted(split):
        out.extend(gapi.version_services(intent, split[key]))
    return out


def edge_split(intent: MeshIntent, svc: Service) -> list[str]:
    """Gateways whose HTTP routes reach ``svc`` (where its version weights apply)."""
    names = []
    for gw in intent.spec.gateways:
        for route in gw.routes:
            if route.service == svc.name and (route.namespace or svc.namespace) == svc.namespace:
                listeners = [lst for lst in gw.listeners if route.listener in (None, lst.resolved_name)]
                if any(lst.protocol in ("HTTP", "HTTPS") or (lst.protocol == "TLS" and lst.tls_mode == "terminate") for lst in listeners):
                    names.append(f"{gw.namespace}/{gw.name}")
    return sorted(set(names))


def service_findings(intent: MeshIntent, svc: Service, report: Report) -> None:
    """Report every traffic feature of ``svc`` that needs a proxy, with what the application must do."""
    subject = f"{svc.namespace}/{svc.name}"
    if len(svc.versions) > 1:
        weights = ", ".join(f"{v.name} {v.weight}%" for v in svc.versions)
        edges = edge_split(intent, svc)
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
        if route.version is not None and route.match is not None:
            report.lost(
                Feature.REQUEST_ROUTING,
                subject,
                f"route {name} sends matching requests to version {route.version}; nothing reads requests between pods, "
                "so they reach any version (a gateway route can match them at the edge)",
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
                f"{retries.attempts} {'retry' if retries.attempts == 1 else 'retries'} on {conditions}{where} are not made: "
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
            report.lost(Feature.EJECTION_LIMITS, subject, "ejection limits (interval, maxEjectionPercent) have no outlier detection to limit")
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
            report.lost(Feature.RATE_LIMIT_BURST, subject, f"burst {svc.rate_limit.burst} is not enforced (no rate limit)")


def service_objects(intent: MeshIntent, svc: Service) -> list[PlannedObject]:
    """The service's own Service (ports with appProtocol), as every platform emits it."""
    return [gapi.service_object(intent, svc)]
