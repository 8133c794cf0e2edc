"""``meshgen analyze``: checks over the whole call graph, each with a stable code.

Analyzers (registered in :mod:`meshgen.analyze.registry`, one module per family: traffic, security,
operations, routing; the operations family's rollout checks apart in :mod:`.rollouts`) read the
validated intent and its call graph (:mod:`meshgen.analyze.graph`) and yield
:class:`~meshgen.analyze.registry.Finding` objects. They never look at a platform's output: what
they check holds on every target (a few ask the platform a question: MG302, and the rollout checks
whether it measures requests at all). :func:`analyze` runs them all, applies suppressions (intent
fields ``services[].suppress`` and ``spec.suppress``, and ``--suppress`` on the command line) and
positions each finding in the intent files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from meshgen.analyze import operations, rollouts, routing, security, traffic  # noqa: F401 - registers the analyzers
from meshgen.analyze.graph import build
from meshgen.analyze.registry import ANALYZERS, Finding, Severity
from meshgen.errors import MeshgenError, SourceLocation
from meshgen.loader import LoadedIntent

__all__ = ["ANALYZERS", "Analysis", "AnalysisError", "Located", "Severity", "analyze", "parse_suppress"]


@dataclass(frozen=True)
class Located:
    """A finding with its place in the intent files.

    Attributes:
        finding: what the analyzer reported.
        field: the intent field path as written in the file that holds it (``spec.services[1].retries``).
        where: ``file:line:col`` of that field (1-based).
        suppressed: None, or ``(by, reason)``: ``by`` is ``intent`` or ``command line``.
    """

    finding: Finding
    field: str
    where: SourceLocation
    suppressed: tuple[str, str] | None = None

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def severity(self) -> Severity:
        return self.finding.severity

    def text(self) -> str:
        """``file:line:col: CODE severity: message``, control characters escaped (one finding, one line)."""
        return f"{_escape(str(self.where))}: {self.code} {self.severity.value}: {_escape(self.finding.message)}"


def _escape(text: str) -> str:
    # A newline or escape sequence from an intent string must not split or recolour a report line.
    if text.isprintable():  # the common case, checked in C: nothing to escape (issue 17)
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


@dataclass(frozen=True)
class Analysis:
    """Every finding of one run: the reported ones and the suppressed ones, in intent order."""

    findings: tuple[Located, ...]
    suppressed: tuple[Located, ...]

    def at_least(self, severity: Severity) -> list[Located]:
        """Reported findings of ``severity`` or worse."""
        return [f for f in self.findings if f.severity.rank >= severity.rank]

    def counts(self) -> dict[str, int]:
        """``{"error": n, "warning": n, "info": n, "suppressed": n}``."""
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        out["suppressed"] = len(self.suppressed)
        return out

    def summary(self) -> str:
        """``2 errors, 1 warning, 0 infos (3 suppressed)``."""
        c = self.counts()

        def n(k: str) -> str:
            return f"{c[k]} {k}{'s' if c[k] != 1 else ''}"

        return f"{n('error')}, {n('warning')}, {n('info')} ({c['suppressed']} suppressed)"


class AnalysisError(MeshgenError):
    """Analyzers found errors: the intent is refused as an invalid one is (exit code 1)."""

    def __init__(self, errors: Sequence[Located]) -> None:
        self.errors = list(errors)
        count = len(errors)
        lines = "\n".join(f.text() for f in errors)
        super().__init__(
            f"{count} analyzer error{'s' if count != 1 else ''} in the intent (see docs/analyzers.md; "
            f"suppress with services[].suppress and a reason):\n{lines}"
        )


def parse_suppress(values: Iterable[str]) -> list[tuple[str, str | None]]:
    """``--suppress`` values ``CODE`` or ``CODE=namespace/service`` as ``(code, "ns/name" or None)``.

    Raises:
        ValueError: an unknown code or a malformed service.
    """
    out = []
    for value in values:
        code, _, service = value.partition("=")
        if code not in ANALYZERS:
            raise ValueError(f"unknown analyzer code {code!r}; expected one of: {', '.join(sorted(ANALYZERS))}")
        if service and service.count("/") != 1:
            raise ValueError(f"--suppress {value}: name the service as namespace/name")
        out.append((code, service or None))
    return out


def run(loaded_intent, platform: str | None = None) -> list[Finding]:
    """Every finding of every analyzer on a validated intent, ordered by code (unpositioned).

    ``platform``: the target being rendered (default ``spec.platform``), for the few analyzers
    that ask the platform a question (MG302, MG304, MG305, MG307).
    """
    graph = build(loaded_intent)
    graph.platform = platform or loaded_intent.spec.platform
    out: list[Finding] = []
    for code in sorted(ANALYZERS):
        out.extend(ANALYZERS[code].run(graph))
    return out


def analyze(
    loaded: LoadedIntent, suppress: Sequence[tuple[str, str | None]] = (), platform: str | None = None
) -> Analysis:
    """Run every analyzer on ``loaded``, apply suppressions, and position the findings.

    Args:
        loaded: a validated intent and its source files.
        suppress: command-line suppressions from :func:`parse_suppress`.
        platform: the target being rendered, when not ``spec.platform`` (``render -p``).

    Returns:
        The findings, sorted by file, line, column and code; suppressed findings apart.
    """
    intent = loaded.intent
    findings = run(intent, platform)
    by_service = {
        (s.namespace or "", s.name): {x.code: x.reason for x in s.suppress} for s in intent.spec.services if s.suppress
    }
    wide = {x.code: x.reason for x in intent.spec.suppress}
    placed = loaded.sources.locate_many([f.path for f in findings]) if findings else []
    loaded.sources.forget_nodes()  # kept (load(keep_nodes=True)) only for the line above
    shown, hidden = [], []
    for finding, (field, where) in zip(findings, placed):
        why = None
        if finding.service is not None and finding.code in by_service.get(finding.service, {}):
            why = ("intent", by_service[finding.service][finding.code])
        elif finding.code in wide:
            why = ("intent", wide[finding.code])
        else:
            for code, service in suppress:
                if code == finding.code and (
                    service is None or (finding.service and "/".join(finding.service) == service)
                ):
                    why = ("command line", f"--suppress {code}{'=' + service if service else ''}")
                    break
        located = Located(finding, field, where, why)
        (hidden if why else shown).append(located)

    def order(f: Located):
        return (str(f.where.file), f.where.line, f.where.column, f.code, f.finding.message)

    return Analysis(tuple(sorted(shown, key=order)), tuple(sorted(hidden, key=order)))
