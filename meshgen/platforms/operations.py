"""Merging a platform's operations (identity, HA, telemetry, alerts) into its traffic plan.

A platform plans traffic and security in ``plan()`` and operations in ``operations()`` (a
:class:`~meshgen.platforms.sections.Section`); :func:`combine` merges the two into the one
:class:`~meshgen.platforms.base.Plan` the pipeline renders: objects re-sorted, Helm values files
written for the platform's declared charts, findings merged, and namespace annotations put on the
platform's Namespace objects.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.base import Plan, PlannedObject, Platform, sort_objects
from meshgen.platforms.helm_values import values_files


def plan_operations(platform: Platform, intent: MeshIntent) -> Plan:
    """Only the operations of ``intent`` on ``platform``, as a plan of its own (for tests). Pure.

    Namespace annotations (Linkerd's access logs) are not in the returned plan: they belong on
    the platform's Namespace objects, see :func:`combine`.
    """
    report = Report(platform.name, platform.capabilities)
    section = platform.operations(intent, report)
    return Plan(
        platform.name,
        sort_objects(section.objects),
        tuple(values_files(section.values, platform.charts)),
        report.sorted(),
    )


def combine(platform: Platform, platform_plan: Plan, intent: MeshIntent) -> Plan:
    """``platform_plan`` plus the platform's operations: objects re-sorted, files and findings merged.

    Namespace annotations are added to the platform's Namespace objects; an annotation for a
    namespace the platform does not create becomes a finding telling the user to set it.

    Raises:
        AssertionError: the traffic plan and the operations both plan one file (a planner bug).
        KeyError: a values fragment for a chart the platform does not declare.
    """
    name = platform.name
    report = Report(name, platform.capabilities)
    section = platform.operations(intent, report)
    objects = []
    pending = {ns: dict(a) for ns, a in section.namespace_annotations.items()}
    for obj in platform_plan.objects:
        if obj.kind == "Namespace" and obj.api_version == "v1" and obj.name in pending:
            extra = pending.pop(obj.name)
            values = dict(obj.values)
            values["annotations"] = {**dict(values.get("annotations") or {}), **extra}
            obj = PlannedObject(obj.template, obj.api_version, obj.kind, obj.name, obj.namespace, values)
        objects.append(obj)
    for ns, wanted in sorted(pending.items()):
        text = ", ".join(f"{k}: {v}" for k, v in sorted(wanted.items()))
        report.approximated(
            Feature.ACCESS_LOGS, "mesh", f"meshgen does not create namespace {ns}: annotate it with {text}"
        )
    objects.extend(section.objects)
    files = tuple(platform_plan.files) + tuple(values_files(section.values, platform.charts))
    paths = [f.path for f in files]
    if len(paths) != len(set(paths)):
        raise AssertionError(f"{name} and its operations both plan {sorted({p for p in paths if paths.count(p) > 1})}")
    findings = sorted(
        set(platform_plan.findings) | set(report.findings), key=lambda f: (f.subject, f.feature.value, f.detail)
    )
    return Plan(name, sort_objects(objects), files, tuple(findings))
