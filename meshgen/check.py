"""``meshgen check``: does the output directory hold exactly what ``meshgen render`` would write?

The comparison is :func:`meshgen.output.compare` on the same in-memory rendering that render
writes, so check and render can never disagree about which files are meshgen's or what they should
contain. Drift is shown as a unified diff (``a/`` = the directory, ``b/`` = a fresh render), the
format ``git diff`` and CI logs show; files meshgen did not write are never part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from meshgen.output import FolderChanges, RenderedFile, compare, interrupted_swap


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one platform folder.

    Attributes:
        folder: ``DIR/<platform>``.
        changes: what differs (see :class:`meshgen.output.FolderChanges`).
        diff: unified diff from the folder to the fresh rendering; empty when up to date.
        interrupted: the previous output's backup when the last render was killed between its two
            renames (the folder is then missing; see :func:`meshgen.output.interrupted_swap`).
    """

    folder: Path
    changes: FolderChanges
    diff: str
    interrupted: Path | None = None

    @property
    def ok(self) -> bool:
        """Whether the folder is exactly what render would write."""
        return not self.changes.drifted and self.interrupted is None

    def summary(self) -> str:
        """One line per drifted file, e.g. ``changed  deploy/istio/shop/service-api.yaml``."""
        c = self.changes
        if self.interrupted is not None:
            return (
                f"{self.folder} is missing: the last meshgen render was interrupted while swapping in the new "
                f"folder; the previous output is intact in {self.interrupted}. Run meshgen render with the same "
                "arguments to restore it and finish"
            )
        if self.ok:
            return f"{self.folder} is up to date ({len(c.unchanged)} generated files)"
        lines = [f"{self.folder} is out of date: run meshgen render with the same arguments to update it"]
        for label, paths in (("missing", c.added), ("changed", c.changed), ("stale", c.stale)):
            lines += [f"  {label:<8} {self.folder / p}" for p in paths]
        lines += [f"  blocked  {self.folder / p} (a file meshgen did not write is in the way)" for p in c.clashes]
        lines += [
            f"  special  {self.folder / p} (a {kind}: never opened; render refuses to write until it is moved away)"
            for p, kind in c.special
        ]
        return "\n".join(lines)


def check_folder(folder: Path, files: Sequence[RenderedFile]) -> CheckResult:
    """Compare ``folder`` with a rendering and build the diff; reads, never writes.

    An interrupted swap (see :func:`meshgen.output.interrupted_swap`) is reported as such, without
    a diff: every file would otherwise show as missing.
    """
    backup = interrupted_swap(folder)
    if backup is not None:
        return CheckResult(folder, compare(folder, []), "", backup)
    changes = compare(folder, files)
    return CheckResult(folder, changes, unified_diff(folder, files, changes) if changes.drifted else "")


def unified_diff(folder: Path, files: Sequence[RenderedFile], changes: FolderChanges) -> str:
    """The drift of ``changes`` as one unified diff, files in path order."""
    new = {f.path: f.text for f in files}
    chunks: list[str] = []
    for rel in sorted({*changes.added, *changes.changed, *changes.stale}):
        shown = (folder / rel).as_posix()
        before = (folder / rel).read_text(encoding="utf-8", errors="replace") if rel not in changes.added else ""
        after = new.get(rel, "")
        chunks.append(
            _diff(
                before,
                after,
                "/dev/null" if rel in changes.added else f"a/{shown}",
                "/dev/null" if rel in changes.stale else f"b/{shown}",
            )
        )
    return "".join(chunks)


def _diff(before: str, after: str, old_name: str, new_name: str) -> str:
    import difflib  # only on drift: an up-to-date check stays as small as a render

    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), old_name, new_name)
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
