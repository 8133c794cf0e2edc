"""Present capability findings and the capability matrix, for people and for machines."""

from __future__ import annotations

import json
from typing import Iterable, Mapping

from meshgen.capabilities import FEATURE_INTENT, Finding, Severity, Support, protocol_note
from meshgen.text import one_line

_LABEL = {Support.NATIVE: "native", Support.APPROXIMATED: "approximated", Support.NOT_EXPRESSIBLE: "LOST"}

#: Above this many findings, the text report groups them per feature (critical ones stay one a line).
GROUP_ABOVE = 20

#: How many subjects a grouped line names before "and N more".
GROUP_NAMES = 3


def label(finding: Finding, accepted: Mapping[Finding, str]) -> str:
    """The word in the report's first column: ``accepted``, ``LOST``, ``CRITICAL``, ``info`` or ``approximated``."""
    if finding in accepted:
        return "accepted"
    if finding.loses_intent:
        return "LOST"
    if finding.severity is Severity.CRITICAL:
        return "CRITICAL"
    if finding.severity is Severity.INFO:
        return "info"
    return _LABEL[finding.support]


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """``findings`` most severe first (critical, error, warning, info), keeping their order within a severity."""
    return sorted(findings, key=lambda f: f.severity.rank)


def findings_text(
    platform: str,
    findings: Iterable[Finding],
    accepted: Mapping[Finding, str] | None = None,
    group_above: int = GROUP_ABOVE,
) -> str:
    """The findings for people: most severe first, one line each, or grouped per feature on large intents.

    A line is ``LABEL  SUBJECT  FEATURE: DETAIL``, LABEL from :func:`label`; ``CRITICAL`` lines (an
    outage waiting to happen, :class:`~meshgen.capabilities.Severity`) come first and the header
    counts them. A loss in ``accepted`` (finding -> reason, see :mod:`meshgen.losses`) is labelled
    ``accepted`` and followed by its reason.

    With more than ``group_above`` findings (default :data:`GROUP_ABOVE`), critical findings stay one
    a line and the others are grouped by label and feature: ``LOST  rate-limit (12): shop/a, shop/b,
    shop/c and 9 more; first: DETAIL`` (``--report json`` lists each). Subjects and details quote
    intent strings; control characters and line breaks in them are escaped
    (:func:`meshgen.text.one_line`), so no intent value can split a line or fake a finding.
    """
    rows = by_severity(findings)
    if not rows:
        return ""
    accepted = accepted or {}
    critical = sum(1 for f in rows if f.severity is Severity.CRITICAL)
    grouped = len(rows) > group_above
    head = f"{platform}: {len(rows)} place{'s' if len(rows) != 1 else ''} where the intent is approximated or lost"
    if critical:
        head += f" ({critical} critical: an outage waiting to happen)"
    if grouped:
        head += ", grouped per feature (--report json lists each)"
    lines = [head + ":"]
    if not grouped:
        lines.extend(_line(f, accepted) for f in rows)
        return "\n".join(lines) + "\n"
    lines.extend(_line(f, accepted) for f in rows if f.severity is Severity.CRITICAL)
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in rows:
        if f.severity is not Severity.CRITICAL:
            groups.setdefault((label(f, accepted), f.feature.value), []).append(f)
    for (word, feature), members in groups.items():
        subjects = list(dict.fromkeys(one_line(f.subject) for f in members))
        named = ", ".join(subjects[:GROUP_NAMES])
        if len(subjects) > GROUP_NAMES:
            named += f" and {len(subjects) - GROUP_NAMES} more"
        first = members[0]
        why = f" [{one_line(accepted[first])}]" if first in accepted else ""
        lines.append(f"  {word:<12} {feature} ({len(members)}): {named}; first: {one_line(first.detail)}{why}")
    return "\n".join(lines) + "\n"


def _line(f: Finding, accepted: Mapping[Finding, str]) -> str:
    why = f" [{one_line(accepted[f])}]" if f in accepted else ""
    return f"  {label(f, accepted):<12} {one_line(f.subject):<28} {f.feature.value}: {one_line(f.detail)}{why}"


def findings_document(platform: str, findings: Iterable[Finding], accepted: Mapping[Finding, str] | None = None) -> dict:
    """The findings as plain data, for ``--report json`` and ``--report-file``.

    Shape: ``{"platform": str, "lost": int, "accepted": int, "critical": int, "findings": [{"subject",
    "feature", "support", "severity", "detail"[, "accepted": reason]}, ...]}``, findings most severe
    first. ``lost`` counts the losses nobody accepted (the render is refused when it is not 0);
    ``critical`` the findings of severity critical.
    """
    accepted = accepted or {}
    findings = by_severity(findings)
    rows = []
    for f in findings:
        row = {
            "subject": f.subject, "feature": f.feature.value, "support": f.support.value,
            "severity": f.severity.value, "detail": f.detail,
        }
        if f in accepted:
            row["accepted"] = accepted[f]
        rows.append(row)
    lost = sum(1 for f in findings if f.loses_intent and f not in accepted)
    critical = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    return {"platform": platform, "lost": lost, "accepted": len(accepted), "critical": critical, "findings": rows}


def findings_json(platform: str, findings: Iterable[Finding], accepted: Mapping[Finding, str] | None = None) -> str:
    """:func:`findings_document` as indented JSON with sorted keys and a final newline."""
    return json.dumps(findings_document(platform, findings, accepted), indent=2, sort_keys=True) + "\n"


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
