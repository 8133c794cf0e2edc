"""Progress output: a rich bar for large renders on a terminal, nothing at all otherwise."""

from __future__ import annotations

import io
import sys

from benchmarks.synthetic import intent_yaml
from meshgen.progress import progress
from tests.workflow_helpers import run


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_large_render_is_quiet_when_not_a_terminal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "intent.yaml").write_text(intent_yaml(100))  # 355 objects: above the bar threshold
    result = run("render", "intent.yaml", "--output", "out", "--allow-loss", "--report", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "wrote 357 files to out/istio (357 new, 0 changed, 0 removed)"
    assert "\x1b[" not in result.stderr  # no terminal control codes


def test_bar_shows_on_a_terminal_for_large_phases_only(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress(threshold=10) as phase:
        small = phase("small phase")
        for done in range(1, 6):
            small(done, 5)
        assert terminal.getvalue() == ""  # at or under the threshold: silent
        large = phase("rendering istio")
        for done in range(1, 51):
            large(done, 50)
    assert "rendering istio" in terminal.getvalue()


def test_forced_off_is_silent(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress(enabled=False, threshold=1) as phase:
        tick = phase("x")
        for done in range(1, 100):
            tick(done, 99)
    assert terminal.getvalue() == ""
