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
