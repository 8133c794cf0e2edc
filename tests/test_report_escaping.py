"""Text findings show intent strings on one line (issue 18 item 4)."""

from __future__ import annotations

import pytest

from meshgen.capabilities import Feature, Finding, Support
from meshgen.report import findings_text


@pytest.mark.parametrize("breaker", ["\n", "\r", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x00", "\x1b"])
def test_a_value_cannot_split_or_forge_a_line(breaker):
    forged = f"x{breaker}  LOST         shop/api                     mtls: forged"
    finding = Finding(f"shop/a{breaker}b", next(iter(Feature)), Support.APPROXIMATED, f"header {forged!s} kept")
    text = findings_text("istio", [finding])
    assert len(text.splitlines()) == 2  # the heading and one finding
    assert repr(breaker)[1:-1] in text
