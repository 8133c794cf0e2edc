"""Cilium manifests -> an intent: the inverse of :mod:`meshgen.platforms.cilium.platform`.

Read: Service (ports, selector; ``<service>-<version>`` Services as versions), Deployment (service
account, replicas), GAMMA ``HTTPRoute``/``GRPCRoute`` with a Service parentRef (weights, header
routes, timeouts, mirroring), CiliumNetworkPolicy (allow-lists from ``ingress``, deny rules from
``ingressDeny``, ``mesh.defaultDeny`` from the namespace ``default-deny-ingress`` policy,
``mesh.mtls`` from ``authentication.mode``, egress hosts from ``toFQDNs`` and
``mesh.egressDefaultDeny`` from the namespace ``egress`` policy), Gateway API Gateway and routes
(gateways, class ``cilium``). Services and Deployments are read by the Istio importer's code.

How ambiguity is resolved, as the data plane would:

- Policies selecting a pod are unioned; ``ingressDeny`` wins over ``ingress``; a policy with an
  ``ingress`` or ``ingressDeny`` section denies what no rule allows unless
  ``enableDefaultDeny.ingress`` is false
  (https://docs.cilium.io/en/stable/security/policy/language/#deny-policies,
  https://docs.cilium.io/en/stable/security/policy/intro/#policy-enforcement-modes).
- ``fromEndpoints`` selectors without a namespace label select the policy's namespace
  (https://docs.cilium.io/en/stable/security/policy/kubernetes/#namespaces). A selector of
  ``k8s:io.kubernetes.pod.namespace`` + ``io.cilium.k8s.policy.serviceaccount`` is a service's
  identity (its account); other labels are a service's versions when they are exactly a
  version's pod labels, else a label ``selector`` caller; a namespace label alone is a namespace.
- ``fromEntities: [ingress]`` is Cilium's Gateway API Envoy: every Cilium gateway that routes to
  the service (the identity is shared by every Gateway and Ingress of the cluster).
- ``rules.http[]`` ``method`` and ``path`` are whole-value regular expressions (Envoy
  ``safe_regex``, https://docs.cilium.io/en/stable/security/policy/language/#layer-7-examples):
  the anchored forms the planner writes map back to intent globs exactly; a plain literal path
  (``/v1/request-landing``) becomes the exact intent path, which also admits a query string
  (reported approximated); any other expression cannot be said.
- GAMMA rules follow Gateway API precedence; the rule without matches is the service default
  (weights, timeout). Cilium does not retry (``HTTPRoute.rules[].retry`` is experimental), so no
  retries are imported; ``timeouts.backendRequest`` bounds the only try and comes back as the
  per-try timeout of ``retries: {attempts: 1}`` so that render writes it again (reported).

What cannot be expressed fails closed: an ``ingress`` rule (or one of its selectors, ports or
HTTP rules) the intent cannot say is dropped (it admits fewer); an ``ingressDeny`` rule whose
ports cannot be said denies the whole caller; an ``ingressDeny`` whose caller cannot be said
removes every allow of the service (nothing admitted). Sources: the ``cilium.io/v2``
CiliumNetworkPolicy CRD of Cilium 1.19, https://gateway-api.sigs.k8s.io/mesh/ (GAMMA).
"""

from __future__ import annotations

import re
from typing import Any

from meshgen.importing.delivery import read_rollouts
from meshgen.importing.common import APP_PROTOCOLS, EGRESS_HOST, check_keys, plain
from meshgen.importing.gateway_api import ROUTE_KINDS, http_match
from meshgen.importing.identities import IdentityRun
from meshgen.importing.model import Imported
from meshgen.importing.reader import SourceObject
from meshgen.platforms.cilium import operations_import
from meshgen.platforms.cilium.platform import GATEWAY_ENTITY, NS_LABEL, SA_LABEL

CILIUM_GROUPS = frozenset({"cilium.io"})
GATEWAY_API = "gateway.networking.k8s.io"
VERSION_OF = "meshgen.dev/version-of"
_NS = NS_LABEL.split(":", 1)[1]
#: Literal text of the planner's regexes (platform.literal): any character but the specials, or one escaped.
_LIT = r"(?:[^.\[\]{}()*+?^$|\\]|\\.)*"
_QUERY = r"(\?.*)?"
_GRPC = re.compile(r"\^/([A-Za-z_][A-Za-z0-9_]*(?:\\\.[A-Za-z_][A-Za-z0-9_]*)*)/(?:([A-Za-z_][A-Za-z0-9_]*)|\[\^/\]\+)\$")
_METHOD = re.compile(r"\^?([A-Z]+)\$?")


