"""The findings summary without rich (issue 17): where rich itself would write plain text (stderr not a
terminal, and no FORCE_COLOR / TTY_COMPATIBLE asking for colour), :func:`meshgen.cli.print_findings`
writes the same bytes without importing rich; everywhere else it still asks rich.

The expected output is always what rich writes, from a ``Console`` made as ``print_findings`` makes
its own, under the same environment and stream.
"""

from __future__ import annotations

import io
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshgen.cli import print_findings

TEXT = (
    "kubernetes: 3 places where the intent is approximated or lost, grouped per feature:\n"
    "  CRITICAL     mtls (1): mesh; first: plaintext\n"
    "  LOST         retries (2): shop/web, shop/api; first: 2 retries [a note]\n"
    "  approximated canary-weights (1): shop/api; first: weights v1 90%, v2 10% \u00e9\u65e5\u672c\n"
    "  accepted     timeout (1): shop/web; first: the 30s request timeout   \n"
    "  info         something\n"
    "  native       mtls\n"
    "\n"
    "a line without a label and [bold]markup[/bold] :smile:\n"
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _what_rich_writes(monkeypatch, stream_type, text: str) -> str:
    from rich.console import Console

    stream = stream_type()
    monkeypatch.setattr(sys, "stderr", stream)
    print_findings(text, Console(stderr=True, highlight=False, soft_wrap=True))
    return stream.getvalue()


def _what_meshgen_writes(monkeypatch, stream_type, text: str, *, rich_allowed: bool) -> str:
    stream = stream_type()
    monkeypatch.setattr(sys, "stderr", stream)
    if not rich_allowed:  # importing rich now fails: the plain path must not need it
        for name in ("rich", "rich.console", "rich.text"):
            monkeypatch.setitem(sys.modules, name, None)
    print_findings(text)
    return stream.getvalue()


ENVIRONMENTS = [
    {},
    {"NO_COLOR": "1"},
    {"NO_COLOR": ""},
    {"FORCE_COLOR": "1"},
    {"FORCE_COLOR": ""},
    {"FORCE_COLOR": "0"},  # rich: any non-empty value forces a terminal
    {"TTY_COMPATIBLE": "0"},
    {"TTY_COMPATIBLE": "1"},
    {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
    {"TTY_COMPATIBLE": "2", "FORCE_COLOR": "1"},
    {"TERM": "dumb"},
    {"TERM": "xterm-256color", "COLORTERM": "truecolor"},
    {"NO_COLOR": "1", "FORCE_COLOR": "1"},
]
CONTROLLING = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TERM", "COLORTERM", "TTY_INTERACTIVE")


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "none")
@pytest.mark.parametrize("stream_type", [io.StringIO, Terminal], ids=["piped", "terminal"])
def test_findings_are_what_rich_writes(monkeypatch, env, stream_type):
    for name in CONTROLLING:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    expected = _what_rich_writes(monkeypatch, stream_type, TEXT)
    plain = "\x1b[" not in expected
    # A dumb terminal gets plain text from rich too, but meshgen leaves terminals to rich.
    got = _what_meshgen_writes(monkeypatch, stream_type, TEXT, rich_allowed=not plain or (stream_type is Terminal and env.get("TERM") == "dumb"))
    assert got == expected
    if plain:
        assert got == TEXT.rstrip("\n") + "\n"
    # Sanity of the cases: rich colours a terminal, and a pipe only when told to.
    forced = env.get("TTY_COMPATIBLE") == "1" or (env.get("TTY_COMPATIBLE") != "0" and env.get("FORCE_COLOR"))
    tty = stream_type is Terminal and env.get("TTY_COMPATIBLE") != "0" and env.get("FORCE_COLOR") != ""
    assert plain != bool(forced or tty) or env.get("TERM") == "dumb"


@pytest.mark.parametrize("line", ["  LOST         a\tb", "  LOST         a\rb", "x\x00y", "a\u200bb", "a\x1b[31mb"])
def test_lines_rich_changes_still_go_through_rich(monkeypatch, line):
    for name in CONTROLLING:
        monkeypatch.delenv(name, raising=False)
    text = TEXT + line + "\n"
    assert _what_meshgen_writes(monkeypatch, io.StringIO, text, rich_allowed=True) == _what_rich_writes(
        monkeypatch, io.StringIO, text
    )


_LABEL = st.sampled_from(["", "  LOST ", "  CRITICAL ", "  approximated ", "  info ", "  native ", "  accepted ", " LOST "])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(_LABEL, st.text(max_size=60)), max_size=6), st.sampled_from(["", "\n", "\n\n"]))
def test_any_text_piped_is_what_rich_writes(lines, end):
    import os

    from rich.console import Console

    if any(os.environ.get(name) for name in ("FORCE_COLOR", "TTY_COMPATIBLE")):
        pytest.skip("the environment asks rich for colour")
    text = "\n".join(label + body for label, body in lines) + end
    real = sys.stderr
    try:
        sys.stderr = io.StringIO()
        print_findings(text)
        got = sys.stderr.getvalue()
        sys.stderr = io.StringIO()
        print_findings(text, Console(stderr=True, highlight=False, soft_wrap=True))
        expected = sys.stderr.getvalue()
    finally:
        sys.stderr = real
    assert got == expected
