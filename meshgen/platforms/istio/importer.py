"""Istio (sidecar) manifests -> an intent: the inverse of :mod:`meshgen.platforms.istio.platform`.

Read: Service (ports, selector), Deployment (service account, replicas), PeerAuthentication
(``mesh.mtls``), AuthorizationPolicy (allow-lists and deny rules), RequestAuthentication with its
require-token DENY rules (``requestAuthentication``, :mod:`.jwt_import`), DestinationRule (versions from
subsets, connection pool, outlier detection, retry budget), VirtualService (weights, header routes,
timeouts, retries, faults, mirroring), ServiceEntry and Sidecar (egress), Gateway API Gateway and
routes (gateways); ambient waypoints and their ``istio.io/use-waypoint`` bindings are recognized
and reported, regenerated rather than carried over (:mod:`.waypoint_import`).

How ambiguity is resolved, as the data plane would:

- VirtualService ``http`` rules are tried in order and the first match wins
  (https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute); rules after
  one without ``match`` are never reached and are reported dropped. The last rule without
  ``match`` is the service's default (weights, timeout, retries).
- A rule without ``retries`` retries as Istio's default does: 2 attempts on
  ``connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes``
  (https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry); the intent
  has no ``retriable-status-codes``, so that part is reported approximated.
- AuthorizationPolicy: DENY is evaluated before ALLOW, and a workload with any ALLOW policy denies
  what none allows (https://istio.io/latest/docs/concepts/security/#implicit-enablement). The intent's
  ``denyFrom`` is also evaluated first. What cannot be expressed fails closed: an ALLOW rule with
  conditions the intent lacks (``when``, ``notPrincipals``, ...) is dropped (it admits fewer), a DENY
  rule's unexpressible operation or condition is widened to the whole caller (it denies more), and a
  DENY rule whose caller cannot be expressed removes every allow of the service (nothing admitted).
- Principals ``<trust domain>/ns/NS/sa/SA`` name the service whose pods run as SA (from a
  Deployment, or a service named SA, or one service in NS whose name ends SA), a gateway
  (``<gateway>-istio``), or else ``serviceAccount`` + ``namespace`` callers.
"""

from __future__ import annotations

from typing import Any, Callable

from meshgen.importing.delivery import read_rollouts
from meshgen.importing.common import EGRESS_HOST, check_keys, host_service, number, plain, string_match
from meshgen.importing.findings import APPROXIMATED
from meshgen.importing.gateway_api import ROUTE_KINDS
from meshgen.importing.identities import IdentityRun
from meshgen.importing.model import Imported
from meshgen.importing.reader import SourceObject
from meshgen.importing.workloads import GATEWAY_API
from meshgen.platforms.istio import jwt_import, operations_import, waypoint_import

ISTIO_GROUPS = frozenset({"networking.istio.io", "security.istio.io", "telemetry.istio.io"})
#: Istio's default retry policy when a route says nothing (HTTPRetry docs, above).
ISTIO_DEFAULT_RETRY_ON = ["connect-failure", "refused-stream", "unavailable", "cancelled"]
RETRY_CONDITIONS = {
    "5xx", "gateway-error", "reset", "connect-failure", "refused-stream", "retriable-4xx",
    "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
}
METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}



class IstioImporter:
    """Reads Istio sidecar-mode manifests (networking and security v1, Gateway API v1)."""

    groups = ISTIO_GROUPS
    gateway_class = "istio"

    def run(self, objects: list[SourceObject]) -> Imported:
        """Objects -> intent data and findings (see the module docstring for the rules). Pure."""
        return IstioRun(self, objects).result