def _label(key: str) -> str:
    """``k8s:app`` -> ``app``: Cilium's source prefixes do not change which pods a label selects."""
    return key.split(":", 1)[1] if key.startswith(("k8s:", "any:")) else key


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def path_glob(regex: str) -> tuple[str, bool] | None:
    """A ``rules.http[].path`` regular expression -> ``(intent path pattern, widened)``, or None.

    The inverse of :func:`meshgen.platforms.cilium.platform.path_regex`; ``widened`` is True for a
    plain literal, which Envoy matches without a query string while the intent's exact path
    admits any query.
    """
    if regex == "^.*$":
        return "*", False
    for pattern, make in (
        (rf"\^({_LIT})\.\*\$", lambda t: t + "*"),
        (rf"\^\[\^\?\]\*({_LIT}){re.escape(_QUERY)}\$", lambda t: "*" + t),
        (rf"\^({_LIT}){re.escape(_QUERY)}\$", lambda t: t),
    ):
        found = re.fullmatch(pattern, regex)
        if found and _unescape(found.group(1)).startswith("/" if not make("").startswith("*") else ""):
            return make(_unescape(found.group(1))), False
    if re.fullmatch(r"\^?/[A-Za-z0-9_\-/.~]*\$?", regex) and not re.search(r"\.(?=[*+?])", regex):
        # No regex operators but the unescaped dot, which matches itself among others: a literal path.
        return regex.strip("^$"), True
    return None


def grpc_glob(regex: str) -> tuple[str, str | None] | None:
    """``^/pkg\\.Svc/Method$`` -> ``("pkg.Svc", "Method")``; ``^/pkg\\.Svc/[^/]+$`` -> ``("pkg.Svc", None)``."""
    found = _GRPC.fullmatch(regex)
    if not found:
        return None
    return _unescape(found.group(1)), found.group(2)


class CiliumImporter:
    """Reads Cilium 1.19 manifests (cilium.io/v2 policies, GAMMA and Gateway API v1)."""

    groups = CILIUM_GROUPS
    gateway_class = "cilium"

    def run(self, objects: list[SourceObject]) -> Imported:
        """Objects -> intent data and findings (see the module docstring for the rules). Pure."""
        return _Run(self, objects).result


