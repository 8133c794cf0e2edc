"""The analyzers' codes, and what a finding is.

Every analyzer has a stable code (``MG1xx`` traffic and resilience, ``MG2xx`` security, ``MG3xx``
operations, ``MG4xx`` routing), a short name and one line of summary; docs/analyzers.md explains
each with an example intent and the fix, and README lists them (a test keeps all three in sync).
Codes are never reused: a retired analyzer keeps its number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

Path = tuple[str | int, ...]


class Severity(str, Enum):
    """How bad a finding is. ``error`` blocks ``render`` and ``check``; the others are printed."""

    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        """2 error, 1 warning, 0 info (for thresholds)."""
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class Finding:
    """One problem an analyzer found, before it is positioned.

    Attributes:
        code: the analyzer's code, e.g. ``MG102``.
        severity: error, warning or info.
        message: what is wrong, where in the call graph, and the fix (one line, no newline).
        path: the intent field that causes it, as a path of the merged intent
            (``("spec", "services", 3, "retries")``); the loader turns it into ``file:line:col``.
        service: ``(namespace, name)`` of the service the finding belongs to (suppressions are per
            service), or None for intent-wide findings (mesh settings, gateways, control plane).
    """

    code: str
    severity: Severity
    message: str
    path: Path
    service: tuple[str, str] | None = None


@dataclass(frozen=True)
class Analyzer:
    """A registered analyzer: its code, name, family, default severity and check function."""

    code: str
    name: str
    summary: str
    severities: tuple[Severity, ...]
    run: Callable[..., Iterable[Finding]] = field(compare=False)

    @property
    def family(self) -> str:
        """traffic, security, operations or routing (from the code's hundreds digit)."""
        return FAMILIES[self.code[2]]


FAMILIES = {"1": "traffic", "2": "security", "3": "operations", "4": "routing"}

#: code -> analyzer, filled by the analyzer modules as they are imported (see :mod:`meshgen.analyze`).
ANALYZERS: dict[str, Analyzer] = {}


def analyzer(code: str, name: str, summary: str, *severities: Severity):
    """Register the decorated ``run(graph) -> Iterable[Finding]`` under ``code``.

    Raises:
        ValueError: the code is taken or malformed (at import time, so a test catches it).
    """

    def register(run):
        if code in ANALYZERS or len(code) != 5 or not code.startswith("MG") or code[2] not in FAMILIES:
            raise ValueError(f"analyzer code {code} is taken or malformed")
        ANALYZERS[code] = Analyzer(code, name, summary, severities or (Severity.warning,), run)
        return run

    return register


class _Codes:
    """The set of registered codes, importing the analyzers on first use (intent validation needs it)."""

    def __contains__(self, code: object) -> bool:
        return code in _loaded()

    def __iter__(self):
        return iter(sorted(_loaded()))


def _loaded() -> dict[str, Analyzer]:
    import meshgen.analyze  # noqa: F401 - registers every analyzer

    return ANALYZERS


#: Every registered code (for ``suppress`` validation).
CODES = _Codes()