class IstioRun(IdentityRun):
    """One Istio import. The ambient importer (:mod:`meshgen.platforms.istio_ambient.importer`)
    subclasses it and overrides the hooks where ambient's objects differ: :meth:`_routes` (which
    route objects carry the services' routing), :meth:`_versions` (per-version Services), :meth:`_destination_service` (which Service a
    DestinationRule's host stands for), :meth:`_ref_targets` (policies attached by ``targetRefs``),
    :meth:`_skip_policy` (policies it regenerates) and :meth:`_default_retries`."""

    platform = "istio"
    gateway_account_class = IstioImporter.gateway_class

    def __init__(self, importer: IstioImporter, objects: list[SourceObject]) -> None:
        super().__init__(objects)
        read_rollouts(self)  # Flagger's Canary and what meshgen left to Flagger (importing/delivery.py)
        self.importer = importer
        self._app_name(objects)
        self._namespaces()
        self._services()
        self._deployments()
        self._service_accounts()
        self._versions()
        self._destination_rules()
        waypoint_import.read_waypoints(self)
        self._routes()
        self.gateways = gateways = self._gateways(
            [o for k in ROUTE_KINDS for o in self.by_kind.get(k, []) if o.group == GATEWAY_API], importer.gateway_class
        )
        self._peer_authentication()
        for obj in self.take("RequestAuthentication"):
            jwt_import.read_request_authentication(self, obj)
        self._authorization()
        jwt_import.finish(self)
        egress = self._egress()
        operations_import.read_back(self)
        self._leftovers(objects)
        self._spec(gateways, egress)

    # --- DestinationRule ----------------------------------------------------------------

    def _versions(self) -> None:
        """Hook: versions read before the DestinationRules (sidecar mode: none, they are the rules' subsets)."""

    def _destination_rules(self) -> None:
        for obj in self.take("DestinationRule"):
            key = self._destination_service(obj)
            if key not in self.services:
                self.f.lost(obj, ("spec", "host"), f"host {obj.spec.get('host')} is not a Service read here; dropped")
                continue
            self.source(key, obj)
            svc = self.services[key]
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"host", "subsets", "trafficPolicy"}, self.f)
            versions = []
            for i, subset in enumerate(spec.get("subsets") or []):
                check_keys(obj, subset, ("spec", "subsets", i), {"name", "labels"}, self.f)
                version: dict[str, Any] = {"name": str(subset["name"])}
                labels = {str(k): str(v) for k, v in (subset.get("labels") or {}).items()}
                if labels != {"version": version["name"]}:
                    version["labels"] = labels
                versions.append(version)
            if versions:
                svc["versions"] = versions
                self.subset_sources[key] = obj
            self._traffic_policy(obj, svc, spec.get("trafficPolicy") or {})

    def _destination_service(self, obj: SourceObject) -> tuple[str, str] | None:
        """Hook: the service key a DestinationRule's ``host`` names (None: not a Service)."""
        return host_service(str(obj.spec.get("host", "")), self.ns(obj))

    def _traffic_policy(self, obj: SourceObject, svc: dict, policy: dict) -> None:
        """``trafficPolicy`` (connection pool, outlier detection, retry budget) -> ``svc``'s
        ``circuitBreaker`` and ``retryBudget``; anything else LOST."""
        base = ("spec", "trafficPolicy")
        check_keys(obj, policy, base, {"connectionPool", "outlierDetection", "retryBudget"}, self.f)
        cb: dict[str, Any] = {}
        pool = policy.get("connectionPool") or {}
        check_keys(obj, pool, (*base, "connectionPool"), {"tcp", "http"}, self.f)
        tcp, http = pool.get("tcp") or {}, pool.get("http") or {}
        check_keys(obj, tcp, (*base, "connectionPool", "tcp"), {"maxConnections"}, self.f)
        check_keys(obj, http, (*base, "connectionPool", "http"), {"http1MaxPendingRequests", "http2MaxRequests"}, self.f)
        for source, field, into in ((tcp, "maxConnections", "maxConnections"), (http, "http1MaxPendingRequests", "maxPendingRequests"), (http, "http2MaxRequests", "maxRequests")):
            if field in source:
                cb[into] = int(source[field])
        od = policy.get("outlierDetection") or {}
        check_keys(obj, od, (*base, "outlierDetection"), {"consecutive5xxErrors", "interval", "baseEjectionTime", "maxEjectionPercent"}, self.f)
        for field, into in (("consecutive5xxErrors", "consecutiveErrors"), ("interval", "interval"), ("baseEjectionTime", "baseEjectionTime"), ("maxEjectionPercent", "maxEjectionPercent")):
            if field in od:
                cb[into] = int(od[field]) if field in ("consecutive5xxErrors", "maxEjectionPercent") else str(od[field])
        if cb:
            svc["circuitBreaker"] = cb
        budget = policy.get("retryBudget")
        if budget:
            check_keys(obj, budget, (*base, "retryBudget"), {"percent", "minRetryConcurrency"}, self.f)
            svc["retryBudget"] = {"percent": number(budget.get("percent", 20)), "minRetriesPerSecond": int(budget.get("minRetryConcurrency", 10))}
            self.f.approximated(obj, (*base, "retryBudget", "minRetryConcurrency"), "minRetryConcurrency (concurrent retries) becomes minRetriesPerSecond")

    # --- VirtualService ------------------------------------------------------------------

    def _routes(self) -> None:
        """Hook: read the objects that route the services (sidecar mode: VirtualService)."""
        self._virtual_services()

    def _virtual_services(self) -> None:
        for obj in self.take("VirtualService"):
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"hosts", "http", "tcp"}, self.f)
            hosts = list(spec.get("hosts") or [])
            key = host_service(str(hosts[0]), self.ns(obj)) if hosts else None
            if key not in self.services:
                self.f.lost(obj, ("spec", "hosts"), f"hosts {hosts} name no Service read here; dropped")
                continue
            for i in range(1, len(hosts)):
                self.f.lost(obj, ("spec", "hosts", i), "only the first host's Service gets these routes")
            self.source(key, obj)
            svc = self.services[key]
            rules = spec.get("http") or []
            catch_all = next((i for i, r in enumerate(rules) if not r.get("match")), None)
            if catch_all is not None:
                for j in range(catch_all + 1, len(rules)):
                    self.f.lost(obj, ("spec", "http", j), f"never reached: rule {catch_all} matches every request first")
                rules = rules[: catch_all + 1]
            parsed = [self._http_rule(obj, i, r, key) for i, r in enumerate(rules)]
            default = parsed.pop() if catch_all is not None else None
            if default is None and parsed:
                self.f.approximated(obj, ("spec", "http"), "no rule matches the remaining requests (Envoy answers 404); the intent sends them to the service")
            if default is not None:
                if default.get("weights"):
                    self._weights(obj, svc, default["weights"], ("spec", "http", catch_all, "route"))
                for k in ("timeout", "retries"):
                    if default.get(k) is not None:
                        svc[k] = default[k]
                named = {"name": default["name"]} if default.get("name") else {}
                for k in ("fault", "mirror"):
                    if k in default:
                        parsed.append({**named, k: default[k], "_index": catch_all})
                        named = {}  # the rule's name goes to its first route
            routes = []
            for i, rule in enumerate(parsed):
                index = rule.pop("_index")
                matches = rule.pop("matches", None) or [None]
                weights = rule.pop("weights", None)
                if weights and len(weights) == 1 and weights[0][0]:
                    rule["version"] = weights[0][0]
                elif weights and default and weights != default.get("weights"):
                    self.f.lost(obj, ("spec", "http", index, "route"), "a per-route weighted split: the route uses the service's default split")
                if default is not None:
                    for k in ("timeout", "retries"):
                        if k in rule and rule[k] == default.get(k):
                            del rule[k]
                if "retries" in rule and rule["retries"] is None:
                    # attempts 0 on a rule: {attempts: 0} unless the service does not retry either
                    if default is not None and default.get("retries") is None:
                        del rule["retries"]
                    else:
                        rule["retries"] = {"attempts": 0}
                if rule.get("fault"):
                    rule.pop("timeout", None)
                    rule.pop("retries", None)
                name = rule.pop("name", None)
                for m, match in enumerate(matches):
                    route = dict(rule)
                    if match:
                        route["match"] = match
                    if name and name != f"route-{len(routes)}" and m == 0:
                        route = {"name": name, **route}
                    routes.append(route)
            if routes:
                svc["routes"] = routes
            for i, rule in enumerate(spec.get("tcp") or []):
                check_keys(obj, rule, ("spec", "tcp", i), {"route"}, self.f)
                if not rules:
                    self._weights(obj, svc, _destinations(rule.get("route") or []), ("spec", "tcp", i, "route"))

    def _weights(self, obj: SourceObject, svc: dict, weights: list[tuple[str | None, int]], path: tuple) -> None:
        versions = svc.get("versions") or []
        if not any(subset for subset, _ in weights):
            if versions:
                self.f.approximated(obj, path, "the route reaches every pod; the intent routes to its versions by weight")
            return
        if len(weights) == 1:
            weights = [(weights[0][0], 100)]
        share = dict(weights)
        for version in versions:
            version["weight"] = share.get(version["name"], 0)
        for subset, _ in weights:
            if subset not in {v["name"] for v in versions}:
                self.f.lost(obj, path, f"subset {subset} is defined by no DestinationRule; dropped")

    def _http_rule(self, obj: SourceObject, i: int, rule: dict, key: tuple[str, str]) -> dict[str, Any]:
        path = ("spec", "http", i)
        check_keys(obj, rule, path, {"name", "match", "route", "timeout", "retries", "fault", "mirror", "mirrorPercentage"}, self.f)
        out: dict[str, Any] = {"_index": i}
        if rule.get("name"):
            out["name"] = str(rule["name"])
        if rule.get("match"):
            out["matches"] = [self._match(obj, (*path, "match", m), match) for m, match in enumerate(rule["match"])]
        route = rule.get("route") or []
        for d, dest in enumerate(route):
            target = host_service(str((dest.get("destination") or {}).get("host", "")), self.ns(obj))
            if target != key:
                self.f.lost(obj, (*path, "route", d, "destination", "host"), "a route to another host; the intent routes a service to its own versions")
            check_keys(obj, dest, (*path, "route", d), {"destination", "weight"}, self.f)
        out["weights"] = _destinations(route)
        if rule.get("timeout") is not None:
            out["timeout"] = str(rule["timeout"])
        out["retries"] = self._retries(obj, path, rule)
        fault = rule.get("fault")
        if fault:
            out["fault"] = self._fault(obj, (*path, "fault"), fault)
        mirror = rule.get("mirror")
        if mirror:
            if host_service(str(mirror.get("host", "")), self.ns(obj)) != key or not mirror.get("subset"):
                self.f.lost(obj, (*path, "mirror"), "mirroring to another host or without a subset; dropped")
            else:
                out["mirror"] = {"version": str(mirror["subset"]), "percent": number((rule.get("mirrorPercentage") or {}).get("value", 100))}
        return out

    def _retries(self, obj: SourceObject, path: tuple, rule: dict) -> dict[str, Any] | None:
        retries = rule.get("retries")
        if retries is None:
            if rule.get("fault"):
                return None
            self.f.approximated(obj, path, "no retries: Istio retries twice by default; imported as attempts 2 on "
                                f"{','.join(ISTIO_DEFAULT_RETRY_ON)} (retriable-status-codes has no intent equivalent)")
            return {"attempts": 2, "retryOn": list(ISTIO_DEFAULT_RETRY_ON)}
        check_keys(obj, retries, (*path, "retries"), {"attempts", "perTryTimeout", "retryOn"}, self.f)
        attempts = int(retries.get("attempts", 2))
        if attempts == 0:
            return None
        out: dict[str, Any] = {"attempts": attempts}
        if retries.get("perTryTimeout"):
            out["perTryTimeout"] = str(retries["perTryTimeout"])
        out["retryOn"] = retry_on(
            retries.get("retryOn"),
            lambda token: self.f.lost(obj, (*path, "retries", "retryOn"), f"retry condition {token} has no intent equivalent; dropped"),
        )
        return out

    def _fault(self, obj: SourceObject, path: tuple, fault: dict) -> dict[str, Any]:
        check_keys(obj, fault, path, {"delay", "abort"}, self.f)
        out: dict[str, Any] = {}
        delay, abort = fault.get("delay"), fault.get("abort")
        if delay:
            check_keys(obj, delay, (*path, "delay"), {"fixedDelay", "percentage", "percent"}, self.f)
            out["delay"] = {"fixedDelay": str(delay.get("fixedDelay")), "percent": _percent(delay)}
        if abort:
            check_keys(obj, abort, (*path, "abort"), {"httpStatus", "percentage", "percent"}, self.f)
            out["abort"] = {"httpStatus": int(abort.get("httpStatus", 500)), "percent": _percent(abort)}
        return out

    def _match(self, obj: SourceObject, path: tuple, match: dict) -> dict[str, Any]:
        check_keys(obj, match, path, {"uri", "headers", "method", "queryParams", "name"}, self.f)
        out: dict[str, Any] = {}
        if match.get("uri"):
            out["path"] = string_match(plain(match["uri"]))
        if match.get("method"):
            method = (string_match(plain(match["method"])) or {}).get("exact")
            if method in METHODS:
                out["method"] = method
            else:
                self.f.lost(obj, (*path, "method"), "only an exact, upper-case HTTP method is expressible; dropped")
        for key in ("headers", "queryParams"):
            if match.get(key):
                converted = {}
                for name, value in match[key].items():
                    sm = string_match(plain(value))
                    if sm is None:
                        self.f.lost(obj, (*path, key, name), "only exact, prefix and regex matches are expressible; dropped")
                    else:
                        converted[str(name).lower() if key == "headers" else str(name)] = sm
                out[key] = converted
        return out

    # --- mTLS and authorization ----------------------------------------------------------

    def _peer_authentication(self) -> None:
        modes = []
        for obj in self.take("PeerAuthentication"):
            check_keys(obj, obj.spec, ("spec",), {"mtls"}, self.f)
            mode = str((obj.spec.get("mtls") or {}).get("mode", "UNSET"))
            if mode == "DISABLE":
                self.f.lost(obj, ("spec", "mtls", "mode"), "mTLS DISABLE is not expressible; imported as strict (fail closed)")
                mode = "STRICT"
            if mode != "UNSET":
                modes.append(mode)
        if not modes:
            self.mesh["mtls"] = "permissive"  # Istio's default without a PeerAuthentication
            first = next(iter(self.by_kind.get("Service", [])), None)
            if first is not None:
                self.f.approximated(first, (), "no PeerAuthentication: Istio accepts plaintext and mTLS (PERMISSIVE); imported as mesh.mtls permissive")
        elif "PERMISSIVE" in modes and "STRICT" in modes:
            self.mesh["mtls"] = "strict"
            for obj in self.by_kind.get("PeerAuthentication", []):
                self.f.approximated(obj, ("spec", "mtls"), "modes differ between namespaces; the intent's mesh-wide mode is strict")
        else:
            self.mesh["mtls"] = modes[0].lower()

    def _authorization(self) -> None:
        policies = self.take("AuthorizationPolicy")
        allow_nothing = set()
        deny_all: set[tuple[str, str]] = set()
        for obj in policies:
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"selector", "targetRefs", "action", "rules"}, self.f)
            action = str(spec.get("action", "ALLOW"))
            if self._skip_policy(obj):
                continue
            attached = bool(spec.get("targetRefs"))
            if attached:
                refs = spec["targetRefs"]
                if action == "ALLOW" and spec.get("rules") == [{}] and all(r.get("kind") == "Gateway" for r in refs):
                    continue  # the gateway is open to the world: meshgen writes this for every gateway
                found = self._ref_targets(obj)
                if found is None:
                    self.f.lost(obj, ("spec", "targetRefs"), "policies attached by targetRefs are not expressible; dropped")
                    if action == "ALLOW":  # it closed the Services it names: keep them closed
                        deny_all.update(k for r in refs if r.get("kind") == "Service" and (k := (self.ns(obj), str(r.get("name")))) in self.services)
                    else:
                        for k in [(self.ns(obj), str(r.get("name"))) for r in refs if r.get("kind") == "Service"]:
                            if k in self.services:
                                self._close(self.services[k])
                    continue
            if action not in ("ALLOW", "DENY"):
                self.f.lost(obj, ("spec", "action"), f"{action} policies have no intent equivalent; dropped")
                continue
            selector = (spec.get("selector") or {}).get("matchLabels")
            targets = found if attached else self._targets(obj, selector)
            if selector is None and not attached and not targets and spec.get("rules"):
                self.f.lost(obj, ("spec", "rules"), f"namespace {self.ns(obj)} has no Service read here (a root-namespace policy applies mesh-wide); dropped")
                continue
            if not spec.get("rules") and action == "ALLOW":
                # No selector and no targetRefs: the namespace's allow-nothing (a policy without
                # selector or targetRef applies to the whole namespace: design/platform-matrix.md,
                # AuthorizationPolicy "Target", from
                # https://istio.io/latest/docs/reference/config/security/authorization-policy/).
                # With targetRefs it applies to its targets only (PolicyTargetReference: "the
                # targeted resource which the policy should be applied to",
                # https://istio.io/latest/docs/reference/config/type/workload-selector/): an ALLOW
                # policy that matches nothing closes those, not the rest of the namespace.
                if selector is None and not attached:
                    allow_nothing.add(self.ns(obj))
                else:
                    deny_all.update(targets)
                continue
            for r, rule in enumerate(spec.get("rules") or []):
                for key in targets:
                    if action == "DENY" and jwt_import.deny_rule(self.services[key], rule):
                        continue
                    self._rule(obj, r, rule, key, action == "DENY", attached)
            if action == "ALLOW":
                # Any ALLOW policy closes its workloads to everything it does not allow, even
                # when every rule of it was dropped: such a service must stay closed.
                deny_all.update(targets)
        namespaces = {k[0] for k in self.services}
        closed = self.mesh.get("defaultDeny", False)  # set by _close: a DENY that could not be named
        if allow_nothing:
            self.mesh["defaultDeny"] = True
            for ns in sorted(namespaces - allow_nothing):
                self.f.approximated(policies[0], (), f"namespace {ns} has no allow-nothing policy; the intent's mesh-wide defaultDeny covers it too")
        elif closed:
            self.f.approximated(policies[0], (), "mesh.defaultDeny is true so that services closed by an unexpressible DENY admit nobody; "
                                "every service without allowFrom is closed too (fail closed)")
        else:
            self.mesh["defaultDeny"] = False
        for key in sorted(deny_all):
            svc = self.services[key]
            if not svc.get("allowFrom") and not self.mesh["defaultDeny"]:
                self.mesh["defaultDeny"] = True
                self.f.items.append(_note(policies, key, "its ALLOW policies admit nobody the intent can name; mesh.defaultDeny set so it "
                                          "stays closed (every service without allowFrom is closed too)"))

    def _skip_policy(self, obj: SourceObject) -> bool:
        """Hook: True for an AuthorizationPolicy regenerated from the rest of the intent (none here)."""
        return False

    def _ref_targets(self, obj: SourceObject) -> list[tuple[str, str]] | None:
        """Hook: the services a policy attached by ``targetRefs`` applies to; None when that
        attachment is not expressible (sidecar mode: only gateways and waypoints read targetRefs)."""
        return None

    def _rule(self, obj: SourceObject, r: int, rule: dict, key: tuple[str, str], deny: bool, attached: bool = False) -> None:
        """One AuthorizationPolicy rule -> ``allowFrom``/``denyFrom`` entries of ``key``'s service.
        ``attached``: the policy has ``targetRefs`` (a waypoint enforces it), so its ``ports`` are
        the Service's ports; otherwise the pods' (target) ports."""
        path = ("spec", "rules", r)
        svc = self.services[key]
        check_keys(obj, rule, path, {"from", "to", "when"}, self.f, "condition")
        if rule.get("when"):
            if deny:
                self.f.approximated(obj, (*path, "when"), "DENY widened: the conditions are dropped, so the caller is denied always (fail closed)")
            else:
                self.f.lost(obj, (*path, "when"), "ALLOW rule with conditions dropped entirely (fail closed: it admits nobody now)")
                return
        peers: list[dict[str, Any]] = []
        sources = rule.get("from") or []
        if not sources:
            self.f.lost(obj, path, "a rule without from (any caller, even outside the mesh) is not expressible; "
                        + ("every allow of the service is removed (fail closed)" if deny else "dropped (fail closed)"))
            if deny:
                self._close(svc)
            return
        for s, entry in enumerate(sources):
            source = entry.get("source") or {}
            if not deny:
                source = jwt_import.allow_source(svc, source)
            spath = (*path, "from", s, "source")
            extra = set(source) - {"principals", "namespaces", "serviceAccounts"}
            if extra:
                if deny:
                    self.f.lost(obj, spath, f"DENY by {', '.join(sorted(extra))} is not expressible; every allow of the service is removed (fail closed)")
                    self._close(svc)
                else:
                    self.f.lost(obj, spath, f"ALLOW by {', '.join(sorted(extra))} is not expressible; this source is dropped (fail closed)")
                continue
            principals = [str(x).split("/") for x in source.get("principals") or []]
            ids = [(x[2], x[4]) for x in principals if len(x) == 5 and x[1] == "ns" and x[3] == "sa" and "*" not in x[4]]
            whole = self._versions_of(ids) if len(ids) > 1 and len(ids) == len(principals) else None
            if whole is not None:
                peers.append(whole)
            for p, principal in enumerate(source.get("principals") or [] if whole is None else []):
                parts = str(principal).split("/")
                if len(parts) == 5 and parts[1] == "ns" and parts[3] == "sa" and "*" not in principal:
                    peers.append(self._identity_of(parts[2], parts[4]))
                else:
                    self.f.lost(obj, (*spath, "principals", p), f"principal {principal} is not a <trust domain>/ns/NS/sa/SA identity; "
                                + ("every allow of the service is removed (fail closed)" if deny else "dropped (fail closed)"))
                    if deny:
                        self._close(svc)
                if len(parts) == 5 and parts[0] != "cluster.local":
                    self.mesh["trustDomain"] = parts[0]
            for account in source.get("serviceAccounts") or []:
                ns, _, sa = str(account).rpartition("/")  # "ns/sa", or "sa" in the policy's namespace
                peers.append(self._identity_of(ns or self.ns(obj), sa))
            for namespace in source.get("namespaces") or []:
                peers.append({"namespace": str(namespace)})
        operations = [o.get("operation") or {} for o in rule.get("to") or []] or [{}]
        for o, op in enumerate(operations):
            opath = (*path, "to", o, "operation")
            extra = set(op) - {"ports", "methods", "paths"}
            if extra:
                if deny:
                    self.f.approximated(obj, opath, f"DENY widened: {', '.join(sorted(extra))} dropped, so the caller is denied more (fail closed)")
                    op = {}
                else:
                    self.f.lost(obj, opath, f"ALLOW on {', '.join(sorted(extra))} is not expressible; this operation is dropped (fail closed)")
                    continue
            narrow: dict[str, Any] = {}
            ports = [str(p) for p in op.get("ports") or []]
            if ports:
                names = []
                for port in ports:
                    found = next((x["name"] for x in svc["ports"] if (x["port"] if attached else x.get("targetPort", x["port"])) == int(port)), None)
                    if found is None:
                        self.f.lost(obj, (*opath, "ports"), f"port {port} is not a port of {svc['name']}; dropped")
                    else:
                        names.append(found)
                if not names and not deny:
                    continue
                if sorted(names) != sorted(x["name"] for x in svc["ports"]):
                    narrow["ports"] = names
            if op.get("methods"):
                narrow["methods"] = [str(m) for m in op["methods"]]
            if op.get("paths"):
                narrow["paths"] = [str(p) for p in op["paths"]]
            for peer in peers:
                if not deny and svc.get("_closed"):
                    break  # a DENY the intent cannot name closed it, whatever the policy order
                svc.setdefault("denyFrom" if deny else "allowFrom", []).append({**peer, **narrow})

    # --- egress --------------------------------------------------------------------------

    def _egress(self) -> list[dict[str, Any]]:
        out = []
        for obj in self.take("ServiceEntry"):
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"hosts", "location", "resolution", "ports"}, self.f)
            if spec.get("location", "MESH_EXTERNAL") != "MESH_EXTERNAL":
                self.f.lost(obj, ("spec", "location"), "only external hosts (MESH_EXTERNAL) are expressible; dropped")
                continue
            ports = [int(p["number"]) for p in spec.get("ports") or []]
            protocols = {str(p.get("protocol", "TLS")).upper() for p in spec.get("ports") or []}
            proto = {"HTTP": "http", "TLS": "tls", "HTTPS": "tls", "TCP": "tcp", "GRPC": "grpc"}.get(next(iter(protocols)) if len(protocols) == 1 else "TLS", "tls")
            if len(protocols) > 1:
                self.f.approximated(obj, ("spec", "ports"), f"ports of several protocols; imported as {proto}")
            for h, host in enumerate(spec.get("hosts") or []):
                if not EGRESS_HOST.fullmatch(str(host)):
                    self.f.lost(obj, ("spec", "hosts", h), f"host {host} is not a DNS name (or *.name) the intent accepts; dropped")
                    continue
                if any(e["host"] == str(host) for e in out):
                    self.f.lost(obj, ("spec", "hosts", h), f"host {host} is already imported from another ServiceEntry; this one's ports and protocol are dropped")
                    continue
                entry: dict[str, Any] = {"host": str(host)}
                if ports and ports != [443]:
                    entry["ports"] = ports
                if proto != "tls":
                    entry["protocol"] = proto
                out.append(entry)
        for obj in self.take("Sidecar"):
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"outboundTrafficPolicy"}, self.f)
            if (spec.get("outboundTrafficPolicy") or {}).get("mode") == "REGISTRY_ONLY":
                self.mesh["egressDefaultDeny"] = True
        return out

    # --- what is left --------------------------------------------------------------------

    def _default_retries(self) -> None:
        """An HTTP service no VirtualService routes still gets Istio's default retry policy."""
        routed = {k for k, refs in self.out.sources.items() if any(r.startswith("VirtualService ") for r in refs)}
        for obj in self.by_kind.get("Service", []):
            key = (self.ns(obj), obj.name)
            svc = self.services.get(key)
            if svc is None or key in routed or not any(p["protocol"] in ("http", "http2", "grpc") for p in svc["ports"]):
                continue
            svc["retries"] = {"attempts": 2, "retryOn": list(ISTIO_DEFAULT_RETRY_ON)}
            self.f.approximated(obj, (), "no VirtualService: Istio retries twice by default; imported as attempts 2 on "
                                f"{','.join(ISTIO_DEFAULT_RETRY_ON)} (retriable-status-codes has no intent equivalent)")

    def _rate_limits(self) -> None:
        """The local rate limit EnvoyFilter meshgen writes (platform._rate_limit), read back.

        Envoy's local_ratelimit token bucket is per pod (https://www.envoyproxy.io/docs/envoy/latest/
        configuration/http/http_filters/local_rate_limit_filter); the intent's rate is for the
        whole service, so it is the bucket times the replicas (from a Deployment, else 1).
        """
        for obj in self.by_kind.get("EnvoyFilter", []):
            patches = obj.spec.get("configPatches") or []
            value = (((patches[0].get("patch") or {}).get("value") or {}) if len(patches) == 1 else {})
            config = ((value.get("typed_config") or {}).get("value") or {})
            bucket = config.get("token_bucket") or {}
            labels = {str(k): str(v) for k, v in ((obj.spec.get("workloadSelector") or {}).get("labels") or {}).items()}
            key = next((k for k, sel in self.selectors.items() if k[0] == self.ns(obj) and sel == labels), None)
            if (
                value.get("name") != "envoy.filters.http.local_ratelimit"
                or ((patches[0].get("match") or {}).get("context")) != "SIDECAR_INBOUND"
                or bucket.get("fill_interval") != "1s"
                or key is None
                or set(obj.spec) != {"workloadSelector", "configPatches"}
            ):
                continue  # any other EnvoyFilter is reported as not understood
            self.handled.add(id(obj))
            svc = self.services[key]
            replicas = int(svc.get("replicas", 1))
            tokens, burst = int(bucket.get("tokens_per_fill", 1)), int(bucket.get("max_tokens", 1))
            svc["rateLimit"] = {"requestsPerSecond": tokens * replicas}
            if burst != tokens:
                svc["rateLimit"]["burst"] = burst * replicas
            self.source(key, obj)
            self.f.approximated(obj, ("spec", "configPatches", 0, "patch", "value", "typed_config", "value", "token_bucket"),
                                f"a per-pod bucket of {tokens}/s on {replicas} pod(s) becomes rateLimit {tokens * replicas}/s for the service")

    def _leftovers(self, objects: list[SourceObject]) -> None:
        self._rate_limits()
        self._default_retries()
        self._unweighted_versions()
        self._drop_markers()
        self._report_leftovers(objects)