class _Run(IdentityRun):
    platform = "cilium"
    # Inherited from the Istio importer unchanged (a refactor, not a fix); whether Cilium's
    # gateway pods run as <gateway>-istio is not checked here.
    gateway_account_class = "istio"

    def __init__(self, importer: CiliumImporter, objects: list[SourceObject]) -> None:
        super().__init__(objects)
        read_rollouts(self)  # Flagger's Canary and what meshgen left to Flagger (importing/delivery.py)
        self.importer = importer
        by_kind = self.by_kind
        self.gateways: list[dict[str, Any]] = []
        self.strict: list[bool] = []
        self._app_name(objects)
        self._namespaces()
        version_objs = self._split_version_services()
        self._services()
        self._versions(version_objs)
        self._deployments()
        self._service_accounts()
        routes = [o for k in (*ROUTE_KINDS, "GRPCRoute") for o in by_kind.get(k, []) if o.group == GATEWAY_API]
        self._gamma([r for r in routes if _is_gamma(r)])
        self.gateways = gateways = self._gateways([r for r in routes if not _is_gamma(r)], importer.gateway_class)
        egress = self._policies()
        operations_import.read_back(self)
        self._leftovers(objects)
        self._spec(gateways, egress)

    # --- Services: the service's own, and one per version -------------------------------------

    def _protocol(self, obj: SourceObject, path: tuple, port: dict, has_http_rules: bool) -> str:
        """appProtocol or the port name's prefix, else http where an L7 ``rules.http`` of a policy in
        the namespace covers the pod port (Cilium's proxy parses HTTP there), else tcp."""
        if str(port.get("protocol", "TCP")) == "UDP" or port.get("appProtocol") in APP_PROTOCOLS or str(port.get("name") or "").split("-")[0] in APP_PROTOCOLS:
            return super()._protocol(obj, path, port, False)
        target = str(port.get("targetPort", port.get("port")))
        http = any(
            str(p.get("port")) == target and (t.get("rules") or {}).get("http")
            for cnp in self.by_kind.get("CiliumNetworkPolicy", []) if self.ns(cnp) == self.ns(obj)
            for rule in cnp.spec.get("ingress") or [] for t in rule.get("toPorts") or [] for p in t.get("ports") or []
        )
        guess = "http" if http else "tcp"
        self.f.approximated(obj, path, f"no appProtocol or protocol name prefix; imported as {guess}"
                            + (" (a policy's L7 HTTP rules cover this port)" if http else ""))
        return guess

    def _split_version_services(self) -> list[tuple[SourceObject, str]]:
        """Services that are a version of another: labelled ``meshgen.dev/version-of``, or named
        ``<service>-<suffix>`` with the service's selector plus more labels (a GAMMA canary)."""
        plain_services = [o for o in self.by_kind.get("Service", []) if o.group == ""]
        selectors = {(self.ns(o), o.name): dict(o.spec.get("selector") or {}) for o in plain_services}
        out, keep = [], []
        for obj in plain_services:
            ns = self.ns(obj)
            owner = (obj.metadata.get("labels") or {}).get(VERSION_OF)
            if owner is None:
                mine = selectors[(ns, obj.name)]
                # The owner is the first Service of the namespace, by name, whose name and "-"
                # begin this one's: of the names that are such a prefix, a shorter one sorts first,
                # so the candidates are tried shortest first (one dict look-up per "-" in the name,
                # not a scan of every Service per Service).
                owner = next(
                    (name for name in (obj.name[:i] for i, ch in enumerate(obj.name) if ch == "-")
                     if (sel := selectors.get((ns, name))) and mine != sel and sel.items() <= mine.items()),
                    None,
                )
            (out.append((obj, str(owner))) if owner is not None and (ns, str(owner)) in selectors else keep.append(obj))
        self.by_kind["Service"] = keep + [o for o in self.by_kind.get("Service", []) if o.group != ""]
        return out

    def _versions(self, objs: list[tuple[SourceObject, str]]) -> None:
        for obj, owner in objs:
            self.handled.add(id(obj))
            key = (self.ns(obj), owner)
            if key not in self.services:
                self.f.lost(obj, (), f"a version Service of {owner}, which is not imported; dropped")
                continue
            base = self.selectors[key]
            labels = {str(k): str(v) for k, v in (obj.spec.get("selector") or {}).items() if base.get(k) != v}
            name = obj.name[len(owner) + 1:]
            version: dict[str, Any] = {"name": name}
            if labels != {"version": name}:
                version["labels"] = labels
            self.services[key].setdefault("versions", []).append(version)
            self.subset_sources.setdefault(key, obj)
            self.source(key, obj)

    # --- GAMMA routes --------------------------------------------------------------------

    def _gamma(self, routes: list[SourceObject]) -> None:
        done: set[tuple[str, str]] = set()
        # HTTPRoutes first: a service's HTTP port carries every route, a gRPC port only gRPC ones.
        for obj in sorted(routes, key=lambda o: o.kind != "HTTPRoute"):
            self.handled.add(id(obj))
            parents = obj.spec.get("parentRefs") or []
            key = (self.ns(obj), str(parents[0].get("name")))
            if key not in self.services:
                self.f.lost(obj, ("spec", "parentRefs"), f"parent Service {key[1]} is not a Service read here; dropped")
                continue
            self.source(key, obj)
            if key in done:
                continue  # the same rules for another port of the service
            done.add(key)
            self._gamma_rules(obj, key)

    def _backend(self, obj: SourceObject, path: tuple, key: tuple[str, str], refs: list) -> list[tuple[str | None, int]]:
        """backendRefs -> ``(version or None for the service itself, weight)``."""
        svc = self.services[key]
        names = {f"{svc['name']}-{v['name']}": v["name"] for v in svc.get("versions") or []}
        out = []
        for b, ref in enumerate(refs):
            check_keys(obj, ref, (*path, b), {"name", "port", "weight", "kind", "group", "namespace"}, self.f)
            name = str(ref.get("name"))
            if name != svc["name"] and name not in names:
                self.f.lost(obj, (*path, b), f"backend {name} is neither {svc['name']} nor one of its versions; dropped")
                continue
            out.append((names.get(name), int(ref.get("weight", 1))))
        return out

    def _gamma_rules(self, obj: SourceObject, key: tuple[str, str]) -> None:
        svc = self.services[key]
        check_keys(obj, obj.spec, ("spec",), {"parentRefs", "rules", "hostnames"}, self.f)
        rules = list(obj.spec.get("rules") or [])
        default_index = next((i for i in range(len(rules) - 1, -1, -1) if not rules[i].get("matches") and not rules[i].get("filters")), None)
        default = rules[default_index] if default_index is not None else None
        if default is not None:
            path = ("spec", "rules", default_index)
            weights = self._backend(obj, (*path, "backendRefs"), key, default.get("backendRefs") or [])
            total = sum(w for _, w in weights)
            for version in svc.get("versions") or []:
                share = sum(w for v, w in weights if v == version["name"])
                version["weight"] = round(100 * share / total) if total else 0
            if any(v is None for v, _ in weights) and svc.get("versions"):
                self.f.approximated(obj, (*path, "backendRefs"), "part of the traffic goes to every pod; the intent routes it by version weight")
            svc.update(self._timeouts(obj, path, default, None))
        routes = []
        for r, rule in enumerate(rules):
            if r == default_index:
                continue
            path = ("spec", "rules", r)
            check_keys(obj, rule, path, {"matches", "filters", "backendRefs", "timeouts"}, self.f)
            item: dict[str, Any] = {}
            targets = self._backend(obj, (*path, "backendRefs"), key, rule.get("backendRefs") or [])
            if len(targets) == 1 and targets[0][0] is not None:
                item["version"] = targets[0][0]
            elif len(targets) > 1 and [t[0] for t in targets] != [v["name"] for v in svc.get("versions") or []]:
                self.f.lost(obj, (*path, "backendRefs"), "a per-route weighted split: the route uses the service's default split")
            for f, flt in enumerate(rule.get("filters") or []):
                mirror = flt.get("requestMirror") or {}
                target = self._backend(obj, (*path, "filters", f, "requestMirror", "backendRef"), key, [mirror.get("backendRef") or {}])
                if flt.get("type") != "RequestMirror" or not target or target[0][0] is None:
                    self.f.lost(obj, (*path, "filters", f), "only mirroring to a version is expressible; filter dropped")
                    continue
                fraction = mirror.get("fraction")
                percent = mirror.get("percent", 100) if not fraction else 100 * int(fraction["numerator"]) / int(fraction.get("denominator", 100))
                item["mirror"] = {"version": target[0][0], "percent": int(percent) if float(percent).is_integer() else percent}
            timing = self._timeouts(obj, path, rule, svc)
            item.update(timing)
            for m, match in enumerate(rule.get("matches") or [None]):
                route = dict(item)
                if match and obj.kind == "GRPCRoute":
                    route["match"] = self._grpc_match(obj, (*path, "matches", m), match)
                elif match:
                    found = http_match(obj, (*path, "matches", m), match, self.f)
                    grpc = _grpc_path(found.get("path"))
                    if grpc is not None and any(p.get("protocol") == "grpc" for p in svc["ports"]):
                        found["grpc"] = grpc  # gateway_api.http_match writes a gRPC method as this path
                        del found["path"]
                    route["match"] = found
                if not route.get("match"):
                    route.pop("match", None)
                routes.append(route)
        if routes:
            svc["routes"] = routes

    def _timeouts(self, obj: SourceObject, path: tuple, rule: dict, svc: dict | None) -> dict[str, Any]:
        """``timeouts`` -> ``timeout`` and ``retries`` (``svc`` given: omit what the route inherits)."""
        timeouts = rule.get("timeouts") or {}
        check_keys(obj, timeouts, (*path, "timeouts"), {"request", "backendRequest"}, self.f)
        out: dict[str, Any] = {}
        if timeouts.get("request"):
            out["timeout"] = str(timeouts["request"])
        if timeouts.get("backendRequest"):
            out["retries"] = {"attempts": 1, "perTryTimeout": str(timeouts["backendRequest"])}
            self.f.approximated(obj, (*path, "timeouts", "backendRequest"), "Cilium tries once, bounded by backendRequest; imported as "
                                "retries attempts 1 with this perTryTimeout (render on Cilium reports the retry lost)")
        if svc is not None and "retries" not in out and svc.get("retries"):
            out["retries"] = {"attempts": 0}  # this rule has no per-try bound: it must not inherit the service's
        if svc is not None and "timeout" not in out and svc.get("timeout"):
            self.f.approximated(obj, (*path, "timeouts"), f"no request timeout here; the intent's route inherits the service's {svc['timeout']}")
        if svc is not None:
            for k in ("timeout", "retries"):
                if k in out and out[k] == svc.get(k):
                    del out[k]
        return out

    def _grpc_match(self, obj: SourceObject, path: tuple, match: dict) -> dict[str, Any]:
        check_keys(obj, match, path, {"method", "headers"}, self.f)
        out: dict[str, Any] = {}
        method = match.get("method") or {}
        if method:
            if method.get("type", "Exact") != "Exact" or not method.get("service"):
                self.f.lost(obj, (*path, "method"), "only an exact service (and method) is expressible; dropped")
            else:
                out["grpc"] = {"service": str(method["service"]), **({"method": str(method["method"])} if method.get("method") else {})}
        if match.get("headers"):
            found = http_match(obj, path, {"headers": match["headers"]}, self.f)
            out["headers"] = found.get("headers", {})
        return out

    # --- CiliumNetworkPolicy ---------------------------------------------------------------

    def _policies(self) -> list[dict[str, Any]]:
        egress: list[dict[str, Any]] = []
        allow_nothing: set[str] = set()
        closed_services: set[tuple[str, str]] = set()
        for obj in self.take("CiliumClusterwideNetworkPolicy"):
            self.f.lost(obj, (), "clusterwide policies are not expressible; dropped"
                        + (" (the services it would close are closed: fail closed)" if _closes(obj.spec) else ""))
            if _closes(obj.spec):
                labels = _match_labels(obj.spec.get("endpointSelector"))
                closed_services.update(k for k, sel in self.selectors.items() if labels is not None and labels.items() <= sel.items())
        policies = self.take("CiliumNetworkPolicy")
        for obj in policies:
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"description", "endpointSelector", "enableDefaultDeny", "ingress", "ingressDeny", "egress"}, self.f)
            labels = _match_labels(spec.get("endpointSelector"))
            if spec.get("egress") is not None or spec.get("egressDeny") is not None:
                egress.extend(e for e in self._egress_rules(obj, labels) if e["host"] not in {x["host"] for x in egress})
            if "ingress" not in spec and "ingressDeny" not in spec:
                continue
            if labels is None:
                self.f.lost(obj, ("spec", "endpointSelector"), "matchExpressions selectors are not expressible; dropped")
                if _closes(spec):
                    closed_services.update(k for k in self.services if k[0] == self.ns(obj))
                    self.f.approximated(obj, ("spec", "endpointSelector"), "every service of the namespace is closed instead (fail closed)")
                continue
            if not labels and spec.get("ingress") in ([{}], []) and not spec.get("ingressDeny") and _closes(spec):
                allow_nothing.add(self.ns(obj))
                continue
            targets = self._selected(obj, labels)
            for key in targets:
                svc = self.services[key]
                for r, rule in enumerate(spec.get("ingressDeny") or []):
                    self._rule(obj, ("spec", "ingressDeny", r), rule, key, deny=True)
                for r, rule in enumerate(spec.get("ingress") or []):
                    self._rule(obj, ("spec", "ingress", r), rule, key, deny=False)
                if _closes(spec):
                    closed_services.add(key)
                    svc.setdefault("_policy", obj)
        self._mtls(policies)
        self._default_deny(policies, allow_nothing, closed_services)
        return egress

    def _selected(self, obj: SourceObject, labels: dict[str, str]) -> list[tuple[str, str]]:
        ns = self.ns(obj)
        labels = {k: v for k, v in labels.items() if k != _NS or v != ns}
        if SA_LABEL in labels:
            # Cilium derives this label from the pod's service account: the services running as it
            account = labels.pop(SA_LABEL)
            services = self.services
            found = [k for k in self._keys_in(services, ns, ordered=True) if services[k].get("serviceAccount", services[k]["name"]) == account
                     and labels.items() <= self.selectors[k].items()]
            if not found:
                self.f.lost(obj, ("spec", "endpointSelector"), f"no Service read here runs as service account {account}; dropped")
            return found
        selectors = self.selectors
        in_ns = self._keys_in(selectors, ns, ordered=True)  # sorted, as the scans below were
        exact = [k for k in in_ns if selectors[k] == labels]
        if exact:
            return exact
        found = [k for k in in_ns if labels.items() <= selectors[k].items()]
        if found:
            self.f.approximated(obj, ("spec", "endpointSelector"), f"selects the pods of {', '.join(k[1] for k in found)}; applied to each")
        else:
            narrower = [k for k in in_ns if selectors[k].items() <= labels.items()]
            if narrower:
                # only some pods of these services: their allow-lists cannot be narrowed to them
                self.f.lost(obj, ("spec", "endpointSelector"), f"selects only some pods of {', '.join(k[1] for k in narrower)}; applied to the whole service")
                found = narrower
            else:
                self.f.lost(obj, ("spec", "endpointSelector"), "selects no Service read here; dropped")
        return found

    def _rule(self, obj: SourceObject, path: tuple, rule: dict, key: tuple[str, str], deny: bool) -> None:
        svc = self.services[key]
        check_keys(obj, rule, path, {"fromEndpoints", "fromEntities", "toPorts", "authentication"}, self.f, "condition")
        if not deny:
            self.strict.append((rule.get("authentication") or {}).get("mode") == "required" or not rule.get("fromEndpoints"))
        extra = sorted(set(rule) - {"fromEndpoints", "fromEntities", "toPorts", "authentication"})
        if extra and deny:
            self.f.lost(obj, path, f"a deny by {', '.join(extra)} is not expressible; every allow of the service is removed (fail closed)")
            self._close(svc)
            return
        if extra:
            return  # reported by check_keys: the rule admits nobody now (fail closed)
        if not rule.get("fromEndpoints") and not rule.get("fromEntities") and rule.get("toPorts"):
            # Cilium: a rule without from* selects every source (world included) on these ports
            self.f.lost(obj, path, "a rule without fromEndpoints or fromEntities (any caller, even outside the cluster) is not expressible; "
                        + ("every allow of the service is removed (fail closed)" if deny else "dropped (fail closed)"))
            if deny:
                self._close(svc)
            return
        peers = self._peers(obj, path, rule, key, deny)
        for narrow in self._to_ports(obj, path, rule.get("toPorts"), svc, deny):
            for peer in peers:
                if not deny and svc.get("_closed"):
                    return
                entry = {**peer, **narrow}
                if entry not in svc.get("denyFrom" if deny else "allowFrom", []):
                    svc.setdefault("denyFrom" if deny else "allowFrom", []).append(entry)

    def _peers(self, obj: SourceObject, path: tuple, rule: dict, key: tuple[str, str], deny: bool) -> list[dict[str, Any]]:
        svc = self.services[key]
        failed = "every allow of the service is removed (fail closed)" if deny else "dropped (fail closed)"
        peers: list[dict[str, Any]] = []
        for e, entity in enumerate(rule.get("fromEntities") or []):
            routed = [g for g in self.gateways if any(r.get("service") == key[1] and (r.get("namespace") or g.get("namespace") or self.home) == key[0]
                                                      for r in g.get("routes") or [])]
            if entity == GATEWAY_ENTITY and routed:
                peers.extend({"gateway": g["name"]} for g in routed if {"gateway": g["name"]} not in peers)
                continue
            why = "no gateway read here routes to this service" if entity == GATEWAY_ENTITY else "reserved identities are not expressible"
            self.f.lost(obj, (*path, "fromEntities", e), f"entity {entity}: {why}; {failed}")
            if deny:
                self._close(svc)
        selectors = list(rule.get("fromEndpoints") or [])
        ids = [(lab.get(_NS, key[0]), lab[SA_LABEL]) for lab in (_match_labels(x) for x in selectors)
               if lab is not None and set(lab) == {_NS, SA_LABEL} or lab is not None and set(lab) == {SA_LABEL}]
        whole = self._versions_of(ids) if len(ids) > 1 and len(ids) == len(selectors) else None
        if whole is not None:
            # the accounts of exactly one service's versions (identity._identities): that service
            peers.append(whole)
            selectors = []
        for s, selector in enumerate(selectors):
            peer = self._endpoint(obj, (*path, "fromEndpoints", s), selector, key)
            if peer is None:
                self.f.lost(obj, (*path, "fromEndpoints", s), f"the selector is not expressible (matchExpressions); {failed}")
                if deny:
                    self._close(svc)
            elif peer not in peers:
                peers.append(peer)
        if not deny:
            # Several version selectors of one service: one caller with its versions.
            merged: list[dict[str, Any]] = []
            for peer in peers:
                same = next((m for m in merged if "versions" in peer and "versions" in m and m["service"] == peer["service"]
                             and m.get("namespace") == peer.get("namespace")), None)
                if same is not None:
                    same["versions"] = same["versions"] + peer["versions"]
                else:
                    merged.append(dict(peer))
            peers = merged
        return peers

    def _endpoint(self, obj: SourceObject, path: tuple, selector: dict, key: tuple[str, str]) -> dict[str, Any] | None:
        labels = _match_labels(selector)
        if labels is None:
            return None
        labels = {_label(k): v for k, v in labels.items()}
        ns = labels.pop(_NS, key[0])
        local = {} if ns == self.home else {"namespace": ns}
        sa = labels.pop(SA_LABEL, None)
        if sa is not None and not labels:
            return self._identity_of(ns, sa)
        if sa is not None:
            self.f.lost(obj, path, "a service account and labels together are not expressible; the labels are kept (fail closed: "
                        "nothing admits more than the account)")
            return None
        if not labels:
            return {"namespace": ns}
        for k, sel in sorted(self.selectors.items()):
            if k[0] != ns or not sel.items() <= labels.items():
                continue
            rest = {a: b for a, b in labels.items() if a not in sel}
            for version in self.services[k].get("versions") or []:
                if rest == version.get("labels", {"version": version["name"]}):
                    return {"service": k[1], **local, "versions": [version["name"]]}
        out: dict[str, Any] = {"selector": labels}
        if ns != key[0]:
            out["namespace"] = ns
        return out

    def _to_ports(self, obj: SourceObject, path: tuple, to_ports: Any, svc: dict, deny: bool) -> list[dict[str, Any]]:
        """``toPorts`` -> the narrowing parts of allowFrom/denyFrom entries (``{}`` = every port)."""
        if not to_ports:
            return [{}]
        by_port = {int(p.get("targetPort", p["port"])): p["name"] for p in svc["ports"]}
        out: list[dict[str, Any]] = []
        for t, entry in enumerate(to_ports):
            tpath = (*path, "toPorts", t)
            check_keys(obj, entry, tpath, {"ports", "rules"}, self.f)
            names = []
            for p, port in enumerate(entry.get("ports") or []):
                check_keys(obj, port, (*tpath, "ports", p), {"port", "protocol"}, self.f)
                number = int(port.get("port", 0)) if str(port.get("port", "")).isdigit() else None
                if number in by_port:
                    names.append(by_port[number])
                else:
                    self.f.lost(obj, (*tpath, "ports", p), f"port {port.get('port')} is not a port of {svc['name']}; dropped")
            if entry.get("ports") and not names and not deny:
                continue
            narrow: dict[str, Any] = {}
            if names and sorted(set(names)) != sorted(x["name"] for x in svc["ports"]):
                narrow["ports"] = sorted(set(names), key=names.index)
            rules = entry.get("rules") or {}
            other = sorted(set(rules) - {"http"})
            if other and deny:
                self.f.approximated(obj, (*tpath, "rules"), f"DENY widened: {', '.join(other)} rules dropped, so the caller is denied the ports")
            elif other:
                self.f.lost(obj, (*tpath, "rules"), f"{', '.join(other)} rules are not expressible; dropped (fail closed)")
                continue
            http = rules.get("http") or []
            if http and deny:
                self.f.approximated(obj, (*tpath, "rules", "http"), "DENY widened: HTTP rules dropped, so the caller is denied the ports")
                http = []
            out.extend({**narrow, **extra} for extra in self._http(obj, (*tpath, "rules", "http"), http))
        return out

    def _http(self, obj: SourceObject, path: tuple, http: list) -> list[dict[str, Any]]:
        """``rules.http`` -> methods/paths/grpc narrowings, one per entry unless they form the
        methods x paths product :func:`~meshgen.platforms.cilium.platform.http_rules` writes."""
        if not http:
            return [{}]
        pairs = []
        for h, rule in enumerate(http):
            check_keys(obj, rule, (*path, h), {"method", "path"}, self.f, "HTTP condition")
            if set(rule) - {"method", "path"}:
                continue  # reported: this HTTP rule admits nobody now (fail closed)
            method = None
            if rule.get("method"):
                found = _METHOD.fullmatch(str(rule["method"]))
                if found is None:
                    self.f.lost(obj, (*path, h, "method"), f"method {rule['method']} is not one HTTP method; the HTTP rule is dropped (fail closed)")
                    continue
                method = found.group(1)
            target: tuple[str, Any] | None = None
            if rule.get("path"):
                text = str(rule["path"])
                grpc = grpc_glob(text)
                glob = path_glob(text)
                if grpc is not None and method in (None, "POST"):
                    target = ("grpc", grpc)
                elif glob is not None:
                    target = ("path", glob[0])
                    if glob[1]:
                        self.f.approximated(obj, (*path, h, "path"), f"path {text} (no query string) becomes {glob[0]}, which also admits a query string")
                else:
                    self.f.lost(obj, (*path, h, "path"), f"path {text} is not expressible as an exact, prefix or suffix path; the HTTP rule is dropped (fail closed)")
                    continue
            pairs.append((method, target))
        if not pairs:
            return []
        out = []
        http_pairs = [(m, t) for m, t in pairs if t is None or t[0] == "path"]
        methods = sorted({m for m, _ in http_pairs if m}, key=[m for m, _ in http_pairs].index)
        paths = [t[1] for _, t in http_pairs if t is not None]
        paths = sorted(set(paths), key=paths.index)
        product = [(m, ("path", p)) for m in methods for p in paths] if methods and paths else (
            [(None, ("path", p)) for p in paths] if paths else [(m, None) for m in methods])
        if http_pairs and product == http_pairs:
            out.append({**({"methods": methods} if methods else {}), **({"paths": paths} if paths else {})})
        else:
            out.extend({**({"methods": [m]} if m else {}), **({"paths": [t[1]]} if t else {})} for m, t in http_pairs)
        grpc = [t[1] for _, t in pairs if t is not None and t[0] == "grpc"]
        for service in sorted({s for s, _ in grpc}, key=[s for s, _ in grpc].index):
            names = [m for s, m in grpc if s == service]
            out.append({"grpc": {"service": service, **({} if None in names else {"methods": names})}})
        return out

    # --- mesh-wide ---------------------------------------------------------------------------

    def _mtls(self, policies: list[SourceObject]) -> None:
        if self.strict and all(self.strict):
            self.mesh["mtls"] = "strict"
            return
        self.mesh["mtls"] = "permissive"
        if any(self.strict) and policies:
            self.f.approximated(policies[0], (), "some rules require mutual authentication and some do not; imported as mesh.mtls permissive")

    def _default_deny(self, policies: list[SourceObject], allow_nothing: set[str], closed: set[tuple[str, str]]) -> None:
        namespaces = {k[0] for k in self.services}
        self.mesh["defaultDeny"] = bool(allow_nothing) or bool(self.mesh.get("defaultDeny"))
        for ns in sorted(namespaces - allow_nothing) if allow_nothing else []:
            self.f.approximated(policies[0], (), f"namespace {ns} has no default-deny policy; the intent's mesh-wide defaultDeny covers it too")
        for key in sorted(closed):
            svc = self.services[key]
            self._refuse_unlisted_gateways(key, svc)
            if not svc.get("allowFrom") and not self.mesh["defaultDeny"]:
                self.mesh["defaultDeny"] = True
                obj = svc.get("_policy") or policies[0]
                self.f.approximated(obj, (), f"{key[0]}/{key[1]}: its policies admit nobody the intent can name; mesh.defaultDeny set so it "
                                    "stays closed (every service without allowFrom is closed too)")
        for svc in self.services.values():
            svc.pop("_policy", None)

    def _refuse_unlisted_gateways(self, key: tuple[str, str], svc: dict) -> None:
        """A gateway route admits its gateway (identity.rules_for adds the caller); a closed
        service whose policies do not admit the ingress identity must keep refusing it."""
        admitted = {p.get("gateway") for p in svc.get("allowFrom") or []}
        for gw in self.gateways:
            routes = [r for r in gw.get("routes") or [] if r.get("service") == key[1] and (r.get("namespace") or gw.get("namespace") or self.home) == key[0]]
            if routes and gw["name"] not in admitted and {"gateway": gw["name"]} not in svc.get("denyFrom", []):
                svc.setdefault("denyFrom", []).append({"gateway": gw["name"]})
                obj = svc.get("_policy")
                if obj is not None:
                    self.f.approximated(obj, ("spec", "ingress"), f"gateway {gw['name']} routes here but no rule admits the ingress identity; "
                                        "imported as denyFrom the gateway (a route alone would admit it)")

    def _egress_rules(self, obj: SourceObject, labels: dict[str, str] | None) -> list[dict[str, Any]]:
        spec = obj.spec
        if spec.get("egressDeny"):
            self.f.approximated(obj, ("spec", "egressDeny"), "egress deny rules are not expressible; mesh.egressDefaultDeny closes egress instead (fail closed)")
            self.mesh["egressDefaultDeny"] = True
        deny = (spec.get("enableDefaultDeny") or {}).get("egress", True)
        if labels != {}:
            self.f.lost(obj, ("spec", "egress"), "per-workload egress is not expressible; "
                        + ("mesh.egressDefaultDeny closes every workload's egress instead (fail closed)" if deny else "dropped"))
            self.mesh["egressDefaultDeny"] = self.mesh.get("egressDefaultDeny") or bool(deny)
            return []
        if deny:
            self.mesh["egressDefaultDeny"] = True
        out = []
        for r, rule in enumerate(spec.get("egress") or []):
            path = ("spec", "egress", r)
            if _is_dns_rule(rule) or (plain(rule) == {"toEntities": ["cluster", "kube-apiserver"]} and deny):
                continue  # what the planner keeps open beside the listed hosts
            if not rule.get("toFQDNs") or set(rule) - {"toFQDNs", "toPorts"}:
                self.f.lost(obj, path, "only toFQDNs rules (external hosts) are expressible; dropped" + (" (egress stays closed)" if deny else ""))
                continue
            ports = sorted({int(p["port"]) for t in rule.get("toPorts") or [] for p in t.get("ports") or [] if str(p.get("port", "")).isdigit()})
            if any((t.get("rules") for t in rule.get("toPorts") or [])):
                self.f.lost(obj, (*path, "toPorts"), "L7 rules on egress are not expressible; dropped")
            for n, name in enumerate(rule["toFQDNs"]):
                host = name.get("matchName") or name.get("matchPattern")
                if not host or not EGRESS_HOST.fullmatch(str(host)):
                    self.f.lost(obj, (*path, "toFQDNs", n), f"{host} is not a DNS name (or *.name) the intent accepts; dropped")
                    continue
                entry: dict[str, Any] = {"host": str(host)}
                if ports and ports != [443]:
                    entry["ports"] = ports
                elif not ports:
                    self.f.approximated(obj, (*path, "toFQDNs", n), "every port of the host is allowed; imported as port 443")
                out.append(entry)
        return out

    def _leftovers(self, objects: list[SourceObject]) -> None:
        self._unweighted_versions()
        self._drop_markers()
        self._report_leftovers(objects)

