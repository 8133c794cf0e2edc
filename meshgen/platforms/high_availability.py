"""Control-plane availability (``spec.mesh.controlPlane``) as Helm values of the official charts: the shared pieces.

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

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


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


def single_point(report: Report, what: str, extra: str = "") -> None:
    """Report that ``what`` runs one replica (``controlPlane.replicas: 1``): a single point of failure."""
    report.approximated(
        Feature.CONTROL_PLANE_HA,
        "mesh",
        f"controlPlane.replicas 1: {what} runs a single replica, a single point of failure: a node drain, an upgrade or "
        f"a crash stops it, with no PodDisruptionBudget to delay the eviction{extra}; set replicas: 3 for production",
    )


def no_autoscaling(report: Report, chart: str, replicas: int, max_replicas: int) -> None:
    """Report that ``chart`` has no autoscaling values, so ``maxReplicas`` is not applied."""
    report.approximated(
        Feature.CONTROL_PLANE_HA,
        "mesh",
        f"the {chart} chart has no autoscaling values: maxReplicas {max_replicas} is not applied, the control plane "
        f"runs a fixed {replicas} replicas",
    )