def retry_on(text: Any, dropped: Callable[[str], None]) -> list[str | int]:
    """Istio's comma-separated ``HTTPRetry.retryOn`` -> the intent's ``retryOn`` (status codes as
    ints, Envoy's condition names as they are); each token the intent lacks is passed to
    ``dropped``. Nothing left: ``[5xx, reset, connect-failure]``, the intent's own default."""
    conditions: list[str | int] = []
    for token in str(text or "").split(","):
        token = token.strip()
        if token.isdigit():
            conditions.append(int(token))
        elif token in RETRY_CONDITIONS:
            conditions.append(token)
        elif token:
            dropped(token)
    return conditions or ["5xx", "reset", "connect-failure"]


def _destinations(route: list) -> list[tuple[str | None, int]]:
    out = []
    for dest in route:
        subset = (dest.get("destination") or {}).get("subset")
        out.append((str(subset) if subset else None, int(dest.get("weight", 100 if len(route) == 1 else 0))))
    return out


def _percent(body: dict) -> int | float:
    if "percentage" in body:
        return number((body.get("percentage") or {}).get("value", 100))
    return number(body.get("percent", 100))


def _note(policies: list[SourceObject], key: tuple[str, str], message: str):
    from meshgen.importing.findings import ImportFinding

    obj = policies[0]
    return ImportFinding(obj.file, obj.line, obj.ref, "", APPROXIMATED, f"{key[0]}/{key[1]}: {message}")


IMPORTER = IstioImporter()
