"""Present capability findings and the capability matrix, for people and for machines."""

from __future__ import annotations

import json
from typing import Iterable

from meshgen.capabilities import FEATURE_INTENT, Finding, Support

_LABEL = {Support.NATIVE: "native", Support.APPROXIMATED: "approximated", Support.NOT_EXPRESSIBLE: "LOST"}


def findings_text(platform: str, findings: Iterable[Finding]) -> str:
    """One line per finding: ``LOST  bookinfo/reviews  retry-budget: what happens``."""
    rows = list(findings)
    if not rows:
        return ""
    lines = [f"{platform}: {len(rows)} place{'s' if len(rows) != 1 else ''} where the intent is approximated or lost:"]
    for f in rows:
        lines.append(f"  {_LABEL[f.support]:<12} {f.subject:<28} {f.feature.value}: {f.detail}")
    return "\n".join(lines) + "\n"


def findings_json(platform: str, findings: Iterable[Finding]) -> str:
    """The findings as a JSON document: ``{"platform": ..., "findings": [...], "lost": n}``."""
    rows = [
        {"subject": f.subject, "feature": f.feature.value, "support": f.support.value, "detail": f.detail}
        for f in findings
    ]
    lost = sum(1 for r in rows if r["support"] == Support.NOT_EXPRESSIBLE.value)
    return json.dumps({"platform": platform, "lost": lost, "findings": rows}, indent=2, sort_keys=True) + "\n"


def matrix_rows() -> list[dict[str, str]]:
    """The whole capability matrix as rows (feature, intent field, one column per registered platform)."""
    from meshgen.platforms.registry import matrix

    rows = []
    for feature, cells in matrix().items():
        row = {"feature": feature.value, "intent": FEATURE_INTENT[feature]}
        for platform, cap in cells.items():
            row[platform] = cap.support.value
            row[f"{platform}_how"] = cap.how
        rows.append(row)
    return rows


def matrix_json() -> str:
    """The capability matrix as JSON."""
    return json.dumps(matrix_rows(), indent=2, sort_keys=True) + "\n"
