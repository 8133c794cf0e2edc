"""The output folder as an attacker (or an accident) leaves it (issue 18 item 3).

A named pipe in the folder used to hang render and check forever (every file was opened); a run
killed between its two renames made check report every file missing.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import pytest

from tests.conftest import MINIMAL, REPO, write_intent
from tests.workflow_helpers import run


def tree(folder):
    """Like workflow_helpers.tree, but a named pipe or socket is recorded, not read (reading blocks)."""
    out = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    out[path] = ("file", info.st_mode, handle.read())
            else:
                out[path] = ("other", info.st_mode)
    return out


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_intent(tmp_path, MINIMAL)
    assert run("render", "intent.yaml", "--output", "out").exit_code == 0
    return tmp_path / "out" / "istio"


def _meshgen(cwd, *args: str) -> subprocess.CompletedProcess:
    # A subprocess, so a regression (a blocking open of the FIFO) fails this test instead of hanging
    # the suite; the timeout is a guard, not a measurement.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "meshgen", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("where", ["shop/pipe", "shop/service-api.yaml"])
def test_named_pipe_is_reported_and_left_alone(shop, where):
    pipe = shop / where
    if pipe.exists():
        pipe.unlink()
    os.mkfifo(pipe)
    before = tree(shop.parent)
    cwd = shop.parent.parent

    rendered = _meshgen(cwd, "render", "intent.yaml", "--output", "out")
    assert rendered.returncode == 1
    assert "Traceback" not in rendered.stderr
    assert f"{where} (named pipe)" in rendered.stderr
    assert tree(shop.parent) == before

    checked = _meshgen(cwd, "check", "intent.yaml", "--output", "out")
    assert checked.returncode == 1
    assert f"special  out/istio/{where} (a named pipe" in checked.stderr
    assert tree(shop.parent) == before


def test_socket_is_reported_and_left_alone(shop):
    path = shop / "shop" / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        result = run("render", "intent.yaml", "--output", "out")
        assert result.exit_code == 1
        assert "shop/agent.sock (socket)" in result.stderr
        assert path.exists()
    finally:
        server.close()


def test_directory_where_a_file_belongs_is_in_the_way(shop):
    target = shop / "shop" / "service-api.yaml"
    target.unlink()
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    before = tree(shop)
    result = run("render", "intent.yaml", "--output", "out")
    assert result.exit_code == 1
    assert "refusing to overwrite" in result.stderr and "shop/service-api.yaml" in result.stderr
    assert tree(shop) == before
    checked = run("check", "intent.yaml", "--output", "out")
    assert checked.exit_code == 1
    assert "  blocked  out/istio/shop/service-api.yaml" in checked.stderr


def test_check_names_an_interrupted_swap(shop):
    backup = shop.parent / ".istio.meshgen-old-abc123"
    os.replace(shop, backup)  # what a run killed between its two renames leaves
    (shop.parent / ".istio.meshgen-new-def456").mkdir()
    result = run("check", "intent.yaml", "--output", "out")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "interrupted" in result.stderr and str(backup.relative_to(shop.parent.parent)) in result.stderr
    assert "missing  " not in result.stderr
    # render restores and finishes; check is then clean.
    assert run("render", "intent.yaml", "--output", "out").exit_code == 0
    assert run("check", "intent.yaml", "--output", "out").exit_code == 0
