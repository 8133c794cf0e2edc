"""Istio ambient waypoints in imported manifests: recognized and said, never taken for gateways.

The intent has no waypoint field: meshgen's ambient planner gives a namespace one shared waypoint
and binds the Services whose intent needs an L7 proxy (:mod:`meshgen.platforms.istio_ambient.waypoints`),
so an imported waypoint is regenerated from the imported intent, not carried over. What is read:

- a Gateway API ``Gateway`` of class ``istio-waypoint`` (its HBONE listener on 15008 and its
  ``infrastructure.parametersRef`` are the waypoint's, not an ingress gateway's): reported
  APPROXIMATED, naming the Services bound to it;
- the ``istio.io/use-waypoint`` label on a Service or a Namespace (the binding,
  https://istio.io/latest/docs/ambient/usage/waypoint/#configure-a-pod-to-use-a-specific-waypoint):
  a binding to a waypoint not among the manifests, and a namespace-wide binding, are reported
  APPROXIMATED (meshgen binds per Service, only those that need L7);
- the ConfigMap a waypoint names in ``infrastructure.parametersRef``
  (https://istio.io/latest/docs/ambient/usage/waypoint/, the Gateway's deployment options):
  one meshgen wrote is regenerated (APPROXIMATED); a hand-written one is LOST (its Deployment
  options, resources for instance, are not read).
"""

from __future__ import annotations

from typing import Any

from meshgen.importing.reader import SourceObject
from meshgen.importing.workloads import GATEWAY_API, managed
from meshgen.platforms.istio_ambient.waypoints import USE_WAYPOINT, WAYPOINT_CLASS


def read_waypoints(run: Any) -> None:
    """Take the waypoint Gateways (and their parameters ConfigMaps) out of ``run.by_kind`` before
    the gateways are imported, and report them and every ``istio.io/use-waypoint`` binding.
    Sets ``run.waypoints``: the ``(namespace, name)`` of every waypoint read."""
    gateways = run.by_kind.get("Gateway", [])
    waypoints = [o for o in gateways if o.group == GATEWAY_API and o.spec.get("gatewayClassName") == WAYPOINT_CLASS]
    run.by_kind["Gateway"] = [o for o in gateways if o not in waypoints]
    run.handled.update(id(o) for o in waypoints)
    names = {(run.ns(o), o.name) for o in waypoints}
    run.waypoints = names
    bound: dict[tuple[str, str], list[str]] = {}
    for obj in run.by_kind.get("Service", []):
        target = _binding(obj)
        if target is None:
            continue
        key = (run.ns(obj), target)
        bound.setdefault(key, []).append(obj.name)
        if key not in names and target != "none":
            run.f.approximated(obj, ("metadata", "labels", USE_WAYPOINT), f"bound to waypoint {target}, which is not among these "
                               "manifests; meshgen binds the services whose intent needs L7 to the waypoint it writes")
    for obj in run.by_kind.get("Namespace", []):
        target = _binding(obj)
        if target is not None and target != "none":
            run.f.approximated(obj, ("metadata", "labels", USE_WAYPOINT), f"every Service of namespace {obj.name} uses waypoint "
                               f"{target}; meshgen binds per Service, only those whose intent needs L7 (the others stay on ztunnel)")
            for key in names:
                if key[0] == obj.name:
                    bound.setdefault(key, []).append(f"every Service of {obj.name}")
    config_maps = {(run.ns(o), o.name): o for o in run.by_kind.get("ConfigMap", [])}
    for obj in waypoints:
        users = sorted(bound.get((run.ns(obj), obj.name), []))
        run.f.approximated(obj, (), f"waypoint for {', '.join(users) if users else 'no Service read here'}: meshgen writes one "
                           "waypoint per namespace and binds the services whose intent needs L7 (routes, weights, timeouts, "
                           "retries, circuit breaking, L7 authorization, JWT); regenerated from the imported intent")
        ref = (obj.spec.get("infrastructure") or {}).get("parametersRef") or {}
        options = config_maps.get((run.ns(obj), str(ref.get("name")))) if ref.get("kind") == "ConfigMap" else None
        if options is None:
            continue
        run.handled.add(id(options))
        if managed(options):
            run.f.approximated(options, (), f"the options of waypoint {obj.name} (replicas, spreading, disruption budget), written by "
                               "meshgen from spec.mesh; regenerated")
        else:
            run.f.lost(options, ("data",), f"the Deployment options of waypoint {obj.name} are not read; dropped "
                       "(meshgen sets the waypoint's replicas and spreading from spec.mesh)")


def _binding(obj: SourceObject) -> str | None:
    value = (obj.metadata.get("labels") or {}).get(USE_WAYPOINT)
    return str(value) if value is not None else None
