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

from meshgen.importing.common import check_keys, plain
from meshgen.importing.findings import Findings
from meshgen.importing.reader import SourceObject
from meshgen.platforms.base import object_name

ROUTE_KINDS = ("HTTPRoute", "TCPRoute", "TLSRoute")


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
