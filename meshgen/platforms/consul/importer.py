"""Consul (consul-k8s) manifests -> an intent: the inverse of :mod:`meshgen.platforms.consul.platform`.

Read: Service and Deployment (through the Kubernetes readers the Istio importer shares),
``ProxyDefaults`` ``global`` (``mesh.mtls``), ``Mesh`` (``mesh.egressDefaultDeny``), the ``*`` ->
``*`` ``ServiceIntentions`` (``mesh.defaultDeny``), per service ``ServiceDefaults`` (protocol; its
``upstreamConfig.overrides`` are the callees' circuit breakers), ``ServiceResolver`` (versions),
``ServiceSplitter`` (weights), ``ServiceRouter`` (routes, timeouts, retries), ``ServiceIntentions``
(allow-lists and deny rules), ``JWTProvider`` + ``spec.jwt`` (request authentication),
destination ``ServiceDefaults`` + ``TerminatingGateway`` (egress), Gateway API gateways and routes
with their ``RouteTimeoutFilter`` (gateways).

How ambiguity is resolved, as the data plane would:

- ServiceRouter routes are evaluated in order and the first match wins
  (https://developer.hashicorp.com/consul/docs/reference/config-entry/service-router, ``routes``);
  routes after one matching every request (``pathPrefix: /`` alone) are never reached and are
  reported. The last such catch-all without ``serviceSubset`` carries the service's timeout and
  retries; a route's own value equal to it is inherited.
- A subset's instances are chosen by the resolver ``filter`` on service metadata
  (https://developer.hashicorp.com/consul/docs/reference/config-entry/service-resolver#subsets);
  only ``Service.Meta.version == "<subset name>"`` is the intent's version. Without a
  ServiceSplitter the resolver's default (every instance) takes the traffic.
- Intentions (https://developer.hashicorp.com/consul/docs/secure-mesh/intention, hashicorp/consul
  ``agent/xds/rbac.go``): the most precise source decides for a caller; its L7 ``permissions`` are
  tried in order, the first match deciding. The intent evaluates ``denyFrom`` before ``allowFrom``,
  so an allow permission listed before a deny one is read as the deny winning (fewer admitted,
  reported). The exclusive ``*`` deny meshgen writes beside an allow-list is implied by
  ``allowFrom``. What cannot be expressed fails closed: an allow permission with a condition the
  intent lacks (``header``, ``pathRegex`` that is no glob) is dropped; a deny one is widened to the
  whole caller; an ``*`` allow (every caller) is dropped; a JWT requirement the intent cannot carry
  closes the service.
- A source names a Consul service: a Service of that name (the destination's namespace first:
  Consul CE has one Consul namespace), else a Gateway (consul-k8s registers it under its name),
  else a ``serviceAccount`` caller (with ACLs a pod's service name is its service account).
  A gateway source the gateway's own routes to the service imply is left to the routes.
- Circuit breakers live in the callers' ``upstreamConfig.overrides``; the callee's is the one its
  callers agree on (the first, reported, when they differ).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from meshgen.importing.common import check_keys, number, plain
from meshgen.importing.findings import NOT_UNDERSTOOD
from meshgen.importing.gateway_api import ROUTE_KINDS
from meshgen.importing.identities import IdentityRun
from meshgen.importing.reader import PosList, PosMap, SourceObject
from meshgen.importing.workloads import GATEWAY_API, managed
from meshgen.platforms.base import egress_object_names
from meshgen.platforms.consul import operations_import
from meshgen.platforms.consul.common import GATEWAY_CLASS, PROTOCOL
from meshgen.platforms.consul.mesh import TERMINATING_GATEWAY

CONSUL_GROUPS = frozenset({"consul.hashicorp.com"})
#: ``filter`` meshgen writes for a subset (traffic.subset_filter).
SUBSET_FILTER = re.compile(r'Service\.Meta\.version == "([^"]+)"')
#: Header matchers of ServiceRouter ``match.http.header[]`` the intent has.
STRING_OPS = ("exact", "prefix", "regex")
METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}


class ConsulImporter:
    """Reads consul-k8s config entries (``consul.hashicorp.com/v1alpha1``) and Gateway API v1."""

    groups = CONSUL_GROUPS
    gateway_class = GATEWAY_CLASS

    def run(self, objects: list[SourceObject]):
        """Objects -> intent data and findings (see the module docstring for the rules). Pure."""
        return _Run(self, objects).result


class _Run(IdentityRun):
    platform = "consul"

    def __init__(self, importer: ConsulImporter, objects: list[SourceObject]) -> None:
        super().__init__(objects)
        self.importer = importer
        self._copies: dict[int, SourceObject] = {}  # id(route read with its timeouts) -> the route read
        self._app_name(objects)
        self._namespaces()
        self._services()
        self._deployments()
        self._service_accounts()
        self._mesh_entries()
        egress = self._egress()
        self._service_defaults()
        self._resolvers()
        self._splitters()
        self._routers()
        self.gateways = gateways = self._gateways(
            [self._with_timeouts(o) for k in ROUTE_KINDS for o in self.by_kind.get(k, []) if o.group == GATEWAY_API],
            importer.gateway_class,
            original=lambda o: self._copies.get(id(o), o),
        )
        self._intentions()
        operations_import.read_back(self)
        self._leftovers(objects)
        self._spec(gateways, egress)

    # --- lookups ---------------------------------------------------------------------------

    def by_name(self, name: str, ns: str) -> tuple[str, str] | None:
        """The Service a Consul service name means: the one in ``ns`` first (one Consul namespace)."""
        if (ns, name) in self.services:
            return ns, name
        found = sorted(k for k in self.services if k[1] == name)
        return found[0] if found else None

    def _entry_target(self, obj: SourceObject, what: str) -> tuple[str, str] | None:
        key = self.by_name(obj.name, self.ns(obj))
        if key is None:
            self.f.lost(obj, ("metadata", "name"), f"{what} for {obj.name}, which is no Service read here; dropped")
            return None
        self.source(key, obj)
        return key

    # --- mesh-wide ---------------------------------------------------------------------------

    def _mesh_entries(self) -> None:
        self.mesh["mtls"] = "strict"  # Consul's default mutualTLSMode: sidecars accept mTLS only
        for obj in self.take("ProxyDefaults"):
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"mutualTLSMode", "accessLogs", "config"}, self.f)
            for key in ("accessLogs", "config"):
                if key in spec and not managed(obj):  # meshgen's: telemetry, read by operations_import
                    self.f.lost(obj, ("spec", key), f"{key} has no equivalent in the intent; dropped")
            mode = str(spec.get("mutualTLSMode") or "default")
            if mode == "permissive":
                self.mesh["mtls"] = "permissive"
        for obj in self.take("Mesh"):
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"allowEnablingPermissiveMutualTLS", "transparentProxy", "tls"}, self.f)
            if (spec.get("transparentProxy") or {}).get("meshDestinationsOnly"):
                self.mesh["egressDefaultDeny"] = True
            check_keys(obj, spec.get("transparentProxy"), ("spec", "transparentProxy"), {"meshDestinationsOnly"}, self.f)
            tls = plain(spec.get("tls") or {})
            if tls and tls != {"incoming": {"tlsMinVersion": "TLSv1_2"}, "outgoing": {"tlsMinVersion": "TLSv1_2"}}:
                self.f.approximated(obj, ("spec", "tls"), "meshgen writes TLS 1.2 as the minimum both ways; other TLS settings are not carried over")
            if self.mesh["mtls"] == "permissive" and not spec.get("allowEnablingPermissiveMutualTLS"):
                self.f.approximated(obj, ("spec",), "ProxyDefaults asks for permissive mTLS, which Consul refuses without allowEnablingPermissiveMutualTLS; imported as permissive")
        meshwide = [o for o in self.by_kind.get("ServiceIntentions", []) if str((o.spec.get("destination") or {}).get("name")) == "*"]
        # Without a * -> * intention the default intention policy decides: the ACL default policy
        # (https://developer.hashicorp.com/consul/docs/secure-mesh/intention, "default intention
        # behavior"), which these manifests do not show: closed, as with ACLs on.
        self.mesh["defaultDeny"] = not meshwide
        if not meshwide and self.by_kind.get("ServiceIntentions"):
            self.f.approximated(self.by_kind["ServiceIntentions"][0], (), "no * -> * intention: the ACL default policy decides, which "
                                "these manifests do not say; imported as mesh.defaultDeny true (fail closed)")
        for obj in meshwide:
            self.handled.add(id(obj))
            sources = obj.spec.get("sources") or []
            for s, src in enumerate(sources):
                check_keys(obj, src, ("spec", "sources", s), {"name", "action", "description"}, self.f)
                if src.get("name") == "*" and src.get("action") == "deny":
                    self.mesh["defaultDeny"] = True
                elif src.get("name") != "*":
                    self.f.lost(obj, ("spec", "sources", s), f"a source {src.get('name')} on every destination is not expressible; dropped (fail closed)")

    # --- ServiceDefaults, resolver, splitter, router -----------------------------------------

    def _service_defaults(self) -> None:
        breakers: dict[tuple[str, str], list[tuple[SourceObject, tuple, dict]]] = {}
        for obj in self.take("ServiceDefaults"):
            if id(obj) in self._egress_objects:
                continue
            key = self._entry_target(obj, "ServiceDefaults")
            if key is None:
                continue
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"protocol", "upstreamConfig"}, self.f)
            svc = self.services[key]
            proto = str(spec.get("protocol") or "tcp")
            first = svc["ports"][0]
            if PROTOCOL.get(first["protocol"]) != proto:
                if proto in ("http", "http2", "grpc", "tcp"):
                    self.f.approximated(obj, ("spec", "protocol"), f"Consul proxies port {first['name']} as {proto}, whatever the Service says; imported as {proto}")
                    first["protocol"] = proto
                else:
                    self.f.lost(obj, ("spec", "protocol"), f"protocol {proto} has no equivalent in the intent; the Service's is kept")
            upstream = spec.get("upstreamConfig") or {}
            check_keys(obj, upstream, ("spec", "upstreamConfig"), {"overrides"}, self.f)
            for o, override in enumerate(upstream.get("overrides") or []):
                path = ("spec", "upstreamConfig", "overrides", o)
                check_keys(obj, override, path, {"name", "passiveHealthCheck", "limits"}, self.f)
                callee = self.by_name(str(override.get("name")), key[0])
                if callee is None:
                    self.f.lost(obj, (*path, "name"), f"upstream {override.get('name')} is no Service read here; dropped")
                    continue
                breakers.setdefault(callee, []).append((obj, path, self._breaker(obj, path, override)))
        for callee, found in breakers.items():
            obj, path, cb = found[0]
            for other, opath, ocb in found[1:]:
                if ocb != cb:
                    self.f.approximated(other, opath, f"callers of {callee[1]} break its circuit differently; the intent keeps {obj.ref}'s")
            if cb:
                self.services[callee]["circuitBreaker"] = cb

    def _breaker(self, obj: SourceObject, path: tuple, override: dict) -> dict[str, Any]:
        cb: dict[str, Any] = {}
        limits = override.get("limits") or {}
        check_keys(obj, limits, (*path, "limits"), {"maxConnections", "maxPendingRequests", "maxConcurrentRequests"}, self.f)
        for field, into in (("maxConnections", "maxConnections"), ("maxPendingRequests", "maxPendingRequests"), ("maxConcurrentRequests", "maxRequests")):
            if field in limits:
                cb[into] = int(limits[field])
        phc = override.get("passiveHealthCheck") or {}
        check_keys(obj, phc, (*path, "passiveHealthCheck"), {"interval", "maxFailures", "enforcingConsecutive5xx", "maxEjectionPercent", "baseEjectionTime"}, self.f)
        if "maxFailures" in phc:
            cb["consecutiveErrors"] = int(phc["maxFailures"])
            if int(phc.get("enforcingConsecutive5xx", 100)) != 100:
                self.f.approximated(obj, (*path, "passiveHealthCheck", "enforcingConsecutive5xx"), "the intent always ejects on consecutive errors (100%)")
        for field in ("interval", "baseEjectionTime"):
            if field in phc:
                cb[field] = str(phc[field])
        if "maxEjectionPercent" in phc:
            cb["maxEjectionPercent"] = int(phc["maxEjectionPercent"])
        return cb

    def _resolvers(self) -> None:
        for obj in self.take("ServiceResolver"):
            key = self._entry_target(obj, "ServiceResolver")
            if key is None:
                continue
            check_keys(obj, obj.spec, ("spec",), {"subsets"}, self.f)
            versions = []
            for name, subset in (obj.spec.get("subsets") or {}).items():
                path = ("spec", "subsets", name)
                check_keys(obj, subset, path, {"filter", "onlyPassing"}, self.f)
                found = SUBSET_FILTER.fullmatch(str(subset.get("filter") or ""))
                if found is None or found.group(1) != str(name):
                    self.f.lost(obj, (*path, "filter"), f'only the filter Service.Meta.version == "{name}" is a version of the intent; subset dropped')
                    continue
                if not subset.get("onlyPassing"):
                    self.f.approximated(obj, (*path, "onlyPassing"), "meshgen routes to healthy instances only (onlyPassing: true)")
                versions.append({"name": str(name)})
            if versions:
                self.services[key]["versions"] = versions
                self.subset_sources[key] = obj

    def _splitters(self) -> None:
        for obj in self.take("ServiceSplitter"):
            key = self._entry_target(obj, "ServiceSplitter")
            if key is None:
                continue
            check_keys(obj, obj.spec, ("spec",), {"splits"}, self.f)
            svc = self.services[key]
            versions = {v["name"]: v for v in svc.get("versions") or []}
            weights: dict[str, int | float] = {}
            for s, split in enumerate(obj.spec.get("splits") or []):
                path = ("spec", "splits", s)
                check_keys(obj, split, path, {"weight", "serviceSubset"}, self.f)
                subset = str(split.get("serviceSubset") or "")
                if not subset and not split.get("service") and number(split.get("weight", 0)) == 100:
                    self.f.approximated(obj, path, "every request to the whole service: the same as no split")
                    continue
                if subset not in versions:
                    self.f.lost(obj, path, f"a split to {subset or 'the whole service'}, which is no subset read here; dropped")
                    continue
                weights[subset] = number(split.get("weight", 0))
            if weights:
                for name, version in versions.items():
                    version["weight"] = weights.get(name, 0)

    def _routers(self) -> None:
        for obj in self.take("ServiceRouter"):
            key = self._entry_target(obj, "ServiceRouter")
            if key is None:
                continue
            check_keys(obj, obj.spec, ("spec",), {"routes"}, self.f)
            svc = self.services[key]
            routes = list(obj.spec.get("routes") or [])
            every = next((i for i, r in enumerate(routes) if _matches_all(r)), None)
            if every is not None:
                for j in range(every + 1, len(routes)):
                    self.f.lost(obj, ("spec", "routes", j), f"never reached: route {every} matches every request first")
                routes = routes[: every + 1]
            parsed = [self._route(obj, i, r, svc) for i, r in enumerate(routes)]
            default = None
            if every is not None and "version" not in parsed[-1]:
                default = parsed.pop()
                for k in ("timeout", "retries"):
                    if default.get(k) is not None:
                        svc[k] = default[k]
            out = []
            for route in parsed:
                for k in ("timeout", "retries"):
                    if default is not None and route.get(k) == default.get(k):
                        route.pop(k, None)
                    elif default is not None and route.get(k) is None and default.get(k) is not None:
                        if k == "retries":
                            route[k] = {"attempts": 0}  # this route is not retried, though the service is
                        else:
                            self.f.approximated(obj, ("spec", "routes"), "a route without the service's timeout: the intent's routes inherit it")
                out.append({k: v for k, v in route.items() if v is not None})
            if out:
                svc["routes"] = out

    def _route(self, obj: SourceObject, i: int, route: dict, svc: dict) -> dict[str, Any]:
        path = ("spec", "routes", i)
        check_keys(obj, route, path, {"match", "destination"}, self.f)
        out: dict[str, Any] = {}
        match = route.get("match") or {}
        check_keys(obj, match, (*path, "match"), {"http"}, self.f)
        converted = self._match(obj, (*path, "match", "http"), match.get("http") or {})
        if converted:
            out["match"] = converted
        dest = route.get("destination") or {}
        dpath = (*path, "destination")
        check_keys(obj, dest, dpath, {"serviceSubset", "requestTimeout", "numRetries", "retryOn", "retryOnStatusCodes", "retryOnConnectFailure"}, self.f)
        subset = dest.get("serviceSubset")
        if subset:
            if subset in {v["name"] for v in svc.get("versions") or []}:
                out["version"] = str(subset)
            else:
                self.f.lost(obj, (*dpath, "serviceSubset"), f"subset {subset} is defined by no ServiceResolver; the route goes to the service")
        out["timeout"] = str(dest["requestTimeout"]) if dest.get("requestTimeout") else None
        out["retries"] = self._retries(obj, dpath, dest)
        return out

    def _retries(self, obj: SourceObject, path: tuple, dest: dict) -> dict[str, Any] | None:
        attempts = int(dest.get("numRetries", 0))
        if attempts == 0:
            return None
        conditions: list[str | int] = [str(c) for c in dest.get("retryOn") or []]
        if dest.get("retryOnConnectFailure") and "connect-failure" not in conditions:
            conditions.append("connect-failure")
        conditions += sorted(int(c) for c in dest.get("retryOnStatusCodes") or [])
        if not conditions:
            self.f.approximated(obj, (*path, "numRetries"), "no retry condition given; imported with the intent's default retryOn [5xx, reset, connect-failure]")
            return {"attempts": attempts}
        return {"attempts": attempts, "retryOn": conditions}

    def _match(self, obj: SourceObject, path: tuple, http: dict) -> dict[str, Any]:
        """ServiceRouter ``match.http`` -> an intent match (inverse of traffic.http_match)."""
        check_keys(obj, http, path, {"pathExact", "pathPrefix", "pathRegex", "header", "queryParam", "methods"}, self.f)
        out: dict[str, Any] = {}
        for field, op in (("pathExact", "exact"), ("pathPrefix", "prefix"), ("pathRegex", "regex")):
            if http.get(field) and not (field == "pathPrefix" and http[field] == "/"):
                out["path"] = {op: str(http[field])}
        headers = {}
        for h, header in enumerate(http.get("header") or []):
            ops = [k for k in STRING_OPS if k in header]
            if set(header) - {"name", *STRING_OPS} or len(ops) != 1:
                self.f.lost(obj, (*path, "header", h), "only exact, prefix and regex header matches are expressible; dropped")
                continue
            headers[str(header["name"]).lower()] = {ops[0]: str(header[ops[0]])}
        if headers:
            out["headers"] = headers
        params = {}
        for q, param in enumerate(http.get("queryParam") or []):
            ops = [k for k in ("exact", "regex") if k in param]
            if set(param) - {"name", "exact", "regex"} or len(ops) != 1:
                self.f.lost(obj, (*path, "queryParam", q), "only exact and regex query matches are expressible; dropped")
                continue
            value = str(param[ops[0]])
            prefix = _literal_prefix(value) if ops[0] == "regex" else None
            params[str(param["name"])] = {"prefix": prefix} if prefix is not None else {ops[0]: value}
        if params:
            out["queryParams"] = params
        methods = [str(m) for m in http.get("methods") or []]
        if len(methods) == 1 and methods[0] in METHODS:
            out["method"] = methods[0]
        elif methods:
            self.f.lost(obj, (*path, "methods"), "the intent matches one HTTP method per route; dropped")
        return out

    # --- intentions ----------------------------------------------------------------------------

    def _intentions(self) -> None:
        jwt_providers = {o.name: o for o in self.take("JWTProvider")}
        used_providers: set[str] = set()
        for obj in self.take("ServiceIntentions"):
            dest = str((obj.spec.get("destination") or {}).get("name"))
            if dest == "*" or id(obj) in self._egress_objects:
                continue
            key = self.by_name(dest, self.ns(obj))
            if key is None:
                self.f.lost(obj, ("spec", "destination", "name"), f"destination {dest} is no Service read here; dropped")
                continue
            self.source(key, obj)
            check_keys(obj, obj.spec, ("spec",), {"destination", "sources", "jwt"}, self.f)
            check_keys(obj, obj.spec.get("destination"), ("spec", "destination"), {"name"}, self.f)
            svc = self.services[key]
            if obj.spec.get("jwt"):
                used_providers |= self._jwt(obj, svc, jwt_providers)
            catch_all: dict[str, tuple[dict, str]] = {}
            for s, src in enumerate(obj.spec.get("sources") or []):
                self._source(obj, ("spec", "sources", s), src, key, catch_all)
            exclusive = self.mesh["defaultDeny"] or bool(svc.get("allowFrom")) or self._routed_by_gateway(key)
            for name, (caller, action) in catch_all.items():
                if action == "allow" and exclusive and not svc.get("_closed"):
                    svc.setdefault("allowFrom", []).append(dict(caller))
                elif action == "deny" and not exclusive:
                    # only deny permissions before it (an allow would have made the service exclusive):
                    # the caller is denied everything
                    svc.setdefault("denyFrom", []).append(dict(caller))
        for name, obj in jwt_providers.items():
            if name not in used_providers:
                self.f.add(obj, (), NOT_UNDERSTOOD, "a JWTProvider no ServiceIntentions requires")

    def _routed_by_gateway(self, key: tuple[str, str]) -> bool:
        return any(
            (r.get("namespace") or gw.get("namespace") or self.home, r.get("service")) == key for gw in self.gateways for r in gw.get("routes") or []
        )

    def _caller(self, name: str, dest_key: tuple[str, str]) -> dict[str, Any]:
        found = self.by_name(name, dest_key[0])
        if found is not None:
            return {"service": name, **({"namespace": found[0]} if found[0] != self.home else {})}
        if any(g["name"] == name for g in self.gateways):
            return {"gateway": name}
        return {"serviceAccount": name, "namespace": dest_key[0]}

    def _source(self, obj: SourceObject, path: tuple, src: dict, key: tuple[str, str], catch_all: dict) -> None:
        svc = self.services[key]
        name, action = str(src.get("name")), src.get("action")
        extra = set(src) - {"name", "action", "permissions", "description"}
        if name == "*":
            if action == "deny" and src.get("permissions") is None:
                if not (svc.get("allowFrom") or self._routed_by_gateway(key) or self.mesh["defaultDeny"]) or extra:
                    self.f.approximated(obj, path, f"{svc['name']} admits nobody: mesh.defaultDeny set so it stays closed (every service without allowFrom is closed too)")
                    self.mesh["defaultDeny"] = True
                return  # the exclusive deny beside an allow-list: allowFrom implies it
            self.f.lost(obj, path, "a rule for every caller (*) is not expressible; dropped (fail closed)")
            return
        if extra:
            if action == "allow" or src.get("permissions"):
                self.f.lost(obj, path, f"a source narrowed by {', '.join(sorted(extra))} is not expressible; "
                            + ("dropped (fail closed)" if action == "allow" else "denied whole (fail closed)"))
                if action == "allow":
                    return
            else:
                self.f.approximated(obj, path, f"DENY widened: {', '.join(sorted(extra))} dropped, so the caller is denied everywhere (fail closed)")
        caller = self._caller(name, key)
        description = str(src.get("description") or "")
        perms = src.get("permissions")
        if perms is None:
            if action == "deny":
                svc.setdefault("denyFrom", []).append(dict(caller))
            elif action == "allow":
                implicit = "gateway" in caller and self._routed_by_gateway(key) and "allowFrom " not in description
                if not implicit and not svc.get("_closed"):
                    svc.setdefault("allowFrom", []).append(dict(caller))
            else:
                self.f.lost(obj, (*path, "action"), f"action {action} is not allow or deny; dropped (fail closed)")
            return
        self._permissions(obj, path, perms, caller, svc, catch_all, name)

    def _permissions(self, obj: SourceObject, path: tuple, perms: list, caller: dict, svc: dict, catch_all: dict, name: str) -> None:
        entries: list[tuple[str, dict[str, Any]]] = []  # (action, narrowing), consecutive paths merged
        seen_allow = False
        for p, perm in enumerate(perms):
            ppath = (*path, "permissions", p)
            check_keys(obj, perm, ppath, {"action", "http"}, self.f)
            action = perm.get("action")
            http = perm.get("http") or {}
            narrow = self._narrowing(obj, (*ppath, "http"), http)
            if narrow == {} and p == len(perms) - 1:
                catch_all[name] = (caller, action)
                continue
            if narrow is None:
                if action == "deny":
                    self.f.approximated(obj, (*ppath, "http"), "DENY widened: the condition is dropped, so the caller is denied always (fail closed)")
                    svc.setdefault("denyFrom", []).append(dict(caller))
                else:
                    self.f.lost(obj, (*ppath, "http"), "an allow with a condition the intent lacks is dropped (fail closed)")
                continue
            if action == "deny" and seen_allow:
                self.f.approximated(obj, ppath, "the intent evaluates denyFrom first: requests an earlier allow matched are denied too (fail closed)")
            seen_allow = seen_allow or action == "allow"
            if entries and entries[-1][0] == action and set(entries[-1][1]) - {"paths"} == set(narrow) - {"paths"} \
                    and entries[-1][1].get("methods") == narrow.get("methods") and "paths" in narrow and "paths" in entries[-1][1]:
                entries[-1][1]["paths"] += narrow["paths"]
            else:
                entries.append((action, narrow))
        if name not in catch_all:
            self.f.approximated(obj, (*path, "permissions"), "requests no permission matches get the ACL default policy, not a lower "
                                "intention; the intent decides them as for any caller of the service")
        for action, narrow in entries:
            if action not in ("allow", "deny"):
                continue
            if action == "allow" and svc.get("_closed"):
                continue
            svc.setdefault("denyFrom" if action == "deny" else "allowFrom", []).append({**caller, **narrow})

    def _narrowing(self, obj: SourceObject, path: tuple, http: dict) -> dict[str, Any] | None:
        """A permission's ``http`` -> ``{paths, methods}`` ({} = every request, None = not expressible)."""
        if set(http) - {"pathExact", "pathPrefix", "pathRegex", "methods"}:
            return None
        out: dict[str, Any] = {}
        if http.get("pathExact"):
            out["paths"] = [str(http["pathExact"])]
        elif http.get("pathPrefix"):
            prefix = str(http["pathPrefix"])
            if prefix != "/":
                out["paths"] = [prefix + "*"]
        elif http.get("pathRegex"):
            found = re.fullmatch(r"\.\*(.*)", str(http["pathRegex"]))
            suffix = _unescape(found.group(1)) if found else None
            if suffix is None or _literal(suffix) != found.group(1):
                return None
            out["paths"] = ["*" + suffix]
        if http.get("methods"):
            methods = [str(m) for m in http["methods"]]
            if set(methods) - METHODS:
                return None
            out["methods"] = methods
        return out

    def _jwt(self, obj: SourceObject, svc: dict, providers: dict[str, SourceObject]) -> set[str]:
        """``spec.jwt`` + its JWTProvider -> ``requestAuthentication`` (inverse of intentions._jwt)."""
        jwt = obj.spec["jwt"]
        path = ("spec", "jwt")
        check_keys(obj, jwt, path, {"providers"}, self.f)
        refs = jwt.get("providers") or []
        provider = providers.get(str(refs[0].get("name"))) if len(refs) == 1 else None
        if provider is None:
            self.f.lost(obj, path, "the intent requires one JWT issuer per service whose JWTProvider is read here; "
                        "the service admits nobody now (fail closed)")
            self._close(svc)
            return set()
        ref = refs[0]
        check_keys(obj, ref, (*path, "providers", 0), {"name", "verifyClaims"}, self.f)
        spec = provider.spec
        check_keys(provider, spec, ("spec",), {"issuer", "audiences", "jsonWebKeySet"}, self.f)
        remote = (spec.get("jsonWebKeySet") or {}).get("remote") or {}
        if not remote.get("uri") or not spec.get("issuer"):
            self.f.lost(provider, ("spec",), "no issuer or remote JWKS URI; the service admits nobody now (fail closed)")
            self._close(svc)
            return {provider.name}
        rule: dict[str, Any] = {"issuer": str(spec["issuer"]), "jwksUri": str(remote["uri"])}
        if spec.get("audiences"):
            rule["audiences"] = [str(a) for a in spec["audiences"]]
        claims: dict[str, list[str]] = {}
        for c, claim in enumerate(ref.get("verifyClaims") or []):
            parts = [str(x) for x in claim.get("path") or []]
            if len(parts) != 1:
                self.f.lost(obj, (*path, "providers", 0, "verifyClaims", c), "nested claim paths are not expressible; the service admits nobody now (fail closed)")
                self._close(svc)
                continue
            claims.setdefault(parts[0], []).append(str(claim.get("value")))
        for claim, values in claims.items():
            if len(values) > 1:
                self.f.approximated(obj, (*path, "providers", 0, "verifyClaims"), f"Consul requires every value of {claim}; the intent reads them as any of")
        if claims:
            rule["requiredClaims"] = claims
        svc["requestAuthentication"] = rule
        self.source((svc.get("namespace", self.home), svc["name"]), provider)
        return {provider.name}

    # --- egress ----------------------------------------------------------------------------

    def _egress(self) -> list[dict[str, Any]]:
        """Destination ServiceDefaults (transparent-proxy destinations) -> egress hosts."""
        self._egress_objects: set[int] = set()
        hosts: dict[str, dict[str, Any]] = {}
        names: dict[str, str] = {}
        for obj in self.by_kind.get("ServiceDefaults", []):
            dest = obj.spec.get("destination")
            if not dest:
                continue
            self._egress_objects.add(id(obj))
            self.handled.add(id(obj))
            check_keys(obj, obj.spec, ("spec",), {"protocol", "destination"}, self.f)
            check_keys(obj, dest, ("spec", "destination"), {"addresses", "port"}, self.f)
            addresses = [str(a) for a in dest.get("addresses") or []]
            if len(addresses) != 1:
                self.f.lost(obj, ("spec", "destination", "addresses"), "the intent has one host per egress entry; the others are dropped")
            if not addresses:
                continue
            proto = {"http": "http", "grpc": "grpc", "tcp": "tls", "http2": "http"}.get(str(obj.spec.get("protocol") or "tcp"), "tls")
            entry = hosts.setdefault(addresses[0], {"host": addresses[0], "ports": [], "protocol": proto})
            entry["ports"].append(int(dest.get("port", 443)))
            names[obj.name] = addresses[0]
        for obj in self.by_kind.get("ServiceIntentions", []):
            dest = str((obj.spec.get("destination") or {}).get("name"))
            if dest in names:
                self._egress_objects.add(id(obj))
                self.handled.add(id(obj))
                sources = plain(obj.spec.get("sources") or [])
                if [(s.get("name"), s.get("action")) for s in sources] != [("*", "allow")]:
                    self.f.approximated(obj, ("spec", "sources"), "the intent lets every meshed workload reach an egress host")
        for obj in self.take("TerminatingGateway"):
            check_keys(obj, obj.spec, ("spec",), {"services"}, self.f)
            for s, entry in enumerate(obj.spec.get("services") or []):
                check_keys(obj, entry, ("spec", "services", s), {"name"}, self.f)
                if str(entry.get("name")) not in names:
                    self.f.lost(obj, ("spec", "services", s), f"{entry.get('name')} is no destination read here; dropped")
            if obj.name != TERMINATING_GATEWAY:
                self.f.approximated(obj, ("metadata", "name"), f"meshgen names the terminating gateway {TERMINATING_GATEWAY}")
        out = []
        for host in sorted(hosts):
            entry = hosts[host]
            entry["ports"] = sorted(set(entry["ports"]))
            if entry["ports"] == [443]:
                del entry["ports"]
            if entry["protocol"] == "tls":
                del entry["protocol"]
            out.append(entry)
        expected = egress_object_names([_Host(e["host"], e.get("ports", [443])) for e in out], per_port=True)
        for name, host in names.items():
            if name not in expected.values():
                obj = next(o for o in self.by_kind["ServiceDefaults"] if o.name == name)
                self.f.approximated(obj, ("metadata", "name"), f"renamed {expected.get((host, None)) or 'egress-<host>-<port>'} as meshgen names destinations")
        return out

    # --- gateways ------------------------------------------------------------------------------

    def _with_timeouts(self, route: SourceObject) -> SourceObject:
        """An HTTPRoute whose ``ExtensionRef`` RouteTimeoutFilters are read as ``timeouts.request``
        (inverse of gateways._http_route), as a copy: the source objects are not changed."""
        filters = {o.name: o for o in self.by_kind.get("RouteTimeoutFilter", []) if (o.namespace or self.home) == (route.namespace or self.home)}
        rules = route.spec.get("rules") or []
        if not any(f.get("type") == "ExtensionRef" for r in rules for f in r.get("filters") or []):
            return route
        body = copy.deepcopy(route.body)
        for r, rule in enumerate(body["spec"]["rules"]):
            kept = PosList()
            kept.line, kept.lines = getattr(rule.get("filters"), "line", 0), []
            for f, flt in enumerate(rule.get("filters") or []):
                ext = flt.get("extensionRef") or {}
                if flt.get("type") == "ExtensionRef" and ext.get("kind") == "RouteTimeoutFilter" and ext.get("name") in filters:
                    timeout_obj = filters[ext["name"]]
                    self.handled.add(id(timeout_obj))
                    check_keys(timeout_obj, timeout_obj.spec, ("spec",), {"requestTimeout"}, self.f)
                    if timeout_obj.spec.get("requestTimeout"):
                        timeouts = PosMap(request=str(timeout_obj.spec["requestTimeout"]))
                        timeouts.line, timeouts.lines = flt.line, {"request": flt.line}
                        rule["timeouts"] = timeouts
                        rule.lines["timeouts"] = flt.line
                    continue
                kept.append(flt)
                kept.lines.append(rule["filters"].lines[f])
            if kept:
                rule["filters"] = kept
            else:
                rule.pop("filters", None)
        copied = SourceObject(route.file, route.line, body)
        self._copies[id(copied)] = route
        return copied

    # --- what is left ----------------------------------------------------------------------

    def _leftovers(self, objects: list[SourceObject]) -> None:
        self._unweighted_versions()
        self._drop_markers()
        self._report_leftovers(objects)

class _Host:
    """Just enough of an intent ``EgressHost`` for :func:`egress_object_names`."""

    def __init__(self, host: str, ports: list[int]) -> None:
        self.host, self.ports = host, ports


def _matches_all(route: dict) -> bool:
    http = ((route.get("match") or {}).get("http")) or {}
    return not http or plain(http) == {"pathPrefix": "/"}


def _literal(text: str) -> str:
    from meshgen.platforms.consul.traffic import literal

    return literal(text)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _literal_prefix(regex: str) -> str | None:
    """``<escaped text>.*`` (how traffic._query writes an intent prefix) -> the text, else None."""
    if not regex.endswith(".*"):
        return None
    body = regex[:-2]
    text = _unescape(body)
    return text if _literal(text) == body else None


IMPORTER = ConsulImporter()
