"""``meshgen analyze`` output: text for people, JSON for scripts, SARIF 2.1.0 for code scanning.

SARIF follows the OASIS standard (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html):
one run, the analyzers as ``tool.driver.rules``, one ``result`` per finding with the intent file
and ``region.startLine``/``startColumn``; suppressed findings carry ``suppressions`` (kind
``inSource`` for the intent field, ``external`` for ``--suppress``), as GitHub code scanning reads them.
"""

from __future__ import annotations

import json
from pathlib import Path

from meshgen.analyze import Analysis, Located
from meshgen.analyze.registry import ANALYZERS, Severity

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
DOCS = "docs/analyzers.md"
_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}


def text(analysis: Analysis) -> str:
    """One line per finding (``file:line:col: CODE severity: message``), then the summary line."""
    lines = [f.text() for f in analysis.findings]
    lines.append(analysis.summary())
    return "\n".join(lines) + "\n"


def _row(f: Located) -> dict:
    row = {
        "code": f.code,
        "severity": f.severity.value,
        "message": f.finding.message,
        "field": f.field,
        "file": str(f.where.file),
        "line": f.where.line,
        "column": f.where.column,
        "service": "/".join(f.finding.service) if f.finding.service else None,
    }
    if f.suppressed is not None:
        row["suppressedBy"], row["reason"] = f.suppressed
    return row


def to_json(analysis: Analysis) -> str:
    """``{"findings": [...], "suppressed": [...], "summary": {...}}``, keys sorted, for scripts."""
    doc = {
        "findings": [_row(f) for f in analysis.findings],
        "suppressed": [_row(f) for f in analysis.suppressed],
        "summary": analysis.counts(),
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _uri(path: Path) -> str:
    return path.resolve().as_uri() if path.is_absolute() else path.as_posix()


def to_sarif(analysis: Analysis, version: str) -> str:
    """A SARIF 2.1.0 log of ``analysis`` (schema-valid; see the module docstring)."""
    codes = sorted(ANALYZERS)
    rules = []
    for code in codes:
        a = ANALYZERS[code]
        rules.append(
            {
                "id": code,
                "name": a.name,
                "shortDescription": {"text": a.summary},
                "help": {"text": f"{a.summary} See {DOCS}#{code.lower()} for an example and the fix."},
                "defaultConfiguration": {"level": _LEVEL[a.severities[0]]},
                "properties": {"family": a.family},
            }
        )
    results = []
    for f in (*analysis.findings, *analysis.suppressed):
        result = {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code),
            "level": _LEVEL[f.severity],
            "message": {"text": f.finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(f.where.file)},
                        "region": {"startLine": f.where.line, "startColumn": f.where.column},
                    },
                    "logicalLocations": [{"fullyQualifiedName": f.field, "kind": "member"}],
                }
            ],
        }
        if f.suppressed is not None:
            by, reason = f.suppressed
            result["suppressions"] = [{"kind": "inSource" if by == "intent" else "external", "justification": reason}]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "meshgen",
                        "version": version,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"
