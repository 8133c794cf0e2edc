"""The no-mesh baseline: what a careful Kubernetes engineer writes when a mesh is not worth it.

Below roughly 10-20 services, or for one team, the usual advice is no mesh: Kubernetes
NetworkPolicy for who may call whom, cert-manager for workload certificates, Gateway API at the
edge, retries and timeouts in the applications. ``--platform kubernetes`` renders that baseline
from the same intent, so a team can start here and move to a mesh by re-rendering; ``meshgen diff
--from kubernetes --to istio`` lists what the mesh would add.

Per namespace with services: the Namespace, a ``default-deny-ingress`` NetworkPolicy under
``defaultDeny``, and a ``default-deny-egress`` policy (DNS and pods of the cluster only) under
``egressDefaultDeny``. Per service: its Service and an ingress NetworkPolicy admitting its
callers' pods on its ports (:mod:`.network_policy`). At the edge: Gateway API ``Gateway`` and
routes of the gateway's class (default ``nginx``), with version weights and header routes applied
there through per-version Services (:mod:`.traffic`). Identity: cert-manager workload certificates for application-level
TLS when ``ca.type`` is cert-manager or vault (:mod:`.certificates`); observability and alerts in
:mod:`.observability`. Everything that needs a proxy is reported per service with what the
application must do instead; restrictions that cannot be enforced (L7 allow-lists, JWT) fail
closed: the caller is refused, never widened.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import Plan, PlannedObject, sort_objects
from meshgen.platforms.enforcement import report_no_audit
from meshgen.platforms.helm_values import TRUST_MANAGER
from meshgen.platforms.kubernetes.capabilities import COLUMN
from meshgen.platforms.kubernetes.certificates import plan_certificates
from meshgen.platforms.kubernetes.delivery import DELIVERY
from meshgen.platforms.kubernetes.network_policy import namespace_policies, service_policy
from meshgen.platforms.kubernetes.observability import (
    plan_alerts,
    plan_control_plane,
    plan_proxy_resources,
    plan_telemetry,
)
from meshgen.platforms.kubernetes.traffic import gateways, service_findings, service_objects
from meshgen.platforms.sections import Section, compose, control_plane_namespace


class KubernetesPlatform:
    """No mesh: NetworkPolicy, Services, Gateway API at the edge, cert-manager workload certificates."""

    name = "kubernetes"
    description = (
        "No mesh: Kubernetes NetworkPolicy (L3/L4, pod labels), Gateway API at the edge, cert-manager workload TLS"
    )
    capabilities = COLUMN
    #: No control plane: NetworkPolicy is enforced by the CNI, whose agents usually run here.
    control_plane_namespace = "kube-system"
    unrotated_mesh_ca = None
    delivery = DELIVERY
    charts = (TRUST_MANAGER,)
    template_folders = ("kubernetes",)

    def plan(self, intent: MeshIntent) -> Plan:
        """Namespaces, Services, NetworkPolicies and Gateway API objects for ``intent``, with findings. Pure."""
        report = Report(self.name, self.capabilities)
        labels = gapi.labels_for(intent)
        objects: list[PlannedObject] = [
            PlannedObject("core/namespace.yaml.j2", "v1", "Namespace", ns, None, {"labels": labels})
            for ns in intent.namespaces()
        ]
        self._mesh_findings(intent, report)
        objects.extend(namespace_policies(intent, labels, report))
        edge_objects, edge = gateways(intent, report, self.name)
        objects.extend(edge_objects)
        for svc in intent.spec.services:
            objects.extend(service_objects(intent, svc))
            objects.extend(service_policy(intent, svc, report, labels))
            service_findings(intent, svc, report, edge)
        report_no_audit(intent, report, "NetworkPolicy has no audit or dry-run mode")
        return Plan(self.name, sort_objects(objects), (), report.sorted())

    def operations(self, intent: MeshIntent, report: Report) -> Section:
        """Workload certificates, the (absent) control plane, telemetry findings and certificate alerts. Pure."""
        cp_ns = control_plane_namespace(intent, self.control_plane_namespace)
        return compose(intent, report, cp_ns, (plan_certificates, plan_control_plane, plan_proxy_resources, plan_telemetry), plan_alerts)

    @staticmethod
    def _mesh_findings(intent: MeshIntent, report: Report) -> None:
        mesh = intent.spec.mesh
        if mesh.mtls == "strict":
            tls = (
                "the applications can serve TLS with the cert-manager workload certificates meshgen issues"
                if mesh.ca.type in ("cert-manager", "vault")
                else "set ca.type: cert-manager to issue each workload a certificate for application-level TLS"
            )
            report.lost(
                Feature.MTLS_STRICT,
                "mesh",
                f"no mTLS between pods without a mesh: calls are plaintext and callers are not authenticated "
                f"cryptographically (NetworkPolicy admits them by pod labels); {tls}",
            )
        else:
            report.use(Feature.MTLS_PERMISSIVE, "mesh")
        if mesh.default_deny or any(s.allow_from or s.deny_from for s in intent.spec.services):
            report.approximated(
                Feature.AUTHZ_IDENTITY,
                "mesh",
                "NetworkPolicy is enforced by the CNI: on one that does not implement it (flannel, for "
                "example) these policies are accepted and do nothing",
            )
