"""The routing objects Argo Rollouts rewrites at runtime, shaped as it expects to find them.

One function per :data:`~meshgen.delivery.support.ARGO_ROUTINGS` kind. Each takes the platform's
planned objects for the service, returns them adjusted (the originals go to ``owned``, the
adjusted copies to ``objects``) and the ``Rollout.spec.strategy.canary`` fields that point at them:

* Istio subset-level splitting (:data:`ARGO_ISTIO_SUBSETS`): every HTTP route of the service's
  VirtualService sends to the DestinationRule subsets ``stable`` (weight 100) and ``canary``
  (weight 0), and the DestinationRule has both subsets with the service's pod labels; Argo
  rewrites the weights and adds ``rollouts-pod-template-hash`` to the subsets' labels
  (https://argo-rollouts.readthedocs.io/en/stable/features/traffic-management/istio/#subset-level-traffic-splitting;
  ``rollout/trafficrouting/istio/istio.go`` ValidateHTTPRoutes needs every named route to hold
  both subsets, and ``routes`` to name them when there is more than one).
* The Gateway API plugin (:data:`ARGO_GATEWAY_API_PLUGIN`): Services ``<svc>-stable`` and
  ``<svc>-canary`` beside the service's own, and every rule of the service's GAMMA HTTPRoutes
  (parentRef the Service) sends to them (weights 100 and 0); the plugin sets the weights of
  backendRefs named after ``canaryService``/``stableService`` in every rule, Argo adds
  ``rollouts-pod-template-hash`` to the two Services' selectors
  (rollouts-plugin-trafficrouter-gatewayapi ``pkg/plugin/httproute.go`` setHTTPRouteWeight,
  ``examples/linkerd``).
* The Consul plugin (:data:`ARGO_CONSUL_PLUGIN`): a ServiceResolver with subsets ``stable`` and
  ``canary`` and a ServiceSplitter with exactly those two splits (100 and 0); the plugin rewrites
  the weights and the subsets' filters (hashicorp/rollouts-plugin-trafficrouter-consul README,
  ``pkg/plugin/plugin.go`` SetWeight: "Expected 2" splits).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshgen.capabilities import Feature, Finding, Support
from meshgen.delivery.support import ARGO_CONSUL_PLUGIN, ARGO_GATEWAY_API_PLUGIN, ARGO_ISTIO_SUBSETS
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.gateway_api import GATEWAY_API, labels_for, service_object

if TYPE_CHECKING:
    from meshgen.intent.model import MeshIntent, Service
    from meshgen.platforms.base import Plan

STABLE = "stable"
CANARY = "canary"
_ISTIO_NETWORKING = "networking.istio.io/v1"
_CONSUL = "consul.hashicorp.com/v1alpha1"


@dataclass(frozen=True)
class Routing:
    """What one traffic-routing kind needs for one service.

    Attributes:
        strategy: fields of ``Rollout.spec.strategy.canary`` (or ``.blueGreen``) pointing at the objects.
        objects: objects to add (adjusted copies of planned ones, or new ones).
        owned: ``(kind, namespace, name)`` of the planned originals the copies replace.
        findings: what this routing approximates.
        owner_note: what Argo rewrites at runtime, for the ownership finding ("" = nothing).
        istio: ``trafficRouting.istio`` of the canary strategy (virtualService, destinationRule), or None.
    """

    strategy: dict[str, Any]
    objects: tuple[PlannedObject, ...] = ()
    owned: frozenset[tuple[str, str | None, str]] = frozenset()
    findings: tuple[Finding, ...] = ()
    owner_note: str = ""
    istio: dict[str, Any] | None = None


def canary(kind: str | None, intent: MeshIntent, svc: Service, planned: Plan) -> Routing:
    """The canary routing of ``svc`` for traffic-routing ``kind`` (None: Argo scales ReplicaSets only).

    Raises:
        AssertionError: ``kind`` is not one of :data:`~meshgen.delivery.support.ARGO_ROUTINGS`.
    """
    if kind is None:
        return Routing({})
    if kind == ARGO_ISTIO_SUBSETS:
        return _istio_subsets(intent, svc, planned)
    if kind == ARGO_GATEWAY_API_PLUGIN:
        return _gateway_api(intent, svc, planned)
    if kind == ARGO_CONSUL_PLUGIN:
        return _consul(intent, svc, planned)
    raise AssertionError(f"unknown Argo Rollouts traffic routing {kind!r}")


def _planned(planned: Plan, kind: str, svc: Service) -> PlannedObject | None:
    return next((o for o in planned.objects if (o.kind, o.namespace, o.name) == (kind, svc.namespace, svc.name)), None)


def _key(obj: PlannedObject) -> tuple[str, str | None, str]:
    return (obj.kind, obj.namespace, obj.name)


# --- Istio: VirtualService routes to DestinationRule subsets ---------------------------------


def _istio_subsets(intent: MeshIntent, svc: Service, planned: Plan) -> Routing:
    host = f"{svc.name}.{svc.namespace}.svc.cluster.local"
    pair = [
        {"destination": {"host": host, "subset": STABLE}, "weight": 100},
        {"destination": {"host": host, "subset": CANARY}, "weight": 0},
    ]
    objects: list[PlannedObject] = []
    owned: set = set()

    vs = _planned(planned, "VirtualService", svc)
    if vs is None:
        routes = ["primary"]
        vs = PlannedObject(
            "istio/virtual-service.yaml.j2", _ISTIO_NETWORKING, "VirtualService", svc.name, svc.namespace,
            {"labels": labels_for(intent), "host": host, "http": [{"name": "primary", "route": pair}], "tcp": []},
        )
    else:
        owned.add(_key(vs))
        http = copy.deepcopy(list(vs.values.get("http") or []))
        routes = []
        for rule in http:
            destinations = rule.get("route") or []
            if any(d["destination"]["host"] == host and "subset" not in d["destination"] for d in destinations):
                rule["route"] = [d for d in destinations if d["destination"]["host"] != host] + copy.deepcopy(pair)
                routes.append(rule["name"])
        if not routes:  # no HTTP route to the service (a TCP-only VirtualService): give it one
            http.append({"name": "primary", "route": pair})
            routes.append("primary")
        vs = dataclasses.replace(vs, values={**vs.values, "http": http})
    objects.append(vs)

    subsets = [
        {"name": STABLE, "labels": dict(sorted(svc.pod_selector.items()))},
        {"name": CANARY, "labels": dict(sorted(svc.pod_selector.items()))},
    ]
    dr = _planned(planned, "DestinationRule", svc)
    if dr is None:
        dr = PlannedObject(
            "istio/destination-rule.yaml.j2", _ISTIO_NETWORKING, "DestinationRule", svc.name, svc.namespace,
            {"labels": labels_for(intent), "host": host, "traffic_policy": {}, "subsets": subsets},
        )
    else:
        owned.add(_key(dr))
        kept = [s for s in (dr.values.get("subsets") or []) if s["name"] not in (STABLE, CANARY)]
        dr = dataclasses.replace(dr, values={**dr.values, "subsets": kept + subsets})
    objects.append(dr)

    # The template writes these under trafficRouting.istio (the field is Argo's).
    istio = {
        "virtualService": {"name": vs.name, "routes": routes},
        "destinationRule": {"name": dr.name, "canarySubsetName": CANARY, "stableSubsetName": STABLE},
    }
    note = (
        f"at runtime Argo Rollouts owns the weights of VirtualService {vs.namespace}/{vs.name} (routes "
        f"{', '.join(routes)}) and the rollouts-pod-template-hash label of DestinationRule {dr.namespace}/{dr.name} "
        f"subsets {STABLE} and {CANARY}; meshgen keeps emitting both with weights 100/0: re-applying them during a "
        "rollout resets the weights until Argo's next reconcile"
    )
    unsplit = _unsplit(_routes_to(planned, svc), svc, "Argo's Istio routing (VirtualService subsets)")
    return Routing({}, tuple(objects), frozenset(owned), (unsplit,) if unsplit else (), note, istio)


# --- Gateway API plugin: HTTPRoute backendRefs to stable and canary Services --------------------


def split_services(intent: MeshIntent, svc: Service, planned: Plan, roles: tuple[str, ...]) -> list[PlannedObject]:
    """Copies of the service's Service named ``<svc>-<role>``, for Argo to point at a ReplicaSet each.

    Same selector and ports; only meshgen's own labels plus ``meshgen.dev/rollout-of``: a label that
    binds the service to a proxy (an ambient waypoint) stays on the service alone, so a caller of a
    copy meets the pod's own policy rather than a waypoint holding no rule for the copy (fail closed).
    """
    base = _planned(planned, "Service", svc) or service_object(intent, svc)
    out = []
    for role in roles:
        values = {**base.values, "labels": {**labels_for(intent), "meshgen.dev/rollout-of": svc.name}}
        out.append(dataclasses.replace(base, name=free_service_name(planned, svc, role), values=values))
    return out


def free_service_name(planned: Plan, svc: Service, role: str) -> str:
    """``<svc>-<role>``, or ``<svc>-<role>-rollout`` when the plan already has a Service of that name
    (another intent service called ``podinfo-stable``): the two must never be planned twice."""
    name = object_name(svc.name, role)
    taken = {o.name for o in planned.objects if o.kind == "Service" and o.namespace == svc.namespace}
    return object_name(name, "rollout") if name in taken else name


def _backend_is(ref: dict[str, Any], svc: Service, route_namespace: str | None) -> bool:
    return (
        ref.get("name") == svc.name
        and ref.get("kind", "Service") == "Service"
        and ref.get("group", "") == ""
        and ref.get("namespace", route_namespace) == svc.namespace
    )


_ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


def _is_gamma(route: PlannedObject, svc: Service) -> bool:
    return any(p.get("kind") == "Service" and p.get("name") == svc.name for p in (route.values.get("parents") or []))


def _routes_to(planned: Plan, svc: Service) -> list[PlannedObject]:
    """Every planned Gateway API route with a backendRef to ``svc`` (GAMMA or north-south)."""
    return [
        o for o in planned.objects
        if o.kind in _ROUTE_KINDS and o.api_version.startswith("gateway.networking.k8s.io/")
        and any(_backend_is(r, svc, o.namespace) for rule in (o.values.get("rules") or []) for r in (rule.get("backendRefs") or []))
    ]


def _unsplit(routes: list[PlannedObject], svc: Service, who: str) -> Finding | None:
    """The approximation where routes to ``svc`` stay outside what Argo rewrites (None: no such route)."""
    if not routes:
        return None
    names = ", ".join(f"{o.kind} {o.namespace}/{o.name}" for o in routes)
    return Finding(
        f"{svc.namespace}/{svc.name}",
        Feature.ROLLOUT_ARGO,
        Support.APPROXIMATED,
        f"{names} also send(s) to {svc.name}; {who} does not rewrite them: their traffic follows the step weights only "
        "where the mesh applies the service's own route on that path (a meshed caller's proxy, a waypoint the gateway "
        "is sent through), otherwise it reaches stable and canary pods in proportion to their pod counts",
    )


def _gateway_api(intent: MeshIntent, svc: Service, planned: Plan) -> Routing:
    stable, canary_svc = split_services(intent, svc, planned, (STABLE, CANARY))
    objects: list[PlannedObject] = [stable, canary_svc]
    owned: set = set()
    names: dict[str, list[str]] = {"HTTPRoute": [], "GRPCRoute": []}
    # Only the service's own (GAMMA) routes: a gateway's route keeps its backendRef to the Service,
    # whose callers then go through the mesh's route where the mesh puts one on that path.
    routes = _routes_to(planned, svc)
    gamma = [o for o in routes if o.namespace == svc.namespace and _is_gamma(o, svc)]
    elsewhere = [o for o in routes if o not in gamma]
    for obj in gamma:
        rules = copy.deepcopy(list(obj.values.get("rules") or []))
        for rule in rules:
            refs = rule.get("backendRefs") or []
            mine = [r for r in refs if _backend_is(r, svc, obj.namespace)]
            if not mine:
                continue
            port = mine[0].get("port")
            rule["backendRefs"] = [r for r in refs if not _backend_is(r, svc, obj.namespace)] + [
                {"name": stable.name, "port": port, "weight": 100},
                {"name": canary_svc.name, "port": port, "weight": 0},
            ]
        owned.add(_key(obj))
        objects.append(dataclasses.replace(obj, values={**obj.values, "rules": rules}))
        names[obj.kind].append(obj.name)
    # Every L7 port needs a route Argo weighs: a parentRef without a port covers them all.
    covered: set[int | None] = {
        p.get("port") for o in gamma for p in (o.values.get("parents") or []) if p.get("kind") == "Service" and p.get("name") == svc.name
    }
    if None not in covered:
        l7 = [p for p in svc.ports if p.is_l7]
        for port in (p for p in l7 if p.port not in covered):
            name = svc.name if len(l7) == 1 else object_name(svc.name, port.name)
            if any(o.kind == "HTTPRoute" and (o.namespace, o.name) == (svc.namespace, name) for o in planned.objects):
                name = object_name(name, "mesh")
            route = PlannedObject(
                "gateway-api/http-route.yaml.j2", GATEWAY_API, "HTTPRoute", name, svc.namespace,
                {
                    "labels": labels_for(intent),
                    "parents": [{"group": "", "kind": "Service", "name": svc.name, "port": port.port}],
                    "hostnames": [],
                    "rules": [
                        {
                            "backendRefs": [
                                {"name": stable.name, "port": port.port, "weight": 100},
                                {"name": canary_svc.name, "port": port.port, "weight": 0},
                            ]
                        }
                    ],
                },
            )
            objects.append(route)
            names["HTTPRoute"].append(name)
    config: dict[str, Any] = {"namespace": svc.namespace}
    if len(names["HTTPRoute"]) == 1 and not names["GRPCRoute"]:
        config["httpRoute"] = names["HTTPRoute"][0]
    else:
        if names["HTTPRoute"]:
            config["httpRoutes"] = [{"name": n} for n in sorted(names["HTTPRoute"])]
        if names["GRPCRoute"]:
            config["grpcRoutes"] = [{"name": n} for n in sorted(names["GRPCRoute"])]
    strategy = {
        "canaryService": canary_svc.name,
        "stableService": stable.name,
        "trafficRouting": {"plugins": {ARGO_GATEWAY_API_PLUGIN: config}},
    }
    routes = sorted(names["HTTPRoute"] + names["GRPCRoute"])
    note = (
        f"at runtime Argo Rollouts' Gateway API plugin ({ARGO_GATEWAY_API_PLUGIN}) owns the backendRef weights of "
        f"route(s) {', '.join(f'{svc.namespace}/{r}' for r in routes)}, and Argo the selectors of Services "
        f"{stable.name} and {canary_svc.name} (it adds rollouts-pod-template-hash); meshgen keeps emitting them with "
        "weights 100/0: re-applying them during a rollout resets the weights until Argo's next reconcile. The plugin "
        "must be installed in the controller (trafficRouterPlugins in the argo-rollouts-config ConfigMap)"
    )
    unsplit = _unsplit(elsewhere, svc, "the plugin (it is given the service's own routes)")
    return Routing(strategy, tuple(objects), frozenset(owned), (unsplit,) if unsplit else (), note)


# --- Consul plugin: ServiceSplitter over ServiceResolver subsets ---------------------------------


def _consul(intent: MeshIntent, svc: Service, planned: Plan) -> Routing:
    subject = f"{svc.namespace}/{svc.name}"
    owned: set = set()
    subsets = {STABLE: {"filter": ""}, CANARY: {"filter": ""}}
    resolver = _planned(planned, "ServiceResolver", svc)
    if resolver is None:
        resolver = PlannedObject(
            "consul/service-resolver.yaml.j2", _CONSUL, "ServiceResolver", svc.name, svc.namespace,
            {"labels": labels_for(intent), "subsets": subsets},
        )
    else:
        owned.add(_key(resolver))
        resolver = dataclasses.replace(resolver, values={**resolver.values, "subsets": {**(resolver.values.get("subsets") or {}), **subsets}})
    splits = [{"weight": 100.0, "serviceSubset": STABLE}, {"weight": 0.0, "serviceSubset": CANARY}]
    splitter = _planned(planned, "ServiceSplitter", svc)
    if splitter is None:
        splitter = PlannedObject(
            "consul/service-splitter.yaml.j2", _CONSUL, "ServiceSplitter", svc.name, svc.namespace,
            {"labels": labels_for(intent), "splits": splits},
        )
    else:
        owned.add(_key(splitter))
        splitter = dataclasses.replace(splitter, values={**splitter.values, "splits": splits})
    strategy = {
        "trafficRouting": {
            "plugins": {ARGO_CONSUL_PLUGIN: {"serviceName": svc.name, "stableSubsetName": STABLE, "canarySubsetName": CANARY}}
        }
    }
    approximated = Finding(
        subject,
        Feature.ROLLOUT_ARGO,
        Support.APPROXIMATED,
        "the Consul plugin tells versions apart by the pod template's consul.hashicorp.com/service-meta-version "
        "annotation (set it on the Deployment and change it with every version); meshgen starts both subsets' filters "
        "empty, so until the first promotion the stable subset also matches canary instances",
    )
    note = (
        f"at runtime Argo Rollouts' Consul plugin ({ARGO_CONSUL_PLUGIN}) owns the split weights of ServiceSplitter "
        f"{svc.namespace}/{svc.name} and the subset filters of ServiceResolver {svc.namespace}/{svc.name}; meshgen keeps "
        "emitting both: re-applying them during a rollout resets them until Argo's next reconcile. The plugin must be "
        "installed in the controller"
    )
    return Routing(strategy, (resolver, splitter), frozenset(owned), (approximated,), note)

