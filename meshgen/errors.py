"""Errors meshgen raises for users, and where in their files the problem is.

Nothing here prints: the CLI catches :class:`MeshgenError` once, prints it to stderr and maps it
to an exit code (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Documented exit codes of the ``meshgen`` command (README "Exit codes").
EXIT_OK = 0
EXIT_INVALID = 1  # invalid intent, invalid rendered output, or drift found by `check`
EXIT_USAGE = 2  # bad command line (Click's own code for usage errors)
EXIT_LOSS = 3  # the platform cannot express part of the intent and --allow-loss was not given


@dataclass(frozen=True)
class SourceLocation:
    """A position in an input file, 1-based as editors and CI annotations count; line 0 = unknown."""

    file: Path
    line: int
    column: int

    def __str__(self) -> str:
        # Line 0: the file is known but not the place (its positions could not be read).
        return f"{self.file}:{self.line}:{self.column}" if self.line > 0 else str(self.file)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an intent.

    Attributes:
        field: dotted field path in the intent's own (camelCase) keys, e.g.
            ``spec.services[2].retries.perTryTimeout``; empty for the whole document.
        message: what is wrong and what is expected.
        where: the position of the offending key or value, when known.
    """

    field: str
    message: str
    where: SourceLocation | None = None

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        field = f"{self.field}: " if self.field else ""
        return f"{prefix}{field}{self.message}"


class MeshgenError(Exception):
    """Base class of every error meshgen reports to a user."""

    exit_code = EXIT_INVALID


class IntentError(MeshgenError):
    """The intent is unreadable or asks for something invalid; carries every problem at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the intent:\n{lines}")


class IntentNotFoundError(IntentError):
    """An intent path that does not exist: a usage error (exit 2), as for any bad argument."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.args = ("\n".join(str(p) for p in problems),)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'timeout'?)`` when a choice is close to ``word`` (difflib ratio >= 0.6), else "".

    Used for unknown intent keys and platform names; the caller still lists every choice.
    """
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class UnknownPlatformError(MeshgenError):
    """A platform name that is not in the registry."""

    exit_code = EXIT_USAGE


class UsageError(MeshgenError):
    """The command line asks for something meshgen must not do (exit 2)."""

    exit_code = EXIT_USAGE


class OutputError(MeshgenError):
    """Rendered output failed validation, or the output directory cannot be written safely."""


class IntentLossError(MeshgenError):
    """The chosen platform cannot express part of the intent and the user did not allow loss."""

    exit_code = EXIT_LOSS
