"""Argo Rollouts: a ``Rollout`` that takes over the service's Deployment, and its ``AnalysisTemplate``.

For every service whose ``rollout`` runs on Argo Rollouts (:mod:`meshgen.intent.rollout`):

* a ``Rollout`` (``argoproj.io/v1alpha1``) named after the workload, with ``workloadRef`` to the
  existing Deployment (``scaleDown: onsuccess``: the Deployment keeps serving until the Rollout is
  healthy, https://argo-rollouts.readthedocs.io/en/stable/migrating/), ``replicas`` from the
  intent, and the strategy: canary ``steps`` (``setWeight`` then ``pause.duration``; a last
  ``pause: {}`` for the manual gate, resumed by ``kubectl argo rollouts promote``) with background
  analysis, or ``blueGreen`` (``activeService``, ``previewService``, ``prePromotionAnalysis``,
  ``autoPromotionEnabled: false`` with the manual gate);
* an ``AnalysisTemplate`` with the platform's request metrics as Prometheus queries
  (``successCondition`` on ``result[0]``, ``failureLimit``, ``interval``) and the load test as a
  ``web`` metric posting Flagger's loadtester payload;
* where the platform's metrics name the pod's ReplicaSet (``argo_canary_only``), the analysis
  selects the canary's alone: Argo names a ReplicaSet ``<rollout>-<rollouts-pod-template-hash>``
  and gives its pods the template's labels plus ``rollouts-pod-template-hash``
  (``rollout/sync.go`` createDesiredReplicaSet), and passes the canary's hash as an argument
  (``valueFrom.podTemplateHashValue: Latest``); the Rollout is named after the workload for this.
  A query with no data yields NaN, which fails ``result[0] >= ...`` and counts as a failed check,
  as Flagger counts "no values found" (fail closed; the load test exists to give the canary traffic);
* the routing Argo rewrites at runtime, as it expects to find it, per
  :attr:`~meshgen.delivery.support.DeliverySupport.argo_traffic_routing`: see
  :mod:`meshgen.delivery.argo_routing`.

Sources: the CRDs ``rollouts.argoproj.io`` and ``analysistemplates.argoproj.io`` (v1.9.1),
https://argo-rollouts.readthedocs.io/en/stable/features/canary/,
https://argo-rollouts.readthedocs.io/en/stable/features/bluegreen/,
https://argo-rollouts.readthedocs.io/en/stable/features/analysis/ (background analysis,
``failureLimit``: the run fails when failures exceed it), docs/analysis/prometheus.md and
docs/analysis/web.md of argoproj/argo-rollouts.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Sequence

from meshgen.capabilities import Feature, Finding, Report, Severity, Support
from meshgen.delivery import argo_routing
from meshgen.delivery.plan import ControllerPlan
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.gateway_api import duration, labels_for, service_object

if TYPE_CHECKING:
    from meshgen.intent.model import MeshIntent, Service
    from meshgen.intent.rollout import Rollout
    from meshgen.platforms.base import Plan, Platform

ARGO = "argoproj.io/v1alpha1"
#: The canary's ReplicaSet hash, passed to the analysis (``valueFrom.podTemplateHashValue: Latest``).
CANARY_HASH_ARG = "canary-hash"


def plan_rollouts(platform: Platform, intent: MeshIntent, services: Sequence[Service], planned: Plan) -> ControllerPlan:
    """Argo Rollouts' objects for ``services`` on ``platform``, and the planned objects they replace.

    Args:
        platform: the platform being rendered; only its ``delivery`` support and capability column are read.
        intent: the whole intent (labels, ``spec.delivery.prometheus``).
        services: the services whose rollout runs on Argo Rollouts, in intent order.
        planned: the platform's plan: the routing objects Argo rewrites are taken from it, adjusted
            and returned in ``objects`` with their originals in ``owned``.

    Returns:
        a :class:`ControllerPlan`; findings name what Argo owns at runtime (info), what is
        approximated (weights by replica counts without a mesh; analysis that cannot tell the
        canary's pods from the stable ones) and what is lost (analysis without request metrics).
    """
    report = Report(platform.name, platform.capabilities)
    objects: list[PlannedObject] = []
    owned: set[tuple[str, str | None, str]] = set()
    extra: list[Finding] = []
    for svc in services:
        out = _service(platform, intent, svc, planned, report)
        objects.extend(out.objects)
        owned |= out.owned
        extra.extend(out.findings)
    return ControllerPlan(tuple(objects), frozenset(owned), tuple(extra) + report.sorted())


def workload_of(svc: Service) -> str:
    """The Deployment the Rollout takes over, and the Rollout's own name: ``rollout.workload`` or the service name."""
    return svc.rollout.workload or svc.name


def _service(platform: Platform, intent: MeshIntent, svc: Service, planned: Plan, report: Report) -> ControllerPlan:
    rollout = svc.rollout
    support = platform.delivery
    subject = f"{svc.namespace}/{svc.name}"
    workload = workload_of(svc)
    labels = labels_for(intent)
    objects: list[PlannedObject] = []
    owned: set = set()
    findings: list[Finding] = []

    analysis = _analysis_template(intent, svc, support, report, subject)
    if analysis is not None:
        objects.append(analysis)

    if rollout.strategy == "blue-green":
        routing = _blue_green(intent, svc, planned)
        strategy: dict[str, Any] = {"blueGreen": routing.strategy}
        if analysis is not None:
            strategy["blueGreen"]["prePromotionAnalysis"] = _analysis_ref(analysis, workload, svc)
        strategy["blueGreen"]["autoPromotionEnabled"] = rollout.webhooks.manual_gate is None
    else:
        routing = argo_routing.canary(support.argo_traffic_routing, intent, svc, planned)
        canary: dict[str, Any] = dict(routing.strategy)
        if analysis is not None:
            canary["analysis"] = _analysis_ref(analysis, workload, svc)
        canary["steps"] = _steps(rollout)
        strategy = {"canary": canary}
        if support.argo_traffic_routing is None:
            report.approximated(Feature.ROLLOUT_ARGO, subject, _replica_weights(rollout, svc.replicas))
        elif any(not p.is_l7 for p in svc.ports):
            l4 = ", ".join(f"{p.name} ({p.protocol})" for p in svc.ports if not p.is_l7)
            report.approximated(
                Feature.ROLLOUT_ARGO,
                subject,
                f"port(s) {l4} carry connections that no weighted route covers: they reach stable and canary pods in "
                "proportion to their pod counts, not the step weights",
            )
    objects.extend(routing.objects)
    owned |= routing.owned
    findings.extend(routing.findings)

    spec = {
        "replicas": svc.replicas,
        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload, "scaleDown": "onsuccess"},
        "strategy": strategy,
    }
    kind, fields = next(iter(spec.pop("strategy").items()))
    values = {"labels": labels, "spec": spec, "strategy": kind, "fields": fields, "subset_routing": routing.istio}
    objects.append(PlannedObject("argo-rollouts/rollout.yaml.j2", ARGO, "Rollout", workload, svc.namespace, values))
    # Ownership is a note (info), not a limit; a column that is not native takes no native finding.
    native = platform.capabilities[Feature.ROLLOUT_ARGO].support is Support.NATIVE
    findings.append(
        Finding(
            subject,
            Feature.ROLLOUT_ARGO,
            Support.NATIVE if native else Support.APPROXIMATED,
            f"Argo Rollouts' Rollout {svc.namespace}/{workload} takes over Deployment {workload} (workloadRef, scaleDown "
            "onsuccess: scale the Deployment to 0 once the Rollout is healthy); change the Deployment's pod template to "
            "roll out. Its pods keep the template's labels plus rollouts-pod-template-hash, so the intent's "
            "selector-based policies still select stable and canary pods"
            + (f"; {routing.owner_note}" if routing.owner_note else ""),
            Severity.INFO,
        )
    )
    return ControllerPlan(tuple(objects), frozenset(owned), tuple(findings))


