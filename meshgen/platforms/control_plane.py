"""Control-plane availability (``spec.mesh.controlPlane``) as Helm values of the official charts.

For ``replicas`` > 1: that many replicas (or autoscaling from ``replicas`` to ``maxReplicas``
where the chart has it), a PodDisruptionBudget allowing one replica down, pod anti-affinity
required across nodes and preferred across zones, and admission webhooks that fail closed.
``replicas: 1`` is allowed and reported as a single point of failure.

Value keys are the charts' own (../shared/charts/*/values.yaml; tests check every emitted key
against the Cilium, istio-csr and trust-manager schemas and against the key fixtures of the
istiod and linkerd-control-plane charts):

* istiod: ``replicaCount`` / ``autoscaleEnabled`` / ``autoscaleMin`` / ``autoscaleMax``,
  ``pdb.maxUnavailable`` (rendered by the chart only when more than one replica is guaranteed),
  ``affinity``, ``base.validationFailurePolicy``.
* linkerd-control-plane: ``controllerReplicas``, ``enablePodAntiAffinity`` (required per node,
  preferred per zone, built into the chart), ``enablePodDisruptionBudget``,
  ``controller.podDisruptionBudget.maxUnavailable``, ``deploymentStrategy``,
  ``webhookFailurePolicy``, ``highAvailability`` (as the chart's values-ha.yaml); no autoscaling.
* cilium: ``operator.replicas``, ``operator.podDisruptionBudget``, ``operator.affinity``; the
  agent and Envoy are DaemonSets; no autoscaling.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.ops_base import Section

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def plan_control_plane(platform: str, intent: MeshIntent, report: Report) -> Section:
    """HA values of ``intent`` on ``platform``. Raises KeyError for an unknown platform."""
    return {"istio": istio_control_plane, "linkerd": linkerd_control_plane, "cilium": cilium_control_plane}[platform](
        intent, report
    )


def anti_affinity(labels: dict[str, str]) -> dict[str, Any]:
    """Pod anti-affinity: required across nodes, preferred across zones, for pods with ``labels``."""
    selector = {"matchLabels": dict(sorted(labels.items()))}
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": selector, "topologyKey": HOST}],
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"labelSelector": selector, "topologyKey": ZONE}}
            ],
        }
    }


def _single_point(report: Report, what: str, extra: str = "") -> None:
    report.approximated(
        Feature.CONTROL_PLANE_HA,
        "mesh",
        f"controlPlane.replicas 1: {what} runs a single replica, a single point of failure: a node drain, an upgrade or "
        f"a crash stops it, with no PodDisruptionBudget to delay the eviction{extra}; set replicas: 3 for production",
    )


def _no_autoscaling(report: Report, chart: str, replicas: int, max_replicas: int) -> None:
    report.approximated(
        Feature.CONTROL_PLANE_HA,
        "mesh",
        f"the {chart} chart has no autoscaling values: maxReplicas {max_replicas} is not applied, the control plane "
        f"runs a fixed {replicas} replicas",
    )


def istio_control_plane(intent: MeshIntent, report: Report) -> Section:
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
        _single_point(report, "istiod", "; pods cannot be injected and certificates cannot be renewed while it is down")
    out.add_values("istiod", values)
    if intent.spec.mesh.ca.type in ("cert-manager", "vault"):
        csr: dict[str, Any] = {"replicaCount": cp.replicas, "podDisruptionBudget": {"enabled": ha}}
        if ha:
            csr["podDisruptionBudget"]["maxUnavailable"] = 1
            csr["affinity"] = anti_affinity({"app": "cert-manager-istio-csr"})
        else:
            _single_point(report, "istio-csr", "; no workload certificate is issued while it is down")
        out.add_values("istio-csr", csr)
    return out


def linkerd_control_plane(intent: MeshIntent, report: Report) -> Section:
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
        _single_point(report, "each Linkerd controller (destination, identity, proxy-injector)",
                      "; with webhookFailurePolicy Ignore, pods created while the injector is down start without a proxy")
    if cp.max_replicas is not None:
        _no_autoscaling(report, "linkerd-control-plane", cp.replicas, cp.max_replicas)
    out.add_values("linkerd-control-plane", values)
    return out


def cilium_control_plane(intent: MeshIntent, report: Report) -> Section:
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
        _single_point(report, "cilium-operator", "; identities and IPAM are not managed while it is down")
    if cp.max_replicas is not None:
        _no_autoscaling(report, "cilium", cp.replicas, cp.max_replicas)
    out.add_values("cilium", {"operator": operator})
    if intent.spec.mesh.mtls == "strict":
        report.approximated(
            Feature.CONTROL_PLANE_HA,
            "mesh",
            "the chart's bundled SPIRE server (mutual authentication) is one StatefulSet pod with no replicas value: "
            "new identities cannot be issued while it is down",
        )
    return out
