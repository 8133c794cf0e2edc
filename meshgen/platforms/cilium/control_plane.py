"""Cilium control-plane availability (``spec.mesh.controlPlane``) as Helm values.

Shared rules and the chart keys: :mod:`meshgen.platforms.high_availability`.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.enforcement import audited_services, report_no_audit
from meshgen.platforms.high_availability import anti_affinity, no_autoscaling, single_point
from meshgen.platforms.proxy_resources import kubernetes_shape, proxy_resources, report_per_node
from meshgen.platforms.sections import Section


def plan_control_plane(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Cilium: the operator Deployment (agent and Envoy are DaemonSets, one per node)."""
    out = Section()
    cp = intent.spec.mesh.control_plane
    ha = cp.replicas > 1
    report.use(Feature.CONTROL_PLANE_HA, "mesh")
    operator: dict[str, Any] = {"replicas": cp.replicas, "podDisruptionBudget": {"enabled": ha}}
    if ha:
        operator["podDisruptionBudget"]["maxUnavailable"] = 1
        operator["affinity"] = anti_affinity({"io.cilium/app": "operator"})
    else:
        single_point(report, "cilium-operator", "; identities and IPAM are not managed while it is down")
    if cp.max_replicas is not None:
        no_autoscaling(report, "cilium", cp.replicas, cp.max_replicas)
    out.add_values("cilium", {"operator": operator})
    _audit_mode(intent, report, out)
    if intent.spec.mesh.mtls == "strict":
        report.approximated(
            Feature.CONTROL_PLANE_HA,
            "mesh",
            "the chart's bundled SPIRE server (mutual authentication) is one StatefulSet pod with no replicas value: "
            "new identities cannot be issued while it is down",
        )
    return out


def _audit_mode(intent: MeshIntent, report: Report, out: Section) -> None:
    """``mesh.enforcement: audit`` -> the chart's top-level ``policyAuditMode: true`` (charts/cilium
    values.yaml; the agent logs policy verdicts instead of dropping). It is agent-wide, so audit
    for only some services cannot be expressed: those are reported lost and enforced."""
    audit = audited_services(intent)
    if intent.spec.mesh.enforcement == "audit" and len(audit) == len(intent.spec.services):
        out.add_values("cilium", {"policyAuditMode": True})
        report.use(Feature.AUTHZ_AUDIT, "mesh", "policyAuditMode: true in the agent's Helm values: every policy on every node is audited, not only this intent's")
    elif audit:
        report_no_audit(
            intent, report,
            "Cilium's policy audit mode (policyAuditMode) is agent-wide: it cannot audit some services and enforce others",
        )


def plan_proxy_resources(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """``mesh.proxy.resources`` -> cilium chart ``envoy.resources`` with ``envoy.enabled: true``
    (charts/cilium values.yaml: the standalone cilium-envoy DaemonSet, the default for new installs;
    embedded in the agent, envoy.resources would not apply). The chart sets no resources by default.

    cilium-envoy runs once per node, shared by every pod on it: reported (approximated).
    """
    out = Section()
    resources = proxy_resources(intent)
    if resources is not None:
        out.add_values("cilium", {"envoy": {"enabled": True, "resources": kubernetes_shape(resources)}})
        report_per_node(report, "cilium-envoy", "cilium chart envoy.resources")
    return out
