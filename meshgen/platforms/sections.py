"""Shared shapes of a platform's operations planners (certificates, control plane, telemetry, alerts).

Each planner returns a :class:`Section`: Kubernetes objects, Helm values fragments per chart
(see :mod:`meshgen.platforms.helm_values`), certificate expiry watches for the alerts planner,
and namespace annotations (Linkerd's access-log switch) that :mod:`meshgen.platforms.operations`
puts on the platform's Namespace objects. A platform's ``operations()`` folds its planners'
sections into one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from meshgen.capabilities import Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.helm_values import merge

DAY_S = 86_400


def control_plane_namespace(intent: MeshIntent, default: str) -> str:
    """The control plane's namespace: ``mesh.controlPlane.namespace``, else the platform's ``default``."""
    return intent.spec.mesh.control_plane.namespace or default


@dataclass(frozen=True)
class ExpiryWatch:
    """A certificate whose expiry the alerts planner watches.

    Attributes:
        level: ``root``, ``issuer`` or ``workload`` (the alert's ``certificate`` label).
        what: human name, e.g. ``Istio root CA istio-root-ca (cert-manager/istio-root-ca)``.
        remaining: PromQL giving the seconds left before expiry (one series per certificate).
        threshold_s: fire when fewer seconds than this are left.
        why: one sentence on why this threshold (what should have happened by then).
    """

    level: str
    what: str
    remaining: str
    threshold_s: int
    why: str


@dataclass
class Section:
    """What one concern plans for one platform."""

    objects: list[PlannedObject] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    watches: list[ExpiryWatch] = field(default_factory=list)
    namespace_annotations: dict[str, dict[str, str]] = field(default_factory=dict)

    def add_values(self, chart: str, fragment: dict[str, Any]) -> None:
        """Merge a values fragment into ``chart``'s values."""
        merge(self.values.setdefault(chart, {}), fragment)

    def extend(self, other: Section) -> None:
        """Fold another section into this one."""
        self.objects.extend(other.objects)
        for chart, fragment in other.values.items():
            self.add_values(chart, fragment)
        self.watches.extend(other.watches)
        for ns, wanted in other.namespace_annotations.items():
            merge(self.namespace_annotations.setdefault(ns, {}), wanted)


def human_seconds(seconds: int) -> str:
    """``2592000`` -> ``30d``, ``45000`` -> ``12h30m``: for alert texts."""
    days, rest = divmod(int(seconds), DAY_S)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return "".join(parts) or f"{int(seconds)}s"


def duration_text(ms: int) -> str:
    """A Go duration for Helm values and cert-manager (``8760h``, ``1h30m``, ``45s``)."""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


#: An operations planner: (intent, report, control-plane namespace) -> its section.
Planner = Callable[[MeshIntent, Report, str], Section]
#: The alerts planner also reads the expiry watches the other planners recorded.
AlertsPlanner = Callable[[MeshIntent, Report, str, list[ExpiryWatch]], Section]


def compose(intent: MeshIntent, report: Report, cp_ns: str, planners: Sequence[Planner], alerts: AlertsPlanner) -> Section:
    """Run a platform's operations ``planners`` in order, then ``alerts`` on their watches; one section."""
    out = Section()
    for planner in planners:
        out.extend(planner(intent, report, cp_ns))
    out.extend(alerts(intent, report, cp_ns, out.watches))
    return out
