"""Istio ambient manifests -> an intent: the inverse of :mod:`meshgen.platforms.istio_ambient.platform`.

Ambient reads the same security APIs as sidecar mode, attached differently, and routes with the
Gateway API, so :class:`AmbientRun` is :class:`~meshgen.platforms.istio.importer.IstioRun` with
these hooks overridden (https://istio.io/latest/docs/ambient/usage/l7-features/,
https://istio.io/latest/docs/ambient/usage/l4-policy/):

- Routing: GAMMA ``HTTPRoute``/``GRPCRoute`` objects whose parent is a Service (the waypoint
  applies them), read by :class:`~meshgen.importing.gateway_api.MeshRouteReader`: matches,
  the per-version Services ``<svc>-<version>`` (``versions`` and weights), ``timeouts.request``
  (``timeout``) and ``RequestMirror`` filters (``mirror``). A path match ``/pkg.Service/Method``
  (exact) or ``/pkg.Service`` (prefix) on a service with a gRPC port is read as the gRPC method
  match it was written from (:func:`meshgen.platforms.istio_ambient.traffic.as_http`).
  VirtualServices are read too, as in sidecar mode.
- Retries: an HTTPRoute carries none in the standard channel, so the waypoint applies istiod's
  ``meshConfig.defaultHttpRetryPolicy`` (https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/);
  read from the istiod Helm values given with the manifests into ``defaults.retries``
  (``attempts: 0``: none). Without such values Istio's own default (2 retries) applies and the
  intent gets none: said APPROXIMATED.
- DestinationRule: its host may be a per-version Service; its traffic policy belongs to the
  service the version is of (meshgen writes the same policy for each).
- AuthorizationPolicy and RequestAuthentication with ``targetRefs`` to a Service apply to that
  Service on its waypoint (PolicyTargetReference: "the targeted resource which the policy should
  be applied to", https://istio.io/latest/docs/reference/config/type/workload-selector/); their
  ``ports`` are Service ports. An ALLOW policy attached so and without rules matches nothing, so
  it closes that Service only (any ALLOW policy on a workload denies what none allows,
  https://istio.io/latest/docs/reference/config/security/authorization-policy/); only a policy
  without selector and targetRefs applies to the whole namespace (its allow-nothing). For a
  service rolled out by a Flagger Canary read here, the ``<svc>-primary``/``<svc>-canary`` refs
  meshgen appends (:func:`meshgen.delivery.coverage.cover_primary`) are taken back off, exact
  matches only (:func:`narrow_flagger_refs`); any other ref to a Service not read here is LOST.
- The ztunnel policy meshgen writes on a service's pods to admit only its waypoint
  (``<svc>-ztunnel``: every rule's callers are a waypoint's principal) is regenerated from the
  rest of the intent, not read as callers.
- Waypoints and ``istio.io/use-waypoint`` bindings: reported and regenerated
  (:mod:`meshgen.platforms.istio.waypoint_import`); ``istio.io/ingress-use-waypoint`` is meshgen's
  and regenerated too.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from meshgen.delivery.coverage import flagger_service_refs
from meshgen.importing.common import check_keys, number, plain
from meshgen.importing.delivery import FLAGGER_GROUP
from meshgen.importing.findings import APPROXIMATED, LOST, ImportFinding, dotted
from meshgen.importing.gateway_api import GATEWAY_API, MeshRouteReader, is_version_service
from meshgen.importing.model import Imported
from meshgen.importing.reader import SourceObject
from meshgen.intent.types import Duration
from meshgen.platforms.istio.importer import ISTIO_GROUPS, IstioImporter, IstioRun, retry_on
from meshgen.platforms.istio_ambient.waypoints import USE_WAYPOINT, WAYPOINT_CLASS

#: Istio's retry policy when istiod's meshConfig has no defaultHttpRetryPolicy (HTTPRetry docs,
#: https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry).
ISTIO_DEFAULT_ATTEMPTS = 2
#: A gRPC method as the HTTP/2 path meshgen writes for it (gateway_api.http_match): ``/pkg.Svc/Method``.
GRPC_METHOD_PATH = re.compile(r"/([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)/([A-Za-z_][A-Za-z0-9_]*)")
#: Every method of a gRPC service as an AuthorizationPolicy path glob: ``/pkg.Svc/*``.
GRPC_EVERY_METHOD = re.compile(r"/([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)/\*")
#: A gRPC service as a path prefix: ``/pkg.Svc`` (Gateway API prefixes match whole segments).
GRPC_SERVICE_PATH = re.compile(r"/([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


class AmbientImporter(IstioImporter):
    """Reads Istio ambient manifests (security v1, networking v1, Gateway API v1 GAMMA routes,
    waypoints) and istiod's Helm values (``reads_values``)."""

    groups = ISTIO_GROUPS
    reads_values = True

    def run(self, objects: list[SourceObject], values: Iterable[SourceObject] = ()) -> Imported:
        """Objects (and Helm values documents) -> intent data and findings (module docstring). Pure."""
        return AmbientRun(self, objects, list(values)).result

    def recognizes(self, objects: Iterable[SourceObject]) -> bool:
        """Whether these objects are ambient mode's: a waypoint (Gateway of class ``istio-waypoint``)
        or an ``istio.io/use-waypoint`` binding. Ambient without waypoints (ztunnel only) looks
        like sidecar Istio and is guessed so; ``--from istio-ambient`` reads it."""
        for obj in objects:
            if obj.kind == "Gateway" and obj.group == GATEWAY_API and obj.spec.get("gatewayClassName") == WAYPOINT_CLASS:
                return True
            if obj.kind in ("Service", "Namespace") and USE_WAYPOINT in (obj.metadata.get("labels") or {}):
                return True
        return False


