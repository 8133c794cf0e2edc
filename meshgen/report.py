"""Present capability findings and the capability matrix, for people and for machines."""

from __future__ import annotations

import json
from typing import Iterable, Mapping

from meshgen.capabilities import FEATURE_INTENT, Finding, Support, protocol_note
from meshgen.text import one_line

_LABEL = {Support.NATIVE: "native", Support.APPROXIMATED: "approximated", Support.NOT_EXPRESSIBLE: "LOST"}


def findings_text(platform: str, findings: Iterable[Finding], accepted: Mapping[Finding, str] | None = None) -> str:
    """One line per finding: ``LOST  bookinfo/reviews  retry-budget: what happens``.

    A loss in ``accepted`` (finding -> reason, see :mod:`meshgen.losses`) is labelled ``accepted``
    and followed by its reason. Subjects and details quote intent strings; control characters and
    line breaks in them are escaped (:func:`meshgen.text.one_line`), so no intent value can split
    a line or fake a finding.
    """
    rows = list(findings)
    if not rows:
        return ""
    accepted = accepted or {}
    lines = [f"{platform}: {len(rows)} place{'s' if len(rows) != 1 else ''} where the intent is approximated or lost:"]
    for f in rows:
        label = "accepted" if f in accepted else _LABEL[f.support]
        why = f" [{one_line(accepted[f])}]" if f in accepted else ""
        lines.append(f"  {label:<12} {one_line(f.subject):<28} {f.feature.value}: {one_line(f.detail)}{why}")
    return "\n".join(lines) + "\n"


def findings_json(platform: str, findings: Iterable[Finding], accepted: Mapping[Finding, str] | None = None) -> str:
    """The findings as a JSON document: ``{"platform": ..., "findings": [...], "lost": n, "accepted": n}``.

    ``lost`` counts the losses nobody accepted; an accepted finding carries ``"accepted": reason``.
    """
    accepted = accepted or {}
    findings = list(findings)
    rows = []
    for f in findings:
        row = {"subject": f.subject, "feature": f.feature.value, "support": f.support.value, "detail": f.detail}
        if f in accepted:
            row["accepted"] = accepted[f]
        rows.append(row)
    lost = sum(1 for f in findings if f.loses_intent and f not in accepted)
    doc = {"platform": platform, "lost": lost, "accepted": len(accepted), "findings": rows}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def matrix_rows() -> list[dict[str, str]]:
    """The whole capability matrix as rows: feature, intent field, and per registered platform P the
    level (``P``), how (``P_how``) and the protocols where the level differs (``P_protocols``,
    e.g. ``"tcp, tls: not-expressible"``; ``""`` when the same on every protocol)."""
    from meshgen.platforms.registry import matrix

    rows = []
    for feature, cells in matrix().items():
        row = {"feature": feature.value, "intent": FEATURE_INTENT[feature]}
        for platform, cap in cells.items():
            row[platform] = cap.support.value
            row[f"{platform}_how"] = cap.how
            # Where the level differs by port protocol: printed after the level by `meshgen platforms`.
            row[f"{platform}_protocols"] = protocol_note(cap)
        rows.append(row)
    return rows


def matrix_json() -> str:
    """The capability matrix as JSON."""
    return json.dumps(matrix_rows(), indent=2, sort_keys=True) + "\n"