def _is_gamma(route: SourceObject) -> bool:
    parents = route.spec.get("parentRefs") or []
    return bool(parents) and all(p.get("kind") == "Service" for p in parents)


def _match_labels(selector: Any) -> dict[str, str] | None:
    """``{matchLabels: ...}`` -> labels (prefixes stripped); None when matchExpressions narrow it."""
    selector = selector or {}
    if selector.get("matchExpressions"):
        return None
    return {_label(str(k)): str(v) for k, v in (selector.get("matchLabels") or {}).items()}


def _closes(spec: dict) -> bool:
    """Whether the policy turns on default deny for ingress (Cilium: any ingress/ingressDeny section)."""
    has = "ingress" in spec or "ingressDeny" in spec
    return has and (spec.get("enableDefaultDeny") or {}).get("ingress", True) is not False


def _is_dns_rule(rule: dict) -> bool:
    ports = [p for t in rule.get("toPorts") or [] for p in t.get("ports") or []]
    return bool(rule.get("toEndpoints")) and bool(ports) and all(str(p.get("port")) == "53" for p in ports)


def _grpc_path(path: Any) -> dict[str, str] | None:
    """The path gateway_api.http_match writes for a gRPC match -> ``{service, method?}``."""
    if not isinstance(path, dict):
        return None
    (op, value), = path.items()
    found = re.fullmatch(r"/([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:/([A-Za-z_][A-Za-z0-9_]*))?", str(value))
    if not found or (op == "exact") != bool(found.group(2)) or op not in ("exact", "prefix"):
        return None
    return {"service": found.group(1), **({"method": found.group(2)} if found.group(2) else {})}


IMPORTER = CiliumImporter()
