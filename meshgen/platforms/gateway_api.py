"""Gateway API planning shared by every platform: north-south gateways and GAMMA mesh routes.

North-south: each intent gateway becomes a ``Gateway`` and one route object per intent route
(``HTTPRoute`` for HTTP/HTTPS listeners, ``TLSRoute`` for TLS passthrough, ``TCPRoute`` for TCP),
with a ``ReferenceGrant`` where a route crosses namespaces.

East-west (GAMMA, https://gateway-api.sigs.k8s.io/docs/mesh/): ``backendRefs`` name Services, so a
canary needs one Service per version (``<service>-<version>``, selecting the service's selector
plus the version's labels). Each L7 port gets an ``HTTPRoute`` (``GRPCRoute`` for grpc ports)
whose parentRef is ``{group: "", kind: Service, name, port}``: ordered matches first, then the
weighted default. The default rule has no matches, so it is also the catch-all every attached
Service needs (once a route attaches, unmatched requests are rejected).

Only Gateway API v1.2.1 fields are used in mesh routes, the newest Linkerd 2.18/2.19 read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import Gateway, GatewayRoute, HeaderEdits, MeshIntent, Port, RequestMatch, Route, Service, StringMatch
from meshgen.intent.rules import resolve_service
from meshgen.intent.types import Duration
from meshgen.platforms.base import PlannedObject, object_name

GATEWAY_API = "gateway.networking.k8s.io/v1"


def labels_for(intent: MeshIntent) -> dict[str, str]:
    """Labels on every generated object: who manages it and which application it is part of."""
    return {"app.kubernetes.io/managed-by": "meshgen", "app.kubernetes.io/part-of": intent.metadata.name}


def duration(value: Duration) -> str:
    """A duration in Gateway API's format (GEP-2257: ``^([0-9]{1,5}(h|m|s|ms)){1,4}$``).

    ``Duration.__str__`` writes sub-second values as plain milliseconds (``100500ms``), which
    breaks the five-digit limit from 100 s on; here every unit gets its own part, so any intent
    duration below 100000 h fits: ``100500`` ms -> ``1m40s500ms``, ``500`` ms -> ``500ms``.
    """
    ms = int(value)
    if ms == 0:
        return "0s"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)


def version_service_name(svc: Service, version: str) -> str:
    """The per-version Service of a canary: ``reviews`` + ``v2`` -> ``reviews-v2``."""
    return object_name(svc.name, version)


# --- matches --------------------------------------------------------------------------------


def _regex_prefix(value: str) -> str:
    return "^" + re.escape(value) + ".*"


def string_match(m: StringMatch) -> dict[str, str]:
    """Intent match -> Gateway API ``{type, value}`` (a prefix becomes an anchored regex)."""
    if m.operator == "exact":
        return {"type": "Exact", "value": m.value}
    if m.operator == "regex":
        return {"type": "RegularExpression", "value": m.value}
    return {"type": "RegularExpression", "value": _regex_prefix(m.value)}


def http_match(match: RequestMatch | None) -> dict[str, Any]:
    """Intent ``RequestMatch`` -> one ``HTTPRouteMatch`` (path, headers, queryParams, method)."""
    out: dict[str, Any] = {}
    if match is None:
        return out
    if match.path is not None:
        kind = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}[match.path.operator]
        out["path"] = {"type": kind, "value": match.path.value}
    elif match.grpc is not None:
        g = match.grpc
        out["path"] = {"type": "Exact", "value": f"/{g.service}/{g.method}"} if g.method else {"type": "PathPrefix", "value": f"/{g.service}"}
    if match.headers:
        out["headers"] = [{"name": k, **string_match(v)} for k, v in sorted(match.headers.items())]
    if match.query_params:
        out["queryParams"] = [{"name": k, **string_match(v)} for k, v in sorted(match.query_params.items())]
    if match.method is not None:
        out["method"] = match.method
    return out


def grpc_expressible(match: RequestMatch | None) -> bool:
    """Whether a ``GRPCRouteMatch`` can carry ``match``: it has only a gRPC method and headers,
    so paths, HTTP methods and query parameters cannot be matched on a GRPCRoute."""
    return match is None or (match.path is None and match.method is None and not match.query_params)


def grpc_match(match: RequestMatch | None) -> dict[str, Any]:
    """Intent ``RequestMatch`` -> one ``GRPCRouteMatch`` (method, headers)."""
    out: dict[str, Any] = {}
    if match is None:
        return out
    if match.grpc is not None:
        method = {"type": "Exact", "service": match.grpc.service}
        if match.grpc.method:
            method["method"] = match.grpc.method
        out["method"] = method
    if match.headers:
        out["headers"] = [{"name": k, **string_match(v)} for k, v in sorted(match.headers.items())]
    return out


def header_filter(kind: str, edits: HeaderEdits) -> dict[str, Any]:
    """``RequestHeaderModifier`` / ``ResponseHeaderModifier`` filter from intent header edits."""
    body: dict[str, Any] = {}
    if edits.set:
        body["set"] = [{"name": k, "value": v} for k, v in sorted(edits.set.items())]
    if edits.add:
        body["add"] = [{"name": k, "value": v} for k, v in sorted(edits.add.items())]
    if edits.remove:
        body["remove"] = sorted(edits.remove)
    key = "requestHeaderModifier" if kind == "RequestHeaderModifier" else "responseHeaderModifier"
    return {"type": kind, key: body}


# --- north-south ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayOptions:
    """How a platform wants its gateways: the GatewayClass to use when the intent names none."""

    default_class: str | None
    platform: str
    #: Route kinds the platform's gateway does not implement, with the reason (reported, not emitted).
    unsupported_routes: tuple[tuple[str, str], ...] = ()


def plan_gateways(intent: MeshIntent, options: GatewayOptions, report: Report) -> list[PlannedObject]:
    """Gateway, routes and ReferenceGrants for every intent gateway."""
    out: list[PlannedObject] = []
    grants: dict[tuple[str, str], set[str]] = {}
    labels = labels_for(intent)
    for gw in intent.spec.gateways:
        subject = f"gateway {gw.namespace}/{gw.name}"
        class_name = gw.class_name or options.default_class
        if class_name is None:
            report.lost(Feature.GATEWAY_HTTP, subject, f"{options.platform} has no ingress controller; set gateways[].className to a Gateway API implementation")
            continue
        if gw.class_name is None:
            report.use(Feature.GATEWAY_HTTP, subject)
        out.append(_gateway_object(gw, class_name, labels))
        unsupported = dict(options.unsupported_routes)
        for obj in _route_objects(intent, gw, labels, report, subject):
            if obj.kind in unsupported:
                report.lost(Feature.GATEWAY_L4, subject, f"{obj.kind} {obj.name} is not emitted: {unsupported[obj.kind]}")
                continue
            out.append(obj)
            for rule in obj.values["rules"]:
                for ref in rule.get("backendRefs", []):
                    if "namespace" in ref:
                        grants.setdefault((ref["namespace"], gw.namespace or ""), set()).add(obj.kind)
    for (target_ns, from_ns), kinds in sorted(grants.items()):
        out.append(
            PlannedObject(
                "gateway-api/reference-grant.yaml.j2",
                GATEWAY_API,
                "ReferenceGrant",
                object_name("from", from_ns, "routes"),
                target_ns,
                {"labels": labels, "from": [{"kind": k, "namespace": from_ns} for k in sorted(kinds)]},
            )
        )
    return out


def _gateway_object(gw: Gateway, class_name: str, labels: dict[str, str]) -> PlannedObject:
    listeners = []
    for lst in gw.listeners:
        entry: dict[str, Any] = {"name": lst.resolved_name, "port": lst.port, "protocol": lst.protocol}
        hostname = lst.hostname or (gw.hostnames[0] if len(gw.hostnames) == 1 and lst.protocol != "TCP" else None)
        if hostname:
            entry["hostname"] = hostname
        if lst.protocol == "HTTPS" or (lst.protocol == "TLS" and lst.tls_mode == "terminate"):
            entry["tls"] = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": lst.tls_secret}]}
        elif lst.protocol == "TLS":
            entry["tls"] = {"mode": "Passthrough"}
        listeners.append(entry)
    return PlannedObject(
        "gateway-api/gateway.yaml.j2",
        GATEWAY_API,
        "Gateway",
        gw.name,
        gw.namespace,
        {"labels": labels, "class_name": class_name, "listeners": listeners},
    )


def _listener_kind(lst) -> str:
    if lst.protocol == "TCP":
        return "TCPRoute"
    if lst.protocol == "TLS" and lst.tls_mode == "passthrough":
        return "TLSRoute"
    return "HTTPRoute"


def _route_objects(intent, gw: Gateway, labels, report: Report, subject: str) -> list[PlannedObject]:
    """Intent routes grouped into route objects: one per (kind, listeners, hostnames).

    Consecutive intent routes that differ only in their match become one rule with several
    matches, as Istio's own Bookinfo HTTPRoute is written.
    """
    groups: dict[tuple, list[tuple[GatewayRoute, dict[str, Any]]]] = {}
    for route in gw.routes:
        listeners = [lst for lst in gw.listeners if route.listener in (None, lst.resolved_name)]
        kinds = {_listener_kind(lst) for lst in listeners}
        # A route without a listener attaches to the listeners of one kind, HTTP first.
        kind = "HTTPRoute" if "HTTPRoute" in kinds else sorted(kinds)[0]
        parents = tuple(lst.resolved_name for lst in listeners if _listener_kind(lst) == kind)
        own = sorted({lst.hostname for lst in listeners if lst.hostname and lst.resolved_name in parents})
        hostnames = tuple(route.hostnames or own or gw.hostnames) if kind != "TCPRoute" else ()
        groups.setdefault((kind, parents, hostnames), []).append((route, _rule(intent, gw, route, kind, report, subject)))
    out: list[PlannedObject] = []
    names: set[str] = set()
    for (kind, parents, hostnames), members in groups.items():
        named = next((r.name for r, _ in members if r.name), None)
        # Always prefixed with the gateway: mesh (GAMMA) routes are named after services.
        base = object_name(gw.name, named) if named else (object_name(gw.name, parents[0]) if len(parents) == 1 else gw.name)
        name, n = base, 2
        while name in names:
            name, n = object_name(base, str(n)), n + 1
        names.add(name)
        rules: list[dict[str, Any]] = []
        for _, rule in members:
            prev = rules[-1] if rules else None
            same = prev is not None and {k: v for k, v in prev.items() if k != "matches"} == {k: v for k, v in rule.items() if k != "matches"}
            if same and prev.get("matches") and rule.get("matches"):
                prev["matches"] = prev["matches"] + rule["matches"]
            else:
                rules.append(dict(rule))
        values = {
            "labels": labels,
            "parents": [{"name": gw.name, "sectionName": p} for p in parents],
            "hostnames": list(hostnames),
            "rules": rules,
        }
        out.append(PlannedObject(f"gateway-api/{_kebab(kind)}.yaml.j2", GATEWAY_API, kind, name, gw.namespace, values))
    return out


def _rule(intent, gw: Gateway, route: GatewayRoute, kind: str, report: Report, subject: str) -> dict[str, Any]:
    backend = None
    if route.service is not None:
        svc = resolve_service(intent, route.service, route.namespace)[0]
        backend = {"name": svc.name}
        if svc.namespace != gw.namespace:
            backend["namespace"] = svc.namespace
        backend["port"] = route.port or svc.ports[0].port
    if kind != "HTTPRoute":
        report.use(Feature.GATEWAY_L4, subject)
        return {"backendRefs": [backend]}
    rule: dict[str, Any] = {"matches": [m] if (m := http_match(route.match)) else [], "filters": []}
    if route.rewrite or route.redirect or route.request_headers or route.response_headers:
        report.use(Feature.GATEWAY_FILTERS, subject)
    if route.request_headers:
        rule["filters"].append(header_filter("RequestHeaderModifier", route.request_headers))
    if route.response_headers:
        rule["filters"].append(header_filter("ResponseHeaderModifier", route.response_headers))
    if route.rewrite:
        rw: dict[str, Any] = {}
        if route.rewrite.hostname:
            rw["hostname"] = route.rewrite.hostname
        if route.rewrite.path_prefix is not None:
            rw["path"] = {"type": "ReplacePrefixMatch", "replacePrefixMatch": route.rewrite.path_prefix}
        elif route.rewrite.path is not None:
            rw["path"] = {"type": "ReplaceFullPath", "replaceFullPath": route.rewrite.path}
        rule["filters"].append({"type": "URLRewrite", "urlRewrite": rw})
    if route.redirect:
        rd: dict[str, Any] = {}
        for key in ("scheme", "hostname", "port"):
            if getattr(route.redirect, key) is not None:
                rd[key] = getattr(route.redirect, key)
        if route.redirect.path is not None:
            rd["path"] = {"type": "ReplaceFullPath", "replaceFullPath": route.redirect.path}
        rd["statusCode"] = route.redirect.status_code
        rule["filters"].append({"type": "RequestRedirect", "requestRedirect": rd})
    rule["backendRefs"] = [backend] if backend else []
    rule["timeouts"] = {"request": duration(route.timeout)} if route.timeout is not None else None
    return compact(rule)


def compact(mapping: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None or empty, so templates never lay out empty fields."""
    return {k: v for k, v in mapping.items() if v not in (None, [], {})}


