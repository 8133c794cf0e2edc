"""Helpers shared by the workflow tests: run the CLI, snapshot a folder byte for byte, kubectl."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshgen.cli import app


def run(*args: str | Path):
    """Invoke ``meshgen`` in-process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def tree(folder: Path) -> dict[str, tuple]:
    """Everything observable in ``folder``: per relative path, its type, mode and bytes or target."""
    out: dict[str, tuple] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            info = path.lstat()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                out[rel] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
    return out


def kubectl() -> str:
    """The kubectl binary; fails (not skips) when missing: .ci/run installs Debian's kubernetes-client."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail(
            "kubectl not found on PATH: install Debian's kubernetes-client (.ci/run does) to run kustomize tests"
        )
    return found


def round_trip(tmp_path: Path, source: str | Path, platform: str, *flags: str):
    """render(import(render(source))) on ``platform``: render with ``--output``, import the render
    (platform guessed), and ``meshgen check`` the imported intent against it. ``flags`` (e.g.
    ``--allow-loss``) go to render and check. Asserts each step exits 0 and check reports nothing
    (identical bytes); returns the import's Result for platform-specific assertions."""
    out = tmp_path / "out"
    rendered = run("render", source, "--platform", platform, *flags, "--output", out)
    assert rendered.exit_code == 0, rendered.stderr
    imported = run("import", out / platform)
    assert imported.exit_code == 0, imported.stderr
    intent = tmp_path / "imported.yaml"
    intent.write_text(imported.stdout)
    checked = run("check", intent, "--platform", platform, *flags, "--output", out)
    assert checked.exit_code == 0, checked.stdout[:2000] + checked.stderr
    assert checked.stdout == ""
    return imported


def import_stops(tmp_path: Path, example: str, platform: str, step: str, code: int, *import_flags: str):
    """Render ``examples/<example>`` on ``platform`` and import it: the ``step`` ("render" or
    "import") exits ``code``; a refused import writes nothing. Returns the import's Result (None
    when render stopped)."""
    out = tmp_path / "out"
    rendered = run("render", f"examples/{example}/intent.yaml", "--platform", platform, "--output", out)
    if step == "render":
        assert rendered.exit_code == code
        return None
    assert rendered.exit_code == 0
    imported = run("import", out / platform, *import_flags)
    assert imported.exit_code == code
    assert imported.stdout == ""
    return imported


def lossy_round_trip(tmp_path: Path, example: str, platform: str, *import_flags: str):
    """render(import(render(I))) where the first render reports losses: render
    ``examples/<example>`` on ``platform`` with ``--allow-loss``, import the render (platform
    guessed; ``import_flags`` e.g. ``--allow-loss`` when the import itself reports a loss), and
    ``meshgen check`` the imported intent against it with ``--allow-loss``. Asserts render and
    import exit 0 and check exits 0 (identical bytes) or 1 (drift). Returns render's and import's
    Results (their stderr holds the reported losses) and the files check names, aligned as check
    prints them (``"changed  shop/x.yaml"``, ``"missing  ..."``, ``"stale    ..."``, paths under
    ``out/<platform>``; empty when identical), for the caller to compare with a hand-listed set,
    each file explained by a reported loss."""
    out = tmp_path / "out"
    rendered = run("render", f"examples/{example}/intent.yaml", "--platform", platform, "--allow-loss", "--output", out)
    assert rendered.exit_code == 0, rendered.stderr
    imported = run("import", out / platform, *import_flags)
    assert imported.exit_code == 0, imported.stderr
    intent = tmp_path / "imported.yaml"
    intent.write_text(imported.stdout)
    checked = run("check", intent, "--platform", platform, "--allow-loss", "--output", out)
    prefix = f"{out / platform}/"
    listed = set()
    for line in checked.stderr.splitlines():
        if line.startswith(("  missing ", "  changed ", "  stale ")):
            label, path = line.split(None, 1)
            listed.add(f"{label:<9}{path.strip().removeprefix(prefix)}")  # as check aligns them
    assert checked.exit_code == (1 if listed else 0), checked.stdout[:2000] + checked.stderr
    if not listed:
        assert checked.stdout == ""
    return rendered, imported, listed
