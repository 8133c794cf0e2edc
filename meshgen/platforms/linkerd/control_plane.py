"""Linkerd control-plane availability (``spec.mesh.controlPlane``) as Helm values.

Shared rules and the chart keys: :mod:`meshgen.platforms.high_availability`.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.high_availability import no_autoscaling, single_point
from meshgen.platforms.proxy_resources import linkerd_shape, proxy_resources
from meshgen.platforms.sections import Section


def plan_control_plane(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """linkerd-control-plane: destination, identity and proxy-injector Deployments together."""
    out = Section()
    cp = intent.spec.mesh.control_plane
    ha = cp.replicas > 1
    report.use(Feature.CONTROL_PLANE_HA, "mesh")
    values: dict[str, Any] = {
        "controllerReplicas": cp.replicas,
        "enablePodAntiAffinity": ha,
        "enablePodDisruptionBudget": ha,
        "highAvailability": ha,
        # With one injector replica, Fail would block every pod creation while it restarts.
        "webhookFailurePolicy": "Fail" if ha else "Ignore",
    }
    if ha:
        values["controller"] = {"podDisruptionBudget": {"maxUnavailable": 1}}
        values["deploymentStrategy"] = {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}}
    else:
        single_point(
            report,
            "each Linkerd controller (destination, identity, proxy-injector)",
            "; with webhookFailurePolicy Ignore, pods created while the injector is down start without a proxy",
        )
    if cp.max_replicas is not None:
        no_autoscaling(report, "linkerd-control-plane", cp.replicas, cp.max_replicas)
    out.add_values("linkerd-control-plane", values)
    return out


def plan_proxy_resources(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """``mesh.proxy.resources`` -> linkerd-control-plane chart ``proxy.resources.cpu.request|limit`` and
    ``proxy.resources.memory.request|limit`` (charts/linkerd-control-plane values.yaml: every injected
    linkerd-proxy; values-ha.yaml requests 100m/20Mi, limit 250Mi)."""
    out = Section()
    resources = proxy_resources(intent)
    if resources is not None:
        report.use(Feature.PROXY_RESOURCES, "mesh")
        out.add_values("linkerd-control-plane", {"proxy": {"resources": linkerd_shape(resources)}})
    return out
