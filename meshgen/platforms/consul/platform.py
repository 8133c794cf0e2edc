"""Consul service mesh on Kubernetes (consul-k8s 2.0, Consul CE), as a Consul expert writes it.

Everything is a Consul *config entry* as a consul-k8s custom resource
(``consul.hashicorp.com/v1alpha1``, ../shared/crds/consul), which consul-k8s writes to the
Consul servers:

* mesh-wide (in the control-plane namespace): ``ProxyDefaults`` ``global`` (mTLS mode, access
  logs, tracing), ``Mesh`` ``mesh`` (TLS 1.2 minimum, permissive opt-in, egress lock-down) and
  the ``*`` -> ``*`` ``ServiceIntentions`` that makes the default explicit
  (:mod:`~meshgen.platforms.consul.mesh`, :mod:`~meshgen.platforms.consul.intentions`);
* per service: its Kubernetes Service, ``ServiceDefaults`` (protocol; callers' circuit
  breakers), ``ServiceResolver`` + ``ServiceSplitter`` for versions, ``ServiceRouter`` for
  routes, timeouts and retries (:mod:`~meshgen.platforms.consul.traffic`) and
  ``ServiceIntentions`` for allow and deny lists (:mod:`~meshgen.platforms.consul.intentions`);
* gateways on Consul's API gateway (class ``consul``, :mod:`~meshgen.platforms.consul.gateways`);
  egress hosts as transparent-proxy destinations behind a terminating gateway;
* operations (:mod:`~meshgen.platforms.consul.operations`): Helm values of the ``consul`` chart
  (Raft servers, injection, ACLs and TLS, the Connect CA, metrics), PodMonitors, PrometheusRule.

meshgen writes no Deployments: the pods must run as a ServiceAccount named like their Service
(ACLs), and versions must carry ``consul.hashicorp.com/service-meta-version``; both are findings.
Injection needs nothing on the pods: the namespaces are labelled for the injector.

Sources: https://developer.hashicorp.com/consul/docs/reference/config-entry,
https://developer.hashicorp.com/consul/docs/connect/k8s, hashicorp/consul-k8s v2.0.3,
../shared/design/platform-matrix.md (Consul column, sections 2-18).
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import Plan, PlannedObject, sort_objects
from meshgen.platforms.consul import gateways, intentions, mesh, traffic
from meshgen.platforms.consul.capabilities import COLUMN
from meshgen.platforms.consul.common import CONTROL_PLANE_NAMESPACE, control_plane_namespace, name_collisions
from meshgen.platforms.consul.delivery import DELIVERY
from meshgen.platforms.consul.operations import (
    plan_alerts,
    plan_certificates,
    plan_control_plane,
    plan_proxy_resources,
    plan_telemetry,
)
from meshgen.platforms.enforcement import report_no_audit
from meshgen.platforms.helm_values import Chart
from meshgen.platforms.sections import Section, compose

CONSUL_CHART = Chart("consul", "hashicorp/consul", "consul", CONTROL_PLANE_NAMESPACE)


class ConsulPlatform:
    """Consul service mesh (consul-k8s 2.0, Consul CE): config entries, intentions, API gateway."""

    name = "consul"
    description = (
        "Consul (consul-k8s 2.0, CE): ServiceDefaults/Router/Splitter/Resolver, ServiceIntentions allow-lists, "
        "API gateway ingress"
    )
    capabilities = COLUMN
    template_folders = ("consul",)
    control_plane_namespace = CONTROL_PLANE_NAMESPACE
    unrotated_mesh_ca = None
    delivery = DELIVERY
    charts = (CONSUL_CHART,)

    def plan(self, intent: MeshIntent) -> Plan:
        """Decide every Consul object for ``intent`` (traffic and security). Pure."""
        report = Report(self.name, self.capabilities)
        labels = gapi.labels_for(intent)
        mtls = Feature.MTLS_STRICT if intent.spec.mesh.mtls == "strict" else Feature.MTLS_PERMISSIVE
        report.use(mtls, "mesh")
        if intent.spec.mesh.default_deny:
            report.use(Feature.AUTHZ_DEFAULT_DENY, "mesh")
        objects: list[PlannedObject] = mesh.namespaces(intent, labels)
        objects.append(mesh.proxy_defaults(intent, labels, report))
        objects.append(mesh.mesh_config(intent, labels))
        objects.append(intentions.mesh_intentions(intent, control_plane_namespace(intent), labels))
        mesh.enrolment_findings(intent, report)
        name_collisions(intent, report)
        overrides = traffic.upstream_overrides(intent, report)
        for svc in intent.spec.services:
            objects.append(gapi.service_object(intent, svc))
            objects.extend(traffic.plan_traffic(intent, svc, overrides[svc.name], labels, report))
            objects.extend(intentions.plan_intentions(intent, svc, labels, report))
        objects.extend(gateways.plan_gateways(intent, report))
        objects.extend(mesh.plan_egress(intent, labels, report))
        report_no_audit(intent, report, "Consul intentions have no audit or dry-run mode")
        return Plan(self.name, sort_objects(objects), (), report.sorted())

    def operations(self, intent: MeshIntent, report: Report) -> Section:
        """Helm values, monitors and alerts (certificates, HA, telemetry); findings go to ``report``. Pure."""
        cp_ns = control_plane_namespace(intent)
        return compose(intent, report, cp_ns, (plan_certificates, plan_control_plane, plan_proxy_resources, plan_telemetry), plan_alerts)