def _steps(rollout: Rollout) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for step in rollout.steps:
        steps.append({"setWeight": step.weight})
        steps.append({"pause": {"duration": duration(rollout.pause_of(step))}})
    if rollout.webhooks.manual_gate is not None:
        steps.append({"pause": {}})  # no duration: waits for `kubectl argo rollouts promote`
    return steps


def _replica_weights(rollout: Rollout, replicas: int) -> str:
    # Argo without traffic routing picks the canary/stable pod counts closest to each weight,
    # surging one pod if that is closer (utils/replicaset/canary.go
    # approximateWeightedCanaryStableReplicaCounts); requests then split by pod count.
    weights = ", ".join(f"{s.weight}%" for s in rollout.steps)
    return (
        f"no proxy shifts traffic: Argo Rollouts approximates each weight ({weights}) by the canary's share of "
        f"{replicas} replica(s) (one more while surging), so requests move in steps of about {100 // (replicas + 1)}-"
        f"{100 // replicas}% behind the one Service; set replicas for finer steps"
    )


def _blue_green(intent: MeshIntent, svc: Service, planned: Plan) -> argo_routing.Routing:
    # Argo switches the active Service's selector to the new ReplicaSet at promotion and points
    # the preview Service at it before (docs/features/bluegreen.md).
    preview_name = argo_routing.free_service_name(planned, svc, "preview")
    base = next(
        (o for o in planned.objects if (o.kind, o.namespace, o.name) == ("Service", svc.namespace, svc.name)),
        service_object(intent, svc),
    )
    preview = dataclasses.replace(base, name=preview_name, values={**base.values, "labels": {**base.values["labels"], "meshgen.dev/rollout-of": svc.name}})
    return argo_routing.Routing(
        strategy={"activeService": svc.name, "previewService": preview_name},
        objects=(preview,),
        owner_note=(
            f"at runtime Argo Rollouts owns the selectors of Services {svc.name} (active) and {preview_name} (preview): "
            "it adds rollouts-pod-template-hash; meshgen keeps emitting both, and re-applying keeps the added key"
        ),
    )