class AmbientRun(IstioRun):
    """One ambient import: :class:`IstioRun` with ambient's hooks (module docstring)."""

    platform = "istio-ambient"

    def __init__(self, importer: AmbientImporter, objects: list[SourceObject], values: list[SourceObject]) -> None:
        self.values = values
        self.waypoints: set[tuple[str, str]] = set()  # set by waypoint_import.read_waypoints
        #: intent ``defaults`` read here (istiod's retry policy), merged into the spec by :meth:`_spec`
        self.defaults: dict[str, Any] = {}
        self.gamma = MeshRouteReader(self, frozenset({"timeouts", "filters"}), self._rule_extras)
        self.mesh_routes: list[SourceObject] = []  # the GAMMA routes read, in service order
        super().__init__(importer, objects)

    # --- Services, versions, DestinationRules ---------------------------------------------

    def _skip_service(self, obj: SourceObject) -> bool:
        return is_version_service(obj)

    def _versions(self) -> None:
        self.gamma.versions()

    def _destination_service(self, obj: SourceObject) -> tuple[str, str] | None:
        key = super()._destination_service(obj)
        version = self.gamma.version_services.get(key) if key is not None else None
        return version[0] if version is not None else key

    # --- GAMMA routes ----------------------------------------------------------------------

    def _routes(self) -> None:
        """GAMMA routes (module docstring), then any VirtualService as in sidecar mode."""
        for key, primaries, own in self.gamma.by_service():
            svc = self.services[key]
            self.mesh_routes.extend(primaries + own)
            routes: list[dict[str, Any]] = []
            for obj in primaries:
                self.source(key, obj)
                parsed, weights, default = self.gamma.rules(obj, key, keep_default=True)
                if weights is not None:
                    self.gamma.weights(obj, svc, weights)
                if default.get("timeout") is not None:
                    svc["timeout"] = default["timeout"]
                for k in sorted(set(default) - {"timeout"}):
                    self.f.lost(obj, ("spec", "rules"), f"{k} on the rule without matches (every other request) is not expressible; dropped")
                if len(parsed) > len(routes):
                    routes = parsed
            for obj in own:
                self.source(key, obj)
                parsed, _, _ = self.gamma.rules(obj, key, keep_default=False)
                routes.extend(r for r in parsed if r not in routes)
            for route in routes:
                if route.get("timeout") is not None and route["timeout"] == svc.get("timeout"):
                    del route["timeout"]  # meshgen writes the service's timeout on every rule
                if any(p["protocol"] == "grpc" for p in svc["ports"]):
                    _grpc_match(route)
            if routes:
                svc["routes"] = routes
        self._virtual_services()

    def _rule_extras(self, obj: SourceObject, path: tuple, rule: dict) -> dict[str, Any]:
        """``timeouts.request`` and ``RequestMirror`` filters of one rule (HTTPRouteRule fields,
        bundled CRD httproutes.gateway.networking.k8s.io v1) -> ``timeout`` and ``mirror``."""
        out: dict[str, Any] = {}
        timeouts = rule.get("timeouts") or {}
        check_keys(obj, timeouts, (*path, "timeouts"), {"request"}, self.f)
        if timeouts.get("request"):
            out["timeout"] = str(timeouts["request"])
        for i, flt in enumerate(rule.get("filters") or []):
            fpath = (*path, "filters", i)
            body = flt.get("requestMirror") or {}
            ref = body.get("backendRef") or {}
            version = self.gamma.version_services.get((self.ns(obj), str(ref.get("name"))))
            if flt.get("type") != "RequestMirror" or version is None or "mirror" in out:
                self.f.lost(obj, fpath, "only one RequestMirror to a version of the service is expressible; filter dropped")
                continue
            check_keys(obj, body, (*fpath, "requestMirror"), {"backendRef", "percent", "fraction"}, self.f)
            if "fraction" in body:
                fraction = body["fraction"] or {}
                percent = number(float(fraction.get("numerator", 0)) * 100 / float(fraction.get("denominator", 100)))
            else:
                percent = number(body.get("percent", 100))
            out["mirror"] = {"version": version[1], "percent": percent}
        return out

    # --- authorization ---------------------------------------------------------------------

    def _ref_targets(self, obj: SourceObject) -> list[tuple[str, str]] | None:
        """``targetRefs`` naming Services read here (``group: ""`` or ``core``) -> their keys;
        None (LOST as in sidecar mode) when a ref names anything else (a Gateway, a ServiceEntry).
        The ``-primary``/``-canary`` refs meshgen adds for a service rolled out by a Canary read
        here are taken off first (:func:`narrow_flagger_refs`)."""
        out = []
        flagger = {name for (ns, name), (canary, _) in (self.rollouts.rollouts.items() if self.rollouts else ())
                   if ns == self.ns(obj) and canary.kind == "Canary" and canary.group == FLAGGER_GROUP}
        for ref in narrow_flagger_refs(plain(obj.spec.get("targetRefs") or []), flagger):
            key = (self.ns(obj), str(ref.get("name")))
            if ref.get("kind") != "Service" or ref.get("group", "") not in ("", "core") or key not in self.services:
                return None
            out.append(key)
        return out

    def _skip_policy(self, obj: SourceObject) -> bool:
        """The ``<svc>-ztunnel`` gate: a selector ALLOW policy every rule of which admits only a
        waypoint read here (principal ``<td>/ns/NS/sa/<waypoint>``), on some ports."""
        spec = obj.spec
        rules = spec.get("rules") or []
        if spec.get("targetRefs") or str(spec.get("action", "ALLOW")) != "ALLOW" or not rules or not self.waypoints:
            return False
        for rule in rules:
            sources = [(entry.get("source") or {}) for entry in rule.get("from") or []]
            if not sources or set(rule) - {"from", "to"} or any(set(s) != {"principals"} for s in sources):
                return False
            for source in sources:
                for principal in source["principals"]:
                    parts = str(principal).split("/")
                    if len(parts) != 5 or parts[1] != "ns" or parts[3] != "sa" or (parts[2], parts[4]) not in self.waypoints:
                        return False
            for op in rule.get("to") or []:
                if set(op.get("operation") or {}) - {"ports"}:
                    return False
        self.f.approximated(obj, (), "admits only the waypoint to the pods (so callers cannot skip its policy); regenerated from the "
                            "imported intent's allowFrom/denyFrom")
        return True

    def _leftovers(self, objects: list[SourceObject]) -> None:
        self._grpc_callers()
        super()._leftovers(objects)

    def _grpc_callers(self) -> None:
        """allowFrom/denyFrom ``paths`` that are gRPC methods of one service, on a service with a
        gRPC port -> the ``grpc`` entry they were written from (identity.Rule.grpc_paths:
        ``/pkg.Service/Method``, ``/pkg.Service/*`` for every method); the same paths are rendered."""
        for svc in self.services.values():
            if not any(p["protocol"] == "grpc" for p in svc["ports"]):
                continue
            for field in ("allowFrom", "denyFrom"):
                for entry in svc.get(field) or []:
                    paths = entry.get("paths") or []
                    every = [m.group(1) for p in paths if (m := GRPC_EVERY_METHOD.fullmatch(p))]
                    methods = [m for p in paths if (m := GRPC_METHOD_PATH.fullmatch(p))]
                    if "methods" in entry or not paths:
                        continue
                    if len(every) == 1 == len(paths):
                        grpc: dict[str, Any] = {"service": every[0]}
                    elif len(methods) == len(paths) and len({m.group(1) for m in methods}) == 1:
                        grpc = {"service": methods[0].group(1), "methods": [m.group(2) for m in methods]}
                    else:
                        continue
                    del entry["paths"]
                    entry["grpc"] = grpc

    # --- retries -----------------------------------------------------------------------------

    def _default_retries(self) -> None:
        """istiod's ``meshConfig.defaultHttpRetryPolicy`` -> ``defaults.retries`` (module docstring)."""
        found: tuple[SourceObject, dict] | None = None
        for doc in self.values:
            policy = (doc.body.get("meshConfig") or {}).get("defaultHttpRetryPolicy") if isinstance(doc.body.get("meshConfig"), dict) else None
            if not isinstance(policy, dict):
                continue
            if found is not None and dict(policy) != dict(found[1]):
                self._value_finding(doc, ("meshConfig", "defaultHttpRetryPolicy"), LOST,
                                    f"another istiod values document ({found[0].file}:{found[0].line}) sets a different retry policy; "
                                    "the first is kept")
                continue
            found = (doc, policy)
        if found is None:
            if self.mesh_routes:
                self.f.approximated(self.mesh_routes[0], (), "no istiod Helm values with meshConfig.defaultHttpRetryPolicy were given: Istio retries "
                                    f"{ISTIO_DEFAULT_ATTEMPTS} times on waypoint routes by default; the intent gets no retries "
                                    "(import values/istiod.yaml with the manifests to read them)")
            return
        doc, policy = found
        path = ("meshConfig", "defaultHttpRetryPolicy")
        retries = self._retry_policy(doc, path, policy)
        if retries is not None:
            self.defaults["retries"] = retries
            self._fit_per_try(doc, (*path, "perTryTimeout"), retries)

    def _fit_per_try(self, doc: SourceObject, path: tuple, retries: dict[str, Any]) -> None:
        """A service or route whose request timeout is shorter than the mesh-wide perTryTimeout:
        the timeout ends the request before a try does, so the try timeout never acts there. The
        intent refuses that combination (rules._check_timeouts), so such a service (or route)
        gets the same retries without perTryTimeout (APPROXIMATED; the waypoint's routes are unchanged)."""
        if "perTryTimeout" not in retries:
            return
        per_try = Duration.parse(retries["perTryTimeout"])
        without = {k: v for k, v in retries.items() if k != "perTryTimeout"}
        for key, svc in sorted(self.services.items()):
            where = []
            if svc.get("timeout") is not None and Duration.parse(svc["timeout"]) < per_try:
                svc["retries"] = dict(without)
                where.append(f"its timeout {svc['timeout']}")
            else:
                for i, route in enumerate(svc.get("routes") or []):
                    if route.get("timeout") is not None and Duration.parse(route["timeout"]) < per_try and "retries" not in route:
                        route["retries"] = dict(without)
                        where.append(f"route {route.get('name') or i}'s timeout {route['timeout']}")
            if where:
                self._value_finding(doc, path, APPROXIMATED, f"{key[0]}/{key[1]}: {' and '.join(where)} ends every request before the "
                                    f"{retries['perTryTimeout']} try timeout; imported with the mesh-wide retries less perTryTimeout there")

    def _retry_policy(self, doc: SourceObject, path: tuple, policy: dict) -> dict[str, Any] | None:
        """An Istio ``HTTPRetry`` (attempts, perTryTimeout, comma-separated retryOn) -> intent
        ``retries``; None for ``attempts: 0``. Unknown conditions are LOST."""
        for key in policy:
            if key not in ("attempts", "perTryTimeout", "retryOn"):
                self._value_finding(doc, (*path, key), LOST, f"field {key} has no equivalent in the intent; dropped")
        attempts = int(policy.get("attempts", ISTIO_DEFAULT_ATTEMPTS))
        if attempts == 0:
            return None
        out: dict[str, Any] = {"attempts": attempts}
        out["retryOn"] = retry_on(
            policy.get("retryOn"),
            lambda token: self._value_finding(doc, (*path, "retryOn"), LOST, f"retry condition {token} has no intent equivalent; dropped"),
        )
        if policy.get("perTryTimeout"):
            out["perTryTimeout"] = str(policy["perTryTimeout"])
        return out

    def _value_finding(self, doc: SourceObject, path: tuple, severity: str, message: str) -> None:
        self.f.items.append(ImportFinding(doc.file, doc.line_of(*path), "istiod values", dotted(path), severity, message))

    def _spec(self, gateways: list[dict[str, Any]], egress: list[dict[str, Any]] | None = None) -> None:
        super()._spec(gateways, egress)
        self.out.spec["defaults"].update(self.defaults)

    def _namespaces(self) -> None:
        """Namespaces are handled; ``istio.io/dataplane-mode`` other than ``ambient`` is APPROXIMATED
        (https://istio.io/latest/docs/ambient/usage/add-workloads/)."""
        for obj in self.take("Namespace"):
            labels = obj.metadata.get("labels") or {}
            if labels.get("istio.io/dataplane-mode", "ambient") != "ambient":
                self.f.approximated(obj, ("metadata", "labels"), "not in ambient mode here; the intent's services are always in the mesh")


