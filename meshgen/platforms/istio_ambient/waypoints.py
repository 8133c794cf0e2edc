"""Which services need a waypoint, and the waypoints themselves.

ztunnel only sees connections: routing, weights, header matches, retries, timeouts, mirroring,
circuit breaking and any authorization on methods, paths, gRPC methods or JWTs
need an L7 proxy, the waypoint (https://istio.io/latest/docs/ambient/usage/waypoint/, "Do you
need a waypoint proxy?"). meshgen gives a namespace one shared waypoint, named ``waypoint`` as
``istioctl waypoint apply`` names it, and binds only the Services whose intent needs L7, with the
Service label ``istio.io/use-waypoint`` (a namespace label would also pull in every other
Service of the namespace, meshgen's per-version Services included, and their traffic would pass
an L7 proxy with no policy of theirs).

A waypoint is a Gateway API ``Gateway`` of class ``istio-waypoint`` with the single listener
``{name: mesh, port: 15008, protocol: HBONE}`` and the label ``istio.io/waypoint-for: service``
(istioctl's ``waypoint generate --for service``; source: istio/istio
``istioctl/pkg/waypoint/waypoint.go``). istiod deploys it as a Deployment and ServiceAccount named
like the Gateway (the ``istio-waypoint`` class disables the ``-<class>`` name suffix; istio/istio
``pilot/pkg/config/kube/gatewaycommon/classinfo.go``), so its SPIFFE identity is
``<trust domain>/ns/<namespace>/sa/<gateway name>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.index import memo
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.high_availability import anti_affinity

WAYPOINT_CLASS = "istio-waypoint"
#: The HBONE listener every Istio waypoint has (platform-matrix.md 14.2).
LISTENER = {"name": "mesh", "port": 15008, "protocol": "HBONE"}
#: Label binding a Service (or Namespace) to a waypoint (https://istio.io/latest/docs/reference/config/labels/).
USE_WAYPOINT = "istio.io/use-waypoint"
#: Label making ingress gateways send to the Service's waypoint instead of straight to its pods.
INGRESS_USE_WAYPOINT = "istio.io/ingress-use-waypoint"
#: Label on the waypoint Gateway saying which traffic it handles.
WAYPOINT_FOR = "istio.io/waypoint-for"
DATAPLANE_MODE = "istio.io/dataplane-mode"


@dataclass(frozen=True)
class Waypoint:
    """One waypoint Gateway.

    Attributes:
        name: the Gateway's name, also its Deployment's and ServiceAccount's.
        namespace: the namespace of the Services it serves.
    """

    name: str
    namespace: str

    def principal(self, trust_domain: str) -> str:
        """The waypoint's SPIFFE principal as AuthorizationPolicy writes it: ``cluster.local/ns/shop/sa/waypoint``."""
        return f"{trust_domain}/ns/{self.namespace}/sa/{self.name}"


def l7_needs(svc: Service) -> list[str]:
    """Why ``svc`` needs a waypoint, in words (empty: ztunnel alone expresses its intent).

    Only the service's own intent counts: who calls it (``allowFrom``/``denyFrom`` with methods,
    paths or gRPC methods), how its requests are routed (versions, routes, timeouts, retries),
    its backend policy (circuit breaking, retry budget) and its JWT rule. A rate limit does not
    count: ambient has no way to express it (:mod:`.traffic`).
    """
    out: list[str] = []
    l7 = any(p.is_l7 for p in svc.ports)
    if l7 and len(svc.versions) > 1:
        out.append("canary weights")
    if l7 and svc.routes:
        out.append("routes")
    if l7 and (svc.timeout is not None or any(r.timeout is not None for r in svc.routes)):
        out.append("timeout")
    retrying = [r for r in (svc.retries, *(route.retries for route in svc.routes)) if r is not None and r.attempts > 0]
    if l7 and retrying:
        out.append("retries")
        if svc.retry_budget is not None:
            out.append("retry budget")
    if svc.circuit_breaker is not None:
        out.append("circuit breaking")
    if any(p.methods or p.paths or p.grpc for p in (*svc.allow_from, *svc.deny_from)):
        out.append("L7 authorization")
    if svc.request_authentication is not None:
        out.append("JWT authentication")
    return out


def plan_waypoints(intent: MeshIntent) -> dict[tuple[str, str], Waypoint]:
    """The waypoint of every service that needs one, by (namespace, service name).

    One shared ``waypoint`` per namespace; if an intent gateway, Service or service account of that
    namespace is already named ``waypoint``, the waypoint is ``waypoint-mesh``.

    The plan and its alerts both ask: computed once per intent (a table kept with the intent, see
    :func:`meshgen.intent.index.memo`, also rebuilt when ``spec.gateways`` is replaced or changes
    length); each caller gets its own copy of the mapping.
    """
    table = memo(intent, "ambient-waypoints", lambda _: {})
    gateways = intent.spec.gateways
    if table.get("gateways") is not gateways or table.get("count") != len(gateways):
        table.clear()
        table.update(gateways=gateways, count=len(gateways), waypoints=_plan_waypoints(intent))
    return dict(table["waypoints"])


