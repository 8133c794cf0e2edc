"""Operations: identity, control-plane HA, observability and alerts, for any platform.

:func:`plan_operations` composes the concern planners (:mod:`~meshgen.platforms.certificates`,
:mod:`~meshgen.platforms.control_plane`, :mod:`~meshgen.platforms.telemetry`,
:mod:`~meshgen.platforms.alerts`) into a :class:`Plan`: Kubernetes objects (cert-manager,
trust-manager, Istio Telemetry, prometheus-operator), Helm values files at
``values/<chart>.yaml``, and findings. :func:`combine` merges it with the platform's own plan;
the pipeline calls it, so platforms need not know about operations.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.alerts import plan_alerts
from meshgen.platforms.base import Plan, PlannedObject, sort_objects
from meshgen.platforms.certificates import plan_certificates
from meshgen.platforms.control_plane import plan_control_plane
from meshgen.platforms.helm_values import values_files
from meshgen.platforms.ops_base import Section
from meshgen.platforms.telemetry import plan_telemetry

#: Platforms the operations planners know.
OPERATIONS_PLATFORMS = ("istio", "linkerd", "cilium")


def plan_section(platform_name: str, intent: MeshIntent, report: Report) -> Section:
    """Every concern's section for ``platform_name``, folded together (findings go to ``report``)."""
    section = Section()
    certs = plan_certificates(platform_name, intent, report)
    section.extend(certs)
    section.extend(plan_control_plane(platform_name, intent, report))
    section.extend(plan_telemetry(platform_name, intent, report))
    section.extend(plan_alerts(platform_name, intent, report, section.watches))
    return section


def plan_operations(platform_name: str, intent: MeshIntent) -> Plan:
    """Identity, HA, observability and alerts of ``intent`` on ``platform_name``. Pure.

    Namespace annotations (Linkerd's access logs) are not in the returned plan: they belong on
    the platform's Namespace objects, see :func:`combine`.

    Raises:
        KeyError: a platform the operations planners do not know.
    """
    if platform_name not in OPERATIONS_PLATFORMS:
        raise KeyError(f"no operations planner for platform {platform_name!r}")
    report = Report(platform_name)
    section = plan_section(platform_name, intent, report)
    return Plan(platform_name, sort_objects(section.objects), tuple(values_files(section.values)), report.sorted())


def combine(platform_plan: Plan, intent: MeshIntent) -> Plan:
    """The platform's plan plus :func:`plan_operations`: objects re-sorted, files and findings merged.

    Namespace annotations are added to the platform's Namespace objects; an annotation for a
    namespace the platform does not create becomes a finding telling the user to set it.
    """
    name = platform_plan.platform
    if name not in OPERATIONS_PLATFORMS:
        return platform_plan
    report = Report(name)
    section = plan_section(name, intent, report)
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
        report.approximated(Feature.ACCESS_LOGS, "mesh", f"meshgen does not create namespace {ns}: annotate it with {text}")
    objects.extend(section.objects)
    files = tuple(platform_plan.files) + tuple(values_files(section.values))
    paths = [f.path for f in files]
    if len(paths) != len(set(paths)):
        raise AssertionError(f"{name} and the operations planners both plan {sorted({p for p in paths if paths.count(p) > 1})}")
    findings = sorted(set(platform_plan.findings) | set(report.findings), key=lambda f: (f.subject, f.feature.value, f.detail))
    return Plan(
        name,
        sort_objects(objects),
        files,
        tuple(findings),
    )
