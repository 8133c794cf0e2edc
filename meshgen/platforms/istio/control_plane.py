"""Istio control-plane availability (``spec.mesh.controlPlane``) as Helm values.

Shared rules and the chart keys: :mod:`meshgen.platforms.high_availability`.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.high_availability import anti_affinity, single_point
from meshgen.platforms.proxy_resources import check_default_limits, kubernetes_shape, proxy_resources
from meshgen.platforms.sections import Section


def plan_control_plane(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """istiod (and istio-csr, which issues every certificate when ca.type is cert-manager or vault)."""
    out = Section()
    cp = intent.spec.mesh.control_plane
    ha = cp.replicas > 1
    report.use(Feature.CONTROL_PLANE_HA, "mesh")
    values: dict[str, Any] = {"global": {"defaultPodDisruptionBudget": {"enabled": True}}}
    if cp.max_replicas is not None:
        values.update({"autoscaleEnabled": True, "autoscaleMin": cp.replicas, "autoscaleMax": cp.max_replicas})
    else:
        values.update({"autoscaleEnabled": False, "replicaCount": cp.replicas})
    if ha:
        values["pdb"] = {"maxUnavailable": 1}
        values["affinity"] = anti_affinity({"app": "istiod"})
        # Reject invalid config even while istiod restarts, instead of flipping from Ignore to Fail.
        values["base"] = {"validationFailurePolicy": "Fail"}
    else:
        single_point(report, "istiod", "; pods cannot be injected and certificates cannot be renewed while it is down")
    out.add_values("istiod", values)
    if intent.spec.mesh.ca.type in ("cert-manager", "vault"):
        csr: dict[str, Any] = {"replicaCount": cp.replicas, "podDisruptionBudget": {"enabled": ha}}
        if ha:
            csr["podDisruptionBudget"]["maxUnavailable"] = 1
            csr["affinity"] = anti_affinity({"app": "cert-manager-istio-csr"})
        else:
            single_point(report, "istio-csr", "; no workload certificate is issued while it is down")
        out.add_values("istio-csr", csr)
    return out


#: istiod chart values.yaml global.proxy.resources.limits (Istio 1.30.3).
SIDECAR_DEFAULT_LIMITS = {"cpu": "2000m", "memory": "1024Mi"}


def plan_proxy_resources(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """``mesh.proxy.resources`` -> istiod chart ``global.proxy.resources`` (charts/istiod values.yaml:
    the injected istio-proxy container of every sidecar; defaults requests 100m/128Mi, limits 2000m/1024Mi)."""
    out = Section()
    resources = proxy_resources(intent)
    if resources is not None:
        report.use(Feature.PROXY_RESOURCES, "mesh")
        check_default_limits(report, resources, SIDECAR_DEFAULT_LIMITS, "global.proxy.resources")
        out.add_values("istiod", {"global": {"proxy": {"resources": kubernetes_shape(resources)}}})
    return out
