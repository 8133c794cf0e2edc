"""Add the rollout controllers' objects to a platform's plan and take out what they own.

Each controller is one module of this package exporting ``plan_rollouts`` (see
:class:`ControllerPlan`); :data:`CONTROLLERS` maps the intent's controller names to them.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from meshgen.capabilities import Finding

if TYPE_CHECKING:
    from meshgen.intent.model import MeshIntent, Service
    from meshgen.platforms.base import Plan, PlannedObject, Platform

#: ``rollout.controller`` value -> module under ``meshgen.delivery`` that plans it.
CONTROLLERS: dict[str, str] = {"flagger": "flagger", "argo-rollouts": "argo_rollouts"}


@dataclass(frozen=True)
class ControllerPlan:
    """What one controller adds to and takes from a platform's plan.

    Attributes:
        objects: the controller's objects (Canary, Rollout, MetricTemplate, AnalysisTemplate, ...).
        owned: ``(kind, namespace, name)`` of objects in the platform's plan the controller
            generates or rewrites itself; they are left out so the two never fight over them.
        findings: what changes, who owns what, and what the controller cannot express here.
    """

    objects: tuple[PlannedObject, ...] = ()
    owned: frozenset[tuple[str, str | None, str]] = frozenset()
    findings: tuple[Finding, ...] = ()


def apply(platform: Platform, planned: Plan, intent: MeshIntent) -> Plan:
    """``planned`` with every rollout's controller objects added and the objects they own removed.

    Services without a rollout are untouched; an intent without any rollout returns ``planned`` as is.
    """
    by_controller: dict[str, list[Service]] = {}
    for svc in intent.spec.services:
        if svc.rollout is not None:
            by_controller.setdefault(svc.rollout.controller_of(intent.spec.delivery), []).append(svc)
    if not by_controller:
        return planned
    objects = list(planned.objects)
    findings = list(planned.findings)
    for controller in sorted(by_controller):
        outcome = _controller(controller).plan_rollouts(platform, intent, by_controller[controller], planned)
        objects = [o for o in objects if (o.kind, o.namespace, o.name) not in outcome.owned]
        objects.extend(outcome.objects)
        findings.extend(outcome.findings)
    return dataclasses.replace(planned, objects=tuple(objects), findings=tuple(findings))


def _controller(name: str):
    return importlib.import_module(f"meshgen.delivery.{CONTROLLERS[name]}")


def services_with(intent: MeshIntent, controller: str) -> Sequence[Service]:
    """The services whose rollout runs on ``controller``, in intent order."""
    return [
        s for s in intent.spec.services if s.rollout is not None and s.rollout.controller_of(intent.spec.delivery) == controller
    ]