def _mirror_share(percent: float) -> dict[str, Any]:
    if float(percent).is_integer():
        return {"percent": int(percent)}
    return {"fraction": {"numerator": round(percent * 100), "denominator": 10000}}


_TEMPLATE_NAMES = {"HTTPRoute": "http-route", "GRPCRoute": "grpc-route", "TLSRoute": "tls-route", "TCPRoute": "tcp-route"}


def _kebab(kind: str) -> str:
    return _TEMPLATE_NAMES[kind]


# --- east-west (GAMMA) ----------------------------------------------------------------------

#: Extra per-rule fields a platform adds (timeouts, retry), given the intent route (None = default rule).
RuleExtras = Callable[[Service, Route | None], dict[str, Any]]


def service_object(intent: MeshIntent, svc: Service, annotations: dict[str, str] | None = None) -> PlannedObject:
    """The service's own Kubernetes Service: its selector, and every port with ``appProtocol``."""
    return PlannedObject(
        "core/service.yaml.j2",
        "v1",
        "Service",
        svc.name,
        svc.namespace,
        {
            "labels": labels_for(intent),
            "annotations": dict(sorted((annotations or {}).items())),
            "selector": svc.pod_selector,
            "ports": service_ports(svc),
        },
    )


def version_services(intent: MeshIntent, svc: Service) -> list[PlannedObject]:
    """One Service per version (``<service>-<version>``) for GAMMA backendRefs."""
    out = []
    for version in svc.versions:
        out.append(
            PlannedObject(
                "core/service.yaml.j2",
                "v1",
                "Service",
                version_service_name(svc, version.name),
                svc.namespace,
                {
                    "labels": {**labels_for(intent), "meshgen.dev/version-of": svc.name},
                    "annotations": {},
                    "selector": {**svc.pod_selector, **version.pod_labels},
                    "ports": service_ports(svc),
                },
            )
        )
    return out


