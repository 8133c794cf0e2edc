"""Gateway API ``Gateway`` and its HTTPRoute/TCPRoute/TLSRoute objects -> intent ``gateways``.

The inverse of :mod:`meshgen.platforms.gateway_api` (``_gateway_object``, ``_route_objects``,
``_rule``): one intent route per HTTPRoute match, in order, because Gateway API evaluates the
most specific match first and meshgen merges consecutive routes that differ only in their match.
Source: https://gateway-api.sigs.k8s.io/reference/spec/ (v1 Gateway, HTTPRoute).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from meshgen.importing.common import check_keys, number, plain
from meshgen.importing.findings import Findings
from meshgen.importing.reader import SourceObject
from meshgen.platforms.base import object_name

ROUTE_KINDS = ("HTTPRoute", "TCPRoute", "TLSRoute")
#: Gateway API's group (every route and Gateway kind here).
GATEWAY_API = "gateway.networking.k8s.io"


def import_gateways(
    gateways: list[SourceObject],
    routes: list[SourceObject],
    default_class: str,
    findings: Findings,
    home: str,
    services: set[tuple[str, str]],
) -> tuple[list[dict[str, Any]], set[SourceObject]]:
    """Intent gateways (plain data) and the route objects used; routes attached to no Gateway
    here (GAMMA routes to Services, for instance) are left to the caller. A route to a Service
    not among ``services`` (``(namespace, name)`` read from the manifests) is reported and dropped."""
    out = []
    used: set[SourceObject] = set()
    named: dict[str, SourceObject] = {}
    counts = Counter(n for _, n in services)
    shared_names = {name for name, count in counts.items() if count > 1}
    for gw in gateways:
        if gw.name in named:
            # spec.gateways[].name is unique across namespaces (intent/rules.py); the data plane
            # has both, so the later one is reported rather than merged into the first
            first = named[gw.name]
            findings.lost(gw, ("metadata", "name"), f"the intent names gateways uniquely and {first.ref} ({first.file}:{first.line}) "
                          "already has this name; gateway and its routes dropped (rename one)")
            for route in routes:
                if _attached(route, gw, home):
                    used.add(route)
                    findings.lost(route, ("spec", "parentRefs"), f"attached to {gw.ref}, which was dropped (its name repeats); route dropped")
            continue
        named[gw.name] = gw
        entry = _gateway(gw, default_class, findings, home)
        listeners = {lst.get("name") or f"{lst['protocol'].lower()}-{lst['port']}": lst for lst in entry["listeners"]}
        for route in routes:
            if not _attached(route, gw, home):
                continue
            used.add(route)
            for item in _routes(route, gw, entry, listeners, findings, home):
                backend = (item.get("namespace") or route.namespace or home, item.get("service"))
                if item.get("service") is not None and backend not in services:
                    findings.lost(route, ("spec", "rules"), f"backend {backend[0]}/{backend[1]} is not a Service read here; route dropped")
                    continue
                if item.get("service") in shared_names and "namespace" not in item:
                    # Services of this name in several namespaces: the intent needs to be told which
                    item = {**item, "namespace": backend[0]}
                entry["routes"].append(item)
        if not entry["routes"]:
            del entry["routes"]
        if not entry["listeners"]:
            findings.lost(gw, ("spec", "listeners"), "no listener the intent can express; gateway dropped")
            continue
        out.append(entry)
    return out, used


def _attached(route: SourceObject, gw: SourceObject, home: str) -> bool:
    """Whether ``route`` names ``gw`` in a parentRef (same namespace: parentRefs here carry none)."""
    parents = [p for p in route.spec.get("parentRefs") or [] if p.get("name") == gw.name and p.get("kind", "Gateway") == "Gateway"]
    return bool(parents) and (route.namespace or home) == (gw.namespace or home)


def _gateway(obj: SourceObject, default_class: str, findings: Findings, home: str) -> dict[str, Any]:
    spec = obj.spec
    check_keys(obj, spec, ("spec",), {"gatewayClassName", "listeners"}, findings)
    entry: dict[str, Any] = {"name": obj.name}
    if (obj.namespace or home) != home:
        entry["namespace"] = obj.namespace
    if spec.get("gatewayClassName") != default_class:
        entry["className"] = spec.get("gatewayClassName")
    listeners = []
    hostnames = {lst.get("hostname") for lst in spec.get("listeners") or [] if lst.get("protocol") != "TCP"}
    shared = next(iter(hostnames)) if len(hostnames) == 1 and None not in hostnames else None
    if shared:
        entry["hostnames"] = [shared]
    for i, lst in enumerate(spec.get("listeners") or []):
        path = ("spec", "listeners", i)
        check_keys(obj, lst, path, {"name", "port", "protocol", "hostname", "tls", "allowedRoutes"}, findings)
        if "allowedRoutes" in lst:
            findings.approximated(obj, (*path, "allowedRoutes"), "routes are attached by meshgen; allowedRoutes is not carried over")
        if lst.get("protocol") not in ("HTTP", "HTTPS", "TLS", "TCP"):
            findings.lost(obj, (*path, "protocol"), f"{lst.get('protocol')} listeners are not expressible; listener dropped")
            continue
        item: dict[str, Any] = {"port": int(lst["port"]), "protocol": str(lst["protocol"])}
        if lst.get("name") != f"{item['protocol'].lower()}-{item['port']}":
            item = {"name": lst.get("name"), **item}
        if lst.get("hostname") and lst.get("hostname") != shared:
            item["hostname"] = lst["hostname"]
        tls = lst.get("tls") or {}
        if tls.get("mode") == "Passthrough":
            item["tlsMode"] = "passthrough"
        elif tls:
            refs = tls.get("certificateRefs") or []
            if len(refs) != 1:
                findings.lost(obj, (*path, "tls", "certificateRefs"), "the intent names one certificate Secret per listener; extra ones dropped")
            if refs:
                item["tlsSecret"] = refs[0].get("name")
        listeners.append(item)
    entry["listeners"] = listeners
    entry["routes"] = []
    return entry


def _routes(route: SourceObject, gw: SourceObject, entry: dict, listeners: dict, findings: Findings, home: str) -> list[dict]:
    spec = route.spec
    check_keys(route, spec, ("spec",), {"parentRefs", "hostnames", "rules"}, findings)
    parents = [p.get("sectionName") for p in spec.get("parentRefs") or [] if p.get("name") == gw.name]
    listener = parents[0] if len(parents) == 1 and parents[0] else None
    if listener is not None and listener not in listeners:
        # ParentReference.sectionName (bundled CRD httproutes.gateway.networking.k8s.io): no
        # listener accepts the route, so it "MUST be considered detached from the Gateway"
        findings.lost(route, ("spec", "parentRefs"), f"{gw.ref} has no listener {listener}, so the route is detached "
                      "from it (Gateway API sectionName); route dropped")
        return []
    own = sorted({listeners[p].get("hostname") or "" for p in parents if p in listeners} - {""})
    hostnames = list(spec.get("hostnames") or [])
    default_hosts = own or entry.get("hostnames") or []
    base = object_name(gw.name, listener) if listener else gw.name
    named = route.name[len(gw.name) + 1:] if route.name != base and route.name.startswith(gw.name + "-") else None
    out = []
    for r, rule in enumerate(spec.get("rules") or []):
        path = ("spec", "rules", r)
        check_keys(route, rule, path, {"matches", "filters", "backendRefs", "timeouts"}, findings)
        common: dict[str, Any] = {}
        if listener:
            common["listener"] = listener
        if hostnames and hostnames != default_hosts:
            common["hostnames"] = hostnames
        backends = rule.get("backendRefs") or []
        if len(backends) > 1:
            findings.lost(route, (*path, "backendRefs"), "a weighted split at the gateway; only the first backendRef is kept")
        if backends:
            ref = backends[0]
            check_keys(route, ref, (*path, "backendRefs", 0), {"name", "namespace", "port", "kind", "group"}, findings)
            common["service"] = ref.get("name")
            if ref.get("namespace") and ref.get("namespace") != (route.namespace or home):
                common["namespace"] = ref["namespace"]
            if ref.get("port"):
                common["port"] = int(ref["port"])
        timeouts = rule.get("timeouts") or {}
        if timeouts.get("request"):
            common["timeout"] = str(timeouts["request"])
        for f, flt in enumerate(rule.get("filters") or []):
            _filter(route, (*path, "filters", f), flt, common, findings)
        if "redirect" in common and "service" in common:
            # A redirect answers the request itself: the backend is never reached.
            findings.approximated(route, (*path, "backendRefs"), "the rule redirects, so its backendRefs are never used; dropped")
            common.pop("service")
            common.pop("namespace", None)
            common.pop("port", None)
        if "redirect" not in common and "service" not in common:
            findings.lost(
                route, path,
                "a rule with no backendRefs and no redirect answers with an error status; the intent cannot say that; rule dropped",
            )
            continue
        matches = rule.get("matches") or [None]
        for m, match in enumerate(matches):
            item = dict(common)
            if match:
                converted = http_match(route, (*path, "matches", m), match, findings)
                if converted:
                    item["match"] = converted
            out.append(item)
    if out and named:
        out[0] = {"name": named, **out[0]}
    return out


def _filter(obj: SourceObject, path: tuple, flt: dict, into: dict, findings: Findings) -> None:
    kind = flt.get("type")
    if kind == "RequestRedirect":
        rd = plain(flt.get("requestRedirect") or {})
        out: dict[str, Any] = {k: rd[k] for k in ("scheme", "hostname", "port") if k in rd}
        if isinstance(rd.get("path"), dict) and rd["path"].get("type") == "ReplaceFullPath":
            out["path"] = rd["path"]["replaceFullPath"]
        code = rd.get("statusCode", 302)
        if code not in (301, 302):
            # The intent has 301 and 302 only (Gateway API's standard set also has 303, 307 and
            # 308): keep the redirect with the code of the same permanence, and say what changes.
            nearest = 301 if code == 308 else 302
            findings.approximated(
                obj,
                (*path, "requestRedirect", "statusCode"),
                f"statusCode {code} is not expressible; written as {nearest} (clients may change the method to GET)",
            )
            code = nearest
        out["statusCode"] = code
        into["redirect"] = out
    elif kind == "URLRewrite":
        rw = plain(flt.get("urlRewrite") or {})
        out = {}
        if rw.get("hostname"):
            out["hostname"] = rw["hostname"]
        p = rw.get("path") or {}
        if p.get("type") == "ReplacePrefixMatch":
            out["pathPrefix"] = p.get("replacePrefixMatch")
        elif p.get("type") == "ReplaceFullPath":
            out["path"] = p.get("replaceFullPath")
        into["rewrite"] = out
    elif kind in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        body = plain(flt.get(kind[0].lower() + kind[1:]) or {})
        edits: dict[str, Any] = {}
        for key in ("set", "add"):
            if body.get(key):
                edits[key] = {h["name"].lower(): h["value"] for h in body[key]}
        if body.get("remove"):
            edits["remove"] = [h.lower() for h in body["remove"]]
        into["requestHeaders" if kind.startswith("Request") else "responseHeaders"] = edits
    else:
        findings.lost(obj, path, f"filter {kind} has no equivalent in the intent; dropped")


def http_match(obj: SourceObject, path: tuple, match: dict, findings: Findings) -> dict[str, Any]:
    """One ``HTTPRouteMatch`` -> an intent ``RequestMatch`` (inverse of gateway_api.http_match)."""
    check_keys(obj, match, path, {"path", "headers", "queryParams", "method"}, findings)
    out: dict[str, Any] = {}
    p = match.get("path")
    if p:
        op = {"Exact": "exact", "PathPrefix": "prefix", "RegularExpression": "regex"}.get(p.get("type", "PathPrefix"))
        if op and not (op == "prefix" and p.get("value") == "/"):
            out["path"] = {op: p.get("value")}
    for key, into in (("headers", "headers"), ("queryParams", "queryParams")):
        if match.get(key):
            out[into] = {h["name"].lower() if key == "headers" else h["name"]: _typed(h) for h in match[key]}
    if match.get("method"):
        out["method"] = match["method"]
    return out


def _typed(entry: dict) -> dict[str, str]:
    value = entry.get("value")
    if entry.get("type") == "RegularExpression":
        # gateway_api.string_match writes an intent prefix as ^<escaped>.*
        found = re.fullmatch(r"\^(.*)\.\*", value or "")
        if found and re.escape(_unescape(found.group(1))) == found.group(1):
            return {"prefix": _unescape(found.group(1))}
        return {"regex": value}
    return {"exact": value}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


# --- GAMMA: routes whose parent is a Service ------------------------------------------------

#: The label meshgen puts on a per-version Service (gateway_api.version_services): its value is
#: the service the version belongs to.
VERSION_OF = "meshgen.dev/version-of"


def is_version_service(obj: SourceObject) -> bool:
    """Whether ``obj`` is a per-version Service meshgen wrote (read by :meth:`MeshRouteReader.versions`)."""
    return bool((obj.metadata.get("labels") or {}).get(VERSION_OF))


class MeshRouteReader:
    """GAMMA ``HTTPRoute``/``GRPCRoute`` objects (every ``parentRefs`` entry a Service) -> intent
    routes and version weights: the inverse of :func:`meshgen.platforms.gateway_api.mesh_routes`
    and :func:`meshgen.platforms.gateway_api.version_services`, shared by the Linkerd and Istio
    ambient importers. GAMMA: https://gateway-api.sigs.k8s.io/mesh/ (a route attached to a
    Service configures the traffic sent to it).

    What meshgen writes, per service with L7 ports: one route per L7 port named ``<svc>`` (one L7
    port) or ``<svc>-<port>``, whose rules are the intent routes in order (matches, then the
    backend: the per-version Service ``<svc>-<version>`` for a route's ``version``, else the
    weighted default) and last a rule without matches carrying the service's weights. The
    platforms' own per-rule fields (``timeouts``, ``filters``) are read by the ``extras`` callback.

    Args:
        run: the importer's :class:`~meshgen.importing.workloads.WorkloadRun` (services, findings,
            handled objects).
        rule_keys: rule fields the platform reads beyond ``matches`` and ``backendRefs``; other
            fields are reported LOST.
        extras: ``(obj, path, rule) -> dict`` of intent route fields for one rule (e.g. ``timeout``,
            ``mirror``); for the default rule they are returned to the caller as the service's.
    """

    def __init__(self, run: Any, rule_keys: frozenset[str] = frozenset(), extras: Any = None) -> None:
        self.run = run
        self.rule_keys = {"matches", "backendRefs", *rule_keys}
        self.extras = extras or (lambda obj, path, rule: {})
        #: (namespace, per-version Service name) -> (service key, version name)
        self.version_services: dict[tuple[str, str], tuple[tuple[str, str], str]] = {}

    def versions(self) -> None:
        """Per-version Services ``<svc>-<version>`` (label ``meshgen.dev/version-of: <svc>``, selecting
        the service's pods plus the version's labels) -> the service's ``versions``. Read after the
        Services (the importer skips these with :func:`is_version_service`)."""
        run = self.run
        for obj in run.by_kind.get("Service", []):
            parent = (obj.metadata.get("labels") or {}).get(VERSION_OF)
            if not parent:
                continue
            key = (run.ns(obj), str(parent))
            svc = run.services.get(key)
            if svc is None:
                run.f.lost(obj, ("metadata", "labels"), f"a version of {parent}, which is not a Service read here; dropped")
                continue
            name = obj.name[len(svc["name"]) + 1:] if obj.name.startswith(svc["name"] + "-") else obj.name
            selector = {str(k): str(v) for k, v in (obj.spec.get("selector") or {}).items()}
            extra = {k: v for k, v in selector.items() if run.selectors[key].get(k) != v}
            version: dict[str, Any] = {"name": name}
            if extra != {"version": name}:
                version["labels"] = extra
            svc.setdefault("versions", []).append(version)
            self.version_services[(key[0], obj.name)] = (key, name)
            run.source(key, obj)

    def by_service(self) -> list[tuple[tuple[str, str], list[SourceObject], list[SourceObject]]]:
        """The GAMMA routes, marked handled, per parent Service (sorted by key): ``(key, primaries,
        own)``, primaries being the per-port routes meshgen names ``<svc>``/``<svc>-<port>`` (gRPC
        routes last), own the others. A route whose parent is not a Service read here is LOST."""
        run = self.run
        per_service: dict[tuple[str, str], list[SourceObject]] = {}
        for kind in ("HTTPRoute", "GRPCRoute"):
            for obj in run.by_kind.get(kind, []):
                parents = obj.spec.get("parentRefs") or []
                if obj.group != GATEWAY_API or not parents or any(p.get("kind") != "Service" for p in parents):
                    continue
                run.handled.add(id(obj))
                key = (run.ns(obj), str(parents[0].get("name")))
                if key not in run.services:
                    run.f.lost(obj, ("spec", "parentRefs"), f"parent Service {key[0]}/{key[1]} is not a Service read here; dropped")
                    continue
                if len(parents) > 1:
                    run.f.lost(obj, ("spec", "parentRefs", 1), "only the first parent Service gets these routes")
                per_service.setdefault(key, []).append(obj)
        out = []
        for key, objs in sorted(per_service.items()):
            svc = run.services[key]
            l7 = [p for p in svc["ports"] if p["protocol"] in ("http", "http2", "grpc")]
            bases = {svc["name"] if len(l7) == 1 else object_name(svc["name"], p["name"]) for p in l7}
            primaries = sorted((o for o in objs if o.name in bases), key=lambda o: (o.kind == "GRPCRoute", o.name))
            own = sorted((o for o in objs if o.name not in bases), key=lambda o: o.name)
            out.append((key, primaries, own))
        return out

    def rules(
        self,
        obj: SourceObject,
        key: tuple[str, str],
        keep_default: bool,
        default_backends: list[tuple[str | None, int]] | None = None,
    ) -> tuple[list[dict], list[tuple[str | None, int]] | None, dict[str, Any]]:
        """One route object -> the intent routes of its rules with matches, the backends
        ``(version or None, weight)`` of its rule without matches (None when there is none or
        ``keep_default`` is false) and that rule's ``extras``. A matched rule sending to one
        version gets ``version``; one sending to the same weighted backends as the default rule
        follows the default split; any other split is LOST (the intent weighs per service).
        ``default_backends`` is that default split when the object has no rule without matches
        (a route object of its own, whose service's split is in another object)."""
        run = self.run
        routes: list[dict] = []
        weights = None
        default_extras: dict[str, Any] = {}
        check_keys(obj, obj.spec, ("spec",), {"parentRefs", "rules"}, run.f)
        rules = obj.spec.get("rules") or []
        backends_of = [self._backends(obj, ("spec", "rules", r), rule, key) for r, rule in enumerate(rules)]
        default_backends = next((b for rule, b in zip(rules, backends_of) if not rule.get("matches")), default_backends)
        for r, rule in enumerate(rules):
            path = ("spec", "rules", r)
            check_keys(obj, rule, path, self.rule_keys, run.f)
            backends = backends_of[r]
            extras = self.extras(obj, path, rule)
            if not rule.get("matches"):
                if keep_default:
                    weights = backends
                    default_extras = extras
                continue
            route: dict[str, Any] = {}
            if len(backends) == 1 and backends[0][0]:
                route["version"] = backends[0][0]
            elif len(backends) > 1 and backends != default_backends:
                run.f.lost(obj, (*path, "backendRefs"), "a per-route weighted split: the route uses the service's default split")
            route.update(extras)
            for m, match in enumerate(rule["matches"]):
                item = dict(route)
                if obj.kind == "GRPCRoute":
                    converted = self._grpc_route_match(obj, (*path, "matches", m), match)
                    if converted.get("_unmatchable"):
                        continue  # reported: a catch-all in its place would route every call
                else:
                    converted = http_match(obj, (*path, "matches", m), match, run.f)
                if converted:
                    item = {"match": converted, **item}
                routes.append(item)
        return routes, weights, default_extras

    def _backends(self, obj: SourceObject, path: tuple, rule: dict, key: tuple[str, str]) -> list[tuple[str | None, int]]:
        """A rule's ``backendRefs`` -> ``(version or None for the service itself, weight)``
        (``weight`` defaults to 1: HTTPBackendRef, bundled CRD httproutes.gateway.networking.k8s.io)."""
        backends = []
        for b, ref in enumerate(rule.get("backendRefs") or []):
            check_keys(obj, ref, (*path, "backendRefs", b), {"name", "port", "weight", "kind", "group", "namespace"}, self.run.f)
            target = (self.run.ns(obj), str(ref.get("name")))
            version = self.version_services.get(target)
            if target == key:
                backends.append((None, int(ref.get("weight", 1))))
            elif version is not None and version[0] == key:
                backends.append((version[1], int(ref.get("weight", 1))))
            else:
                self.run.f.lost(obj, (*path, "backendRefs", b), f"a backend other than {key[1]} or its versions; dropped")
        return backends

    def _grpc_route_match(self, obj: SourceObject, path: tuple, match: dict) -> dict[str, Any]:
        """A GAMMA ``GRPCRouteMatch`` -> the intent's ``RequestMatch``: the inverse of
        :func:`meshgen.platforms.gateway_api.grpc_match` (``method`` Exact -> ``grpc``, exact
        headers). ``GRPCMethodMatch`` fields ``type`` (Exact default, RegularExpression),
        ``service``, ``method``: bundled CRD grpcroutes.gateway.networking.k8s.io v1."""
        f = self.run.f
        check_keys(obj, match, path, {"headers", "method"}, f)
        out: dict[str, Any] = {}
        method = match.get("method")
        if method is not None:
            grpc = self._grpc_method(obj, (*path, "method"), method)
            if grpc is None:
                return {"_unmatchable": True}
            out["grpc"] = grpc
        headers = {}
        for h, header in enumerate(match.get("headers") or []):
            if header.get("type", "Exact") == "Exact":
                headers[str(header["name"]).lower()] = {"exact": str(header["value"])}
            else:
                f.lost(obj, (*path, "headers", h), "only exact header matches are read on a GRPCRoute; dropped")
        if headers:
            out["headers"] = headers
        return out

    def _grpc_method(self, obj: SourceObject, path: tuple, method: dict) -> dict[str, str] | None:
        """``GRPCMethodMatch`` -> ``{service, method?}``; None (reported LOST) when the intent's
        GrpcMethodMatch cannot hold it: a regular expression, or a method without its service."""
        f = self.run.f
        check_keys(obj, method, path, {"type", "service", "method"}, f)
        if method.get("type", "Exact") != "Exact":
            f.lost(obj, (*path, "type"), f"{method.get('type')} gRPC method matches are not expressible (exact only); the rule is dropped")
            return None
        if not method.get("service"):
            f.lost(obj, path, "a gRPC method match without its service is not expressible; the rule is dropped")
            return None
        out = {"service": str(method["service"])}
        if method.get("method"):
            out["method"] = str(method["method"])
        return out

    def weights(self, obj: SourceObject, svc: dict, weights: list[tuple[str | None, int]]) -> None:
        """The default rule's backends -> each version's ``weight`` in percent (APPROXIMATED
        when the weights do not add up to 100)."""
        versions = svc.get("versions") or []
        if not any(v for v, _ in weights):
            return
        total = sum(w for _, w in weights) or 1
        share = {v: w for v, w in weights}
        for version in versions:
            version["weight"] = number(share.get(version["name"], 0) * 100 / total)
        if total != 100:
            self.run.f.approximated(obj, ("spec", "rules"), f"backend weights of total {total} become percentages")
