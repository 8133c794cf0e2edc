"""``meshgen diff``: what changes for one intent when it moves from one platform to another.

Both sides are planned from the same intent; the comparison uses only what the plans say: their
capability findings (:class:`meshgen.capabilities.Finding`, support levels from the MATRIX) and the
objects they emit. It therefore grows with the capability data: a platform added to the registry
or a MATRIX cell corrected changes the diff without touching this module.

A platform records a finding only where it is not native, so a (subject, feature) pair with a
finding on one side and none on the other is native on that other side: the intent uses the
feature (the first side met it) and the second platform expressed it without remark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from meshgen.capabilities import FEATURE_INTENT, Feature, Finding, Support
from meshgen.platforms.base import Plan

_RANK = {Support.NATIVE: 0, Support.APPROXIMATED: 1, Support.NOT_EXPRESSIBLE: 2}

#: Kinds of change, worst first (the order of the table).
CHANGES = ("lost", "approximated", "improved", "gained", "unchanged")


@dataclass(frozen=True)
class FeatureChange:
    """How one feature of one subject fares on each side.

    Attributes:
        subject: ``bookinfo/reviews`` (a service), ``gateway bookinfo/public``, ``mesh``.
        feature: the capability matrix row.
        before, after: support on the ``--from`` and ``--to`` platform.
        change: ``lost`` (not expressible on --to, expressible on --from), ``approximated``
            (native on --from, approximated on --to), ``improved`` (lost on --from, approximated
            on --to), ``gained`` (approximated or lost on --from, native on --to), ``unchanged``
            (the same non-native level on both sides).
        before_detail, after_detail: what happens to the intent on each side ("" when native).
    """

    subject: str
    feature: Feature
    before: Support
    after: Support
    change: str
    before_detail: str
    after_detail: str


@dataclass(frozen=True)
class ObjectRef:
    """An emitted object: ``apiVersion``, ``kind``, namespace (None = cluster-scoped) and name."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class PlatformDiff:
    """The whole comparison: feature changes in table order, and each side's objects."""

    source: str
    target: str
    features: tuple[FeatureChange, ...]
    source_objects: tuple[ObjectRef, ...]
    target_objects: tuple[ObjectRef, ...]

    def counts(self) -> dict[str, int]:
        """Number of feature changes of each kind (every kind of :data:`CHANGES` present)."""
        return {kind: sum(1 for f in self.features if f.change == kind) for kind in CHANGES}

    def kinds(self) -> list[tuple[str, str, int, int]]:
        """``(apiVersion, kind, count on --from, count on --to)`` per object kind, sorted."""
        keys = sorted({(o.api_version, o.kind) for o in (*self.source_objects, *self.target_objects)})
        return [
            (api, kind, _count(self.source_objects, api, kind), _count(self.target_objects, api, kind))
            for api, kind in keys
        ]


def _count(objects: Iterable[ObjectRef], api: str, kind: str) -> int:
    return sum(1 for o in objects if o.api_version == api and o.kind == kind)


def _levels(findings: Iterable[Finding]) -> dict[tuple[str, Feature], tuple[Support, str]]:
    """Worst support and joined details per (subject, feature)."""
    out: dict[tuple[str, Feature], tuple[Support, str]] = {}
    for f in findings:
        key = (f.subject, f.feature)
        if key not in out:
            out[key] = (f.support, f.detail)
            continue
        support, detail = out[key]
        worst = f.support if _RANK[f.support] > _RANK[support] else support
        details = detail if f.detail in detail.split("; ") else f"{detail}; {f.detail}"
        out[key] = (worst, details)
    return out


def _change(before: Support, after: Support) -> str:
    if _RANK[after] > _RANK[before]:
        return "lost" if after is Support.NOT_EXPRESSIBLE else "approximated"
    if _RANK[after] < _RANK[before]:
        return "gained" if after is Support.NATIVE else "improved"
    return "unchanged"


def compare_plans(source: Plan, target: Plan) -> PlatformDiff:
    """Compare two plans of one intent (``source`` = ``--from``, ``target`` = ``--to``)."""
    before, after = _levels(source.findings), _levels(target.findings)
    rows = []
    for key in set(before) | set(after):
        b_support, b_detail = before.get(key, (Support.NATIVE, ""))
        a_support, a_detail = after.get(key, (Support.NATIVE, ""))
        rows.append(
            FeatureChange(key[0], key[1], b_support, a_support, _change(b_support, a_support), b_detail, a_detail)
        )
    rows.sort(key=lambda r: (CHANGES.index(r.change), r.subject, r.feature.value))
    return PlatformDiff(source.platform, target.platform, tuple(rows), _refs(source), _refs(target))


def _refs(plan: Plan) -> tuple[ObjectRef, ...]:
    return tuple(ObjectRef(o.api_version, o.kind, o.namespace, o.name) for o in plan.objects)


_LABEL = {Support.NATIVE: "native", Support.APPROXIMATED: "approximated", Support.NOT_EXPRESSIBLE: "lost"}


def diff_json(diff: PlatformDiff) -> str:
    """The diff as a JSON document for machines (stable key order)."""
    doc = {
        "from": diff.source,
        "to": diff.target,
        "summary": diff.counts(),
        "features": [
            {
                "subject": f.subject,
                "feature": f.feature.value,
                "intent": FEATURE_INTENT[f.feature],
                "change": f.change,
                "from": {"support": f.before.value, "detail": f.before_detail},
                "to": {"support": f.after.value, "detail": f.after_detail},
            }
            for f in diff.features
        ],
        "objects": {
            "kinds": [
                {"apiVersion": api, "kind": kind, "from": n_from, "to": n_to}
                for api, kind, n_from, n_to in diff.kinds()
            ],
            "from": [_ref_json(o) for o in diff.source_objects],
            "to": [_ref_json(o) for o in diff.target_objects],
        },
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _ref_json(o: ObjectRef) -> dict[str, str | None]:
    return {"apiVersion": o.api_version, "kind": o.kind, "namespace": o.namespace, "name": o.name}


def diff_tables(diff: PlatformDiff, *, show_unchanged: bool = True) -> list:
    """Rich renderables for people: a summary line, the feature table, the object-kind table."""
    from rich.table import Table
    from rich.text import Text

    counts = diff.counts()
    summary = Text(
        f"{diff.source} -> {diff.target}: "
        + ", ".join(f"{counts[k]} {k}" for k in CHANGES)
        + f"; {len(diff.source_objects)} -> {len(diff.target_objects)} objects"
    )
    out: list = [summary]
    rows = [f for f in diff.features if show_unchanged or f.change != "unchanged"]
    if rows:
        table = Table(title=f"Features: {diff.source} -> {diff.target}", title_justify="left")
        for column in ("change", "subject", "feature", diff.source, diff.target, f"what happens on {diff.target}"):
            table.add_column(column, overflow="fold")
        for f in rows:
            detail = f.after_detail or (f"native (was: {f.before_detail})" if f.change == "gained" else "")
            table.add_row(f.change, f.subject, f.feature.value, _LABEL[f.before], _LABEL[f.after], detail)
        out.append(table)
    kinds = Table(title="Objects emitted", title_justify="left")
    for column in ("apiVersion", "kind", diff.source, diff.target):
        kinds.add_column(column, justify="right" if column in (diff.source, diff.target) else "left")
    for api, kind, n_from, n_to in diff.kinds():
        kinds.add_row(api, kind, str(n_from), str(n_to))
    out.append(kinds)
    return out