def _plan_waypoints(intent: MeshIntent) -> dict[tuple[str, str], Waypoint]:
    # istiod names the waypoint's Deployment, Service and ServiceAccount like its Gateway: the name
    # must not be an intent gateway, Service or service account of that namespace (a workload
    # running as the waypoint's service account would pass the ztunnel policy that admits the waypoint).
    taken = {(g.namespace or "", g.name) for g in intent.spec.gateways}
    for s in intent.spec.services:
        taken.add((s.namespace or "", s.name))
        taken.update(
            (s.namespace or "", sa)
            for sa in {s.identity, *(v.service_account for v in s.versions if v.service_account)}
        )
        taken.update((p.namespace or "", p.service_account) for p in (*s.allow_from, *s.deny_from) if p.service_account)
    out: dict[tuple[str, str], Waypoint] = {}
    for svc in intent.spec.services:
        if not l7_needs(svc):
            continue
        ns = svc.namespace or ""
        name = "waypoint"
        while (ns, name) in taken:
            name = object_name(name, "mesh")
        out[(ns, svc.name)] = Waypoint(name, ns)
    return out


def waypoint_of(waypoints: dict[tuple[str, str], Waypoint], svc: Service) -> Waypoint | None:
    """The waypoint ``svc`` is bound to, or None (ztunnel only)."""
    return waypoints.get((svc.namespace or "", svc.name))


def gateway_objects(
    intent: MeshIntent, waypoints: dict[tuple[str, str], Waypoint], report: Report
) -> list[PlannedObject]:
    """One ``Gateway`` (class ``istio-waypoint``) per distinct waypoint, with its availability options.

    A waypoint is a Deployment istiod creates with one replica: a single point of failure for
    the L7 traffic of every Service bound to it. Under ``mesh.controlPlane.replicas`` > 1 (the
    intent's availability choice) each waypoint gets the same number of replicas (or an
    autoscaler from ``replicas`` to ``maxReplicas``), a PodDisruptionBudget allowing one replica
    down and anti-affinity across nodes and zones, through a ConfigMap named in the Gateway's
    ``spec.infrastructure.parametersRef``: istiod applies its ``deployment``,
    ``horizontalPodAutoscaler`` and ``podDisruptionBudget`` keys as strategic-merge overlays on
    the objects it generates (istio/istio ``pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go``,
    ``supportedOverlays``; the waypoint template's HPA and PDB select the waypoint's pods).
    """
    labels = gapi.labels_for(intent)
    cp = intent.spec.mesh.control_plane
    out: list[PlannedObject] = []
    seen = sorted({(w.namespace, w.name) for w in waypoints.values()})
    for ns, name in seen:
        values: dict[str, Any] = {
            "labels": {**labels, WAYPOINT_FOR: "service"},
            "class_name": WAYPOINT_CLASS,
            "listeners": [dict(LISTENER)],
            "parameters": None,
        }
        if cp.replicas > 1:
            options = object_name(name, "options")
            values["parameters"] = {"group": "", "kind": "ConfigMap", "name": options}
            out.append(
                PlannedObject(
                    "istio-ambient/config-map.yaml.j2",
                    "v1",
                    "ConfigMap",
                    options,
                    ns,
                    {"labels": labels, "data": _ha_overlays(name, cp.replicas, cp.max_replicas)},
                )
            )
        out.append(PlannedObject("istio-ambient/waypoint.yaml.j2", gapi.GATEWAY_API, "Gateway", name, ns, values))
    if seen and cp.replicas == 1:
        where = ", ".join(f"{ns}/{name}" for ns, name in seen)
        report.approximated(
            Feature.CONTROL_PLANE_HA,
            "mesh",
            f"controlPlane.replicas 1: each waypoint ({where}) runs one replica, a single point of failure for the L7 "
            "traffic of the Services bound to it; set replicas: 3 for production",
        )
    return out


def _ha_overlays(name: str, replicas: int, max_replicas: int | None) -> dict[str, str]:
    """The ConfigMap data: overlays as JSON text (JSON is YAML), one key per generated object."""
    spec: dict[str, Any] = {
        "template": {"spec": {"affinity": anti_affinity({"gateway.networking.k8s.io/gateway-name": name})}}
    }
    data = {"podDisruptionBudget": {"spec": {"maxUnavailable": 1}}}
    if max_replicas is not None:
        data["horizontalPodAutoscaler"] = {"spec": {"minReplicas": replicas, "maxReplicas": max_replicas}}
    else:
        spec["replicas"] = replicas
    data["deployment"] = {"spec": spec}
    return {key: json.dumps(value, sort_keys=True) for key, value in sorted(data.items())}


def bound_service(intent: MeshIntent, svc: Service, waypoint: Waypoint | None) -> PlannedObject:
    """The service's Service, labelled to use its waypoint (for in-mesh and ingress traffic alike).

    ``istio.io/ingress-use-waypoint: "true"`` makes Istio's ingress gateways send to the waypoint
    too; without it they go straight to the pods, past the waypoint's routes and L7 policy, and
    ztunnel (which admits only the waypoint for such a service) refuses them
    (https://istio.io/latest/docs/ambient/usage/traffic-management/ and istio/istio
    ``pilot/pkg/serviceregistry/ambient/services.go``).
    """
    obj = gapi.service_object(intent, svc)
    if waypoint is None:
        return obj
    values = dict(obj.values)
    values["labels"] = {**values["labels"], USE_WAYPOINT: waypoint.name, INGRESS_USE_WAYPOINT: "true"}
    return PlannedObject(obj.template, obj.api_version, obj.kind, obj.name, obj.namespace, values)
