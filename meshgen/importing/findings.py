"""What an import could not carry over, per source object, with the render's conventions.

Severities mirror render's findings: ``LOST`` (dropped: the intent cannot say it; exit 3 unless
``--allow-loss``), ``approximated`` (carried over with a stated difference) and ``not-understood``
(an object no importer reads; counted as lost, because ignoring it would drop intent silently).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshgen.importing.reader import SourceObject

LOST = "LOST"
APPROXIMATED = "approximated"
NOT_UNDERSTOOD = "not-understood"


@dataclass(frozen=True, order=True)
class ImportFinding:
    """One statement about a source object.

    Attributes:
        file, line: where the field (or object) is, 1-based.
        ref: ``Kind namespace/name`` of the source object.
        field: dotted path below the object, e.g. ``spec.http[0].corsPolicy`` ('' = whole object).
        severity: :data:`LOST`, :data:`APPROXIMATED` or :data:`NOT_UNDERSTOOD`.
        message: what was dropped or how it was approximated, in words.
    """

    file: str
    line: int
    ref: str
    field: str
    severity: str
    message: str

    @property
    def is_loss(self) -> bool:
        """Whether this finding refuses the import without ``--allow-loss``."""
        return self.severity in (LOST, NOT_UNDERSTOOD)

    def text(self) -> str:
        """``file:line: SEVERITY Kind ns/name field: message``, one line."""
        where = f" {self.field}" if self.field else ""
        return f"{self.file}:{self.line}: {self.severity} {self.ref}{where}: {self.message}"


@dataclass
class Findings:
    """The findings of one import, collected while the importer walks the objects."""

    items: list[ImportFinding] = field(default_factory=list)

    def add(self, obj: SourceObject, path: tuple, severity: str, message: str) -> None:
        """Record ``message`` about ``obj`` at field ``path`` (a tuple of keys and indexes)."""
        self.items.append(ImportFinding(obj.file, obj.line_of(*path), obj.ref, dotted(path), severity, message))

    def lost(self, obj: SourceObject, path: tuple, message: str) -> None:
        """Something the intent cannot say was dropped."""
        self.add(obj, path, LOST, message)

    def approximated(self, obj: SourceObject, path: tuple, message: str) -> None:
        """Carried over with a difference the message states."""
        self.add(obj, path, APPROXIMATED, message)

    def sorted(self) -> list[ImportFinding]:
        """Findings in file, line order (deterministic)."""
        return sorted(set(self.items))


def dotted(path: tuple) -> str:
    """``("spec", "http", 0, "match")`` -> ``spec.http[0].match``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