# --- analysis -----------------------------------------------------------------------------


def _analysis_ref(template: PlannedObject, workload: str, svc: Service) -> dict[str, Any]:
    # Every argument the template declares, and no other (an AnalysisRun needs them all).
    values: dict[str, dict[str, Any]] = {
        "namespace": {"value": svc.namespace},
        "workload": {"value": workload},
        CANARY_HASH_ARG: {"valueFrom": {"podTemplateHashValue": "Latest"}},
    }
    args = [{"name": a["name"], **values[a["name"]]} for a in template.values["spec"]["args"]]
    return {"templates": [{"templateName": template.name}], "args": args}


def _analysis_template(intent: MeshIntent, svc: Service, support, report: Report, subject: str) -> PlannedObject | None:
    rollout = svc.rollout
    analysis = rollout.analysis
    interval = duration(rollout.interval)
    # Intent: failureLimit failed checks roll back (Flagger's threshold). Argo fails the run when
    # failures exceed failureLimit, so the N-th failure must be one over it.
    failure_limit = analysis.failure_limit - 1
    common: dict[str, Any] = {"interval": interval}
    if rollout.strategy == "blue-green":
        common["count"] = analysis.iterations
    metrics: list[dict[str, Any]] = []
    queries = support.argo_metrics
    if queries is None:
        report.lost(
            Feature.ROLLOUT_ARGO,
            subject,
            f"nothing on this platform measures requests: the analysis (success rate >= {analysis.success_rate:g}%"
            + (f", p99 <= {int(analysis.latency_p99)}ms" if analysis.latency_p99 is not None else "")
            + ") is not run; Argo Rollouts advances on time alone",
        )
    else:
        if support.argo_canary_only:
            workload = "{{args.workload}}-{{args." + CANARY_HASH_ARG + "}}"
        else:
            workload = "{{args.workload}}"
            report.approximated(
                Feature.ROLLOUT_ARGO,
                subject,
                "the mesh names a Rollout's stable and canary pods alike (the Rollout's name), so the analysis measures "
                "both together: a failing canary shows diluted by the stable pods' traffic",
            )
        namespace = "{{args.namespace}}"
        metrics.append(
            {
                "name": "success-rate",
                **common,
                "successCondition": f"result[0] >= {analysis.success_rate:g}",
                "failureLimit": failure_limit,
                "provider": {
                    "prometheus": {
                        "address": intent.spec.delivery.prometheus,
                        "query": queries.success_rate_for(namespace, workload, interval),
                    }
                },
            }
        )
        if analysis.latency_p99 is not None:
            metrics.append(
                {
                    "name": "latency-p99",
                    **common,
                    "successCondition": f"result[0] <= {int(analysis.latency_p99)}",
                    "failureLimit": failure_limit,
                    "provider": {
                        "prometheus": {
                            "address": intent.spec.delivery.prometheus,
                            "query": queries.latency_p99_for(namespace, workload, interval),
                        }
                    },
                }
            )
    load = rollout.webhooks.load_test
    if load is not None:
        # Flagger's loadtester payload (name, namespace, metadata.cmd); a web metric without
        # conditions passes on any 2xx answer (argo-rollouts utils/evaluate EvaluateResult).
        metrics.append(
            {
                "name": "load-test",
                **common,
                "failureLimit": failure_limit,
                "provider": {
                    "web": {
                        "url": load.url,
                        "method": "POST",
                        "jsonBody": {
                            "name": "{{args.workload}}",
                            "namespace": "{{args.namespace}}",
                            "metadata": {"type": "cmd", "cmd": load.command},
                        },
                    }
                },
            }
        )
    if not metrics:
        return None
    args: list[dict[str, Any]] = [{"name": "namespace"}, {"name": "workload"}]
    if support.argo_canary_only and queries is not None:
        args.append({"name": CANARY_HASH_ARG})
    return PlannedObject(
        "argo-rollouts/analysis-template.yaml.j2",
        ARGO,
        "AnalysisTemplate",
        object_name(workload_of(svc), "analysis"),
        svc.namespace,
        {"labels": labels_for(intent), "spec": {"args": args, "metrics": metrics}},
    )
