"""Istio ambient mode (ztunnel + waypoints), as an Istio expert writes it.

Per namespace: the Namespace labelled ``istio.io/dataplane-mode: ambient`` (no sidecar
injection label: ztunnel and istio-cni carry every pod's traffic), a ``PeerAuthentication`` for
the mTLS mode and, under ``defaultDeny``, the allow-nothing ``AuthorizationPolicy`` that ztunnel
enforces. Per service: its Service, and only where its intent needs L7 (routes, weights,
timeouts, retries, mirroring, circuit breaking, L7 or JWT authorization;
:func:`~.waypoints.l7_needs`) a waypoint: one ``Gateway`` of class ``istio-waypoint`` per
namespace, which the Service joins with ``istio.io/use-waypoint``. Traffic rules are GAMMA
routes on the waypoint (:mod:`.traffic`); authorization is split between ztunnel and the
waypoint (:mod:`.authorization`). There is no ``Sidecar``, no sidecar-only ``EnvoyFilter`` and
no ``VirtualService``. Gateways are Gateway API ``Gateway`` objects of class ``istio``; egress
hosts are ``ServiceEntry`` objects.

Operations: istiod, istio-cni and ztunnel Helm values with ``profile: ambient`` (Istio's Helm
install for ambient, https://istio.io/latest/docs/ambient/install/helm/), istiod's HA and CA
values as in sidecar mode, ztunnel pointed at istio-csr when cert-manager signs
(:mod:`.certificates`), telemetry from waypoints and ztunnel (:mod:`.telemetry`) and alerts on
waypoint metrics (:mod:`.alerts`).

Sources: https://istio.io/latest/docs/ambient/ (usage/l4-policy, usage/l7-features,
usage/waypoint, migrate), CRDs of Istio 1.30 in ../shared/crds/istio, Gateway API v1.6 standard
channel in ../shared/crds/gateway-api/standard, ../shared/charts/{istiod,istio-cni,ztunnel},
../shared/design/platform-matrix.md sections 1, 2, 11.1 and 14.
"""

from __future__ import annotations

import dataclasses

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import Plan, PlannedObject, egress_object_names, object_name, sort_objects
from meshgen.platforms.enforcement import ISTIO_DRY_RUN, audited
from meshgen.platforms.helm_values import TRUST_MANAGER, Chart
from meshgen.platforms.istio.platform import permissive_under_default_deny
from meshgen.platforms.istio_ambient.alerts import plan_alerts
from meshgen.platforms.istio_ambient.authorization import SECURITY, assert_l4_only, plan_authorization, policy
from meshgen.platforms.istio_ambient.capabilities import COLUMN
from meshgen.platforms.istio_ambient.certificates import plan_certificates
from meshgen.platforms.istio_ambient.control_plane import plan_control_plane, plan_proxy_resources
from meshgen.platforms.istio_ambient.delivery import DELIVERY
from meshgen.platforms.istio_ambient.telemetry import plan_telemetry
from meshgen.platforms.istio_ambient.traffic import NETWORKING, plan_traffic
from meshgen.platforms.istio_ambient.waypoints import (
    DATAPLANE_MODE,
    bound_service,
    gateway_objects,
    plan_waypoints,
    waypoint_of,
)
from meshgen.platforms.sections import Section, compose, control_plane_namespace