def service_ports(svc: Service) -> list[dict[str, Any]]:
    """Service ports with appProtocol, so every mesh knows the protocol without guessing."""
    app_protocol = {"http": "http", "http2": "kubernetes.io/h2c", "grpc": "grpc", "tcp": "tcp", "tls": "tls", "udp": None}
    out = []
    for p in svc.ports:
        entry: dict[str, Any] = {"name": p.name, "port": p.port, "targetPort": p.pod_port, "protocol": "UDP" if p.protocol == "udp" else "TCP"}
        if app_protocol[p.protocol]:
            entry["appProtocol"] = app_protocol[p.protocol]
        out.append(entry)
    return out


def _backends(svc: Service, port: Port, version: str | None) -> list[dict[str, Any]]:
    if version is not None:
        return [{"name": version_service_name(svc, version), "port": port.port}]
    if not svc.versions:
        return [{"name": svc.name, "port": port.port}]
    return [{"name": version_service_name(svc, v.name), "port": port.port, "weight": v.weight} for v in svc.versions]


def mesh_routes(intent: MeshIntent, svc: Service, extras: RuleExtras, *, mirror: bool) -> list[PlannedObject]:
    """GAMMA routes for every L7 port of ``svc``: intent routes in order, then the weighted default.

    Args:
        extras: adds platform fields (timeouts, retry) to each rule.
        mirror: whether to lay out RequestMirror filters (platforms without mirroring report it).
    """
    out = []
    labels = labels_for(intent)
    l7_ports = [p for p in svc.ports if p.is_l7]
    for port in l7_ports:
        grpc = port.protocol == "grpc"
        rules = []
        for route in svc.routes:
            if route.fault is not None and route.version is None and route.match is None and not (route.timeout or route.retries or route.mirror):
                continue  # a fault-only rule has nothing a GAMMA route can carry
            if grpc and not grpc_expressible(route.match):
                # Dropping only the HTTP-only conditions would turn the rule into a catch-all that
                # takes every call; the platform reports the rule as lost for this port instead.
                continue
            found = grpc_match(route.match) if grpc else http_match(route.match)
            rule: dict[str, Any] = {"matches": [found] if found else [], "filters": [], "backendRefs": _backends(svc, port, route.version)}
            if mirror and route.mirror is not None:
                rule["filters"].append(
                    {
                        "type": "RequestMirror",
                        "requestMirror": {
                            "backendRef": {"name": version_service_name(svc, route.mirror.version), "port": port.port},
                            **_mirror_share(route.mirror.percent),
                        },
                    }
                )
            rule.update(extras(svc, route))
            rules.append(compact(rule))
        default = {"backendRefs": _backends(svc, port, None)}
        default.update(extras(svc, None))
        rules.append(compact(default))
        kind = "GRPCRoute" if grpc else "HTTPRoute"
        name = svc.name if len(l7_ports) == 1 else object_name(svc.name, port.name)
        out.append(
            PlannedObject(
                f"gateway-api/{_kebab(kind)}.yaml.j2",
                GATEWAY_API,
                kind,
                name,
                svc.namespace,
                {
                    "labels": labels,
                    "annotations": {},
                    "parents": [{"group": "", "kind": "Service", "name": svc.name, "port": port.port}],
                    "hostnames": [],
                    "rules": rules,
                },
            )
        )
    return out