def narrow_flagger_refs(refs: list[dict[str, Any]], services: Iterable[str]) -> list[dict[str, Any]]:
    """A policy's ``targetRefs`` (plain dicts, in order) less what Flagger coverage added for
    ``services`` (names of the services in the policy's namespace whose Flagger Canary was read).

    With a Flagger rollout, meshgen appends to a waypoint policy naming Service ``S`` the refs
    :func:`meshgen.delivery.coverage.flagger_service_refs` computes (``S-primary``, ``S-canary``:
    the Services Flagger generates, which callers reach). A policy applies to every resource its
    ``targetRefs`` list ("the targetRefs specifies a list of resources the policy should be
    applied to", AuthorizationPolicy.targetRefs, istio/api ``security/v1beta1/authorization_policy.proto``,
    https://istio.io/latest/docs/reference/config/security/authorization-policy/#AuthorizationPolicy-target_refs;
    the same for RequestAuthentication), so those refs apply the policy of ``S`` to Flagger's
    copies of it, and rendering ``S``'s rollout again writes them back.

    Only the exact tail meshgen writes is taken off, repeatedly (one per service, last added
    first); every other ref stays as written, and a tail that is not exactly meshgen's (a copy
    missing, reordered or differing in another key, or followed by another ref) is left whole,
    for :meth:`AmbientRun._ref_targets` to refuse (LOST, fail closed) as it refuses any ref to a
    Service not read here.

    Args:
        refs: the ``targetRefs`` entries, as read (see :func:`meshgen.importing.common.plain`).
        services: service names; empty: ``refs`` is returned unchanged (a copy).

    Returns:
        A new list; never raises.
    """
    out = list(refs)
    names = sorted(set(services))
    while True:
        for name in names:
            named = [r for r in out if isinstance(r, dict) and r.get("kind") == "Service" and r.get("name") == name]
            size = 2 * len(named)
            if size and size < len(out) and out[-size:] == flagger_service_refs(out[:-size], name):
                out = out[:-size]
                break
        else:
            return out


def _grpc_match(route: dict[str, Any]) -> None:
    """A path match meshgen wrote for a gRPC method match -> that match (same bytes rendered)."""
    match = route.get("match") or {}
    path = match.get("path") or {}
    found = None
    if set(path) == {"exact"} and (m := GRPC_METHOD_PATH.fullmatch(path["exact"])):
        found = {"service": m.group(1), "method": m.group(2)}
    elif set(path) == {"prefix"} and (m := GRPC_SERVICE_PATH.fullmatch(path["prefix"])):
        found = {"service": m.group(1)}
    if found is not None:
        rest = {k: v for k, v in match.items() if k != "path"}
        route["match"] = {"grpc": found, **rest}


IMPORTER = AmbientImporter()

__all__ = ["IMPORTER", "AmbientImporter", "AmbientRun", "narrow_flagger_refs"]