class IstioAmbientPlatform:
    """Istio ambient mode (Istio 1.27+): ztunnel L4, waypoints with GAMMA routes for L7."""

    name = "istio-ambient"
    description = "Istio ambient mode: ztunnel L4 policy, waypoints with GAMMA routes and L7 AuthorizationPolicy"
    capabilities = COLUMN
    # Istio's own Telemetry template is reused by the telemetry plan (the same mesh-wide Telemetry).
    template_folders = ("istio-ambient", "istio")
    control_plane_namespace = "istio-system"
    unrotated_mesh_ca = None
    delivery = DELIVERY
    charts = (
        Chart("istiod", "istio/istiod", "istiod", "istio-system"),
        Chart("istio-cni", "istio/cni", "istio-cni", "istio-system"),
        Chart("ztunnel", "istio/ztunnel", "ztunnel", "istio-system"),
        Chart("istio-csr", "jetstack/cert-manager-istio-csr", "cert-manager-istio-csr", "cert-manager"),
        TRUST_MANAGER,
    )

    def operations(self, intent: MeshIntent, report: Report) -> Section:
        """Certificates, control-plane values, telemetry and alerts (see this package's modules). Pure."""
        cp_ns = control_plane_namespace(intent, self.control_plane_namespace)
        return compose(intent, report, cp_ns, (plan_certificates, plan_control_plane, plan_proxy_resources, plan_telemetry), plan_alerts)

    def plan(self, intent: MeshIntent) -> Plan:
        """Decide every object for ``intent`` in ambient mode. Pure."""
        report = Report(self.name, self.capabilities)
        labels = gapi.labels_for(intent)
        mesh = intent.spec.mesh
        waypoints = plan_waypoints(intent)
        objects: list[PlannedObject] = []
        for ns in intent.namespaces():
            objects.append(
                PlannedObject(
                    "core/namespace.yaml.j2",
                    "v1",
                    "Namespace",
                    ns,
                    None,
                    {"labels": {**labels, DATAPLANE_MODE: "ambient"}},
                )
            )
            objects.append(
                PlannedObject(
                    "istio-ambient/peer-authentication.yaml.j2",
                    SECURITY,
                    "PeerAuthentication",
                    "default",
                    ns,
                    {"labels": labels, "mode": mesh.mtls.upper()},
                )
            )
            if mesh.default_deny:
                nothing = policy("allow-nothing", ns, labels, action=None, rules=None)
                objects.append(dry_run(nothing) if mesh.enforcement == "audit" else nothing)
        if mesh.mtls == "strict":
            report.use(Feature.MTLS_STRICT, "mesh")
        else:
            report.use(
                Feature.MTLS_PERMISSIVE,
                "mesh",
                "PERMISSIVE only lets callers outside the mesh in as plaintext: between ambient pods ztunnel always "
                "uses mTLS, and mTLS cannot be turned off inside ambient (remove the namespace from ambient instead)",
            )
        if mesh.default_deny:
            report.use(Feature.AUTHZ_DEFAULT_DENY, "mesh")
        enforced = [svc.name for svc in intent.spec.services if not audited(intent, svc)]
        if mesh.mtls == "permissive" and mesh.default_deny and enforced:
            # ztunnel's ALLOW policies name source principals as the sidecar's do: a plaintext
            # caller from outside the mesh has none (see permissive_under_default_deny).
            report.lost(Feature.MTLS_PERMISSIVE, "mesh", permissive_under_default_deny(enforced))

        for svc in intent.spec.services:
            waypoint = waypoint_of(waypoints, svc)
            objects.append(bound_service(intent, svc, waypoint))
            objects.extend(plan_traffic(intent, svc, waypoint, report))
            policies = plan_authorization(intent, svc, waypoint, report, labels)
            if audited(intent, svc):
                policies = _audit(intent, svc, policies, report, labels)
            elif mesh.enforcement == "audit" and mesh.default_deny:
                # allow-nothing is dry-run mesh-wide: a service that keeps enforcing keeps its default
                # deny (an ALLOW without rules matches nothing; with other ALLOWs it changes nothing).
                policies.append(policy(object_name(svc.name, "enforce"), svc.namespace, labels, action="ALLOW", rules=[], selector=dict(sorted(svc.pod_selector.items()))))
            objects.extend(policies)
        objects.extend(gateway_objects(intent, waypoints, report))

        objects.extend(gapi.plan_gateways(intent, gapi.GatewayOptions("istio", self.name), report))
        if mesh.default_deny:
            for gw in intent.spec.gateways:
                # The gateway's Envoy applies namespace-wide policies: allow-nothing must not close the entry point.
                objects.append(
                    policy(
                        object_name(gw.name, "gateway-ingress"),
                        gw.namespace or "",
                        labels,
                        action="ALLOW",
                        rules=[{}],
                        target_refs=[{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.name}],
                    )
                )
        objects.extend(self._egress(intent, labels, report))
        for obj in objects:
            assert_l4_only(obj)
        return Plan(self.name, sort_objects(objects), (), report.sorted())

    def _egress(self, intent: MeshIntent, labels: dict[str, str], report: Report) -> list[PlannedObject]:
        """A ``ServiceEntry`` per egress host; ``egressDefaultDeny`` cannot be enforced by ztunnel."""
        out = []
        home = intent.spec.defaults.namespace
        egress_names = egress_object_names(intent.spec.egress)
        for host in intent.spec.egress:
            proto = {"http": "HTTP", "tls": "TLS", "tcp": "TCP", "grpc": "GRPC"}[host.protocol]
            out.append(
                PlannedObject(
                    "istio-ambient/service-entry.yaml.j2",
                    NETWORKING,
                    "ServiceEntry",
                    egress_names[(host.host, None)],
                    home,
                    {
                        "labels": labels,
                        "hosts": [host.host],
                        "ports": [{"number": p, "name": f"{host.protocol}-{p}", "protocol": proto} for p in host.ports],
                        "resolution": "NONE" if host.host.startswith("*") else "DNS",
                    },
                )
            )
        if intent.spec.egress and not intent.spec.mesh.egress_default_deny:
            report.use(Feature.EGRESS_ALLOW_LIST, "mesh")
        if intent.spec.mesh.egress_default_deny:
            report.lost(
                Feature.EGRESS_ALLOW_LIST,
                "mesh",
                "egressDefaultDeny cannot be enforced: ztunnel has no REGISTRY_ONLY outbound policy and the Sidecar "
                "resource does not apply to ambient; block other hosts with a Kubernetes NetworkPolicy or an egress gateway",
            )
        return out


def dry_run(obj: PlannedObject) -> PlannedObject:
    """An AuthorizationPolicy with ``istio.io/dry-run: "true"``; other objects unchanged."""
    if obj.kind != "AuthorizationPolicy":
        return obj
    return dataclasses.replace(obj, values={**obj.values, "annotations": ISTIO_DRY_RUN})


def _audit(intent: MeshIntent, svc: Service, policies: list[PlannedObject], report: Report, labels) -> list[PlannedObject]:
    """``svc``'s policies in dry-run; under defaultDeny with the mesh enforcing, an enforced L4
    ALLOW-all for its pods (ztunnel) so the namespace's allow-nothing does not refuse it.

    Waypoints (Envoy) log dry-run results; ztunnel treats dry-run policies as absent
    (istio/istio#55414 "ambient: do not process dry-run rules"), hence the approximated finding.
    """
    report.use(Feature.AUTHZ_AUDIT, f"{svc.namespace}/{svc.name}")
    out = [dry_run(p) for p in policies]
    if intent.spec.mesh.default_deny and intent.spec.mesh.enforcement != "audit":
        out.append(policy(object_name(svc.name, "audit-allow"), svc.namespace, labels, action="ALLOW", rules=[{}], selector=dict(sorted(svc.pod_selector.items()))))
    return out

