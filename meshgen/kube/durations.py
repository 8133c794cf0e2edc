"""Go's ``time.ParseDuration``, which Kubernetes applies to ``format: duration`` strings.

Kept apart from :mod:`meshgen.kube.cel` so that the structural schema check can parse durations
without importing cel-python (which :mod:`meshgen.kube.rules` imports only when a rule needs it).
Source: https://pkg.go.dev/time#ParseDuration
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["parse_go_duration"]

_GO_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6,
                      "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_GO_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Nanoseconds in a Go ``time.ParseDuration`` string such as ``1h30m`` or ``250ms``.

    Raises:
        ValueError: ``text`` is not a Go duration (Go accepts no ``d`` unit, no spaces).
    """
    sign, body = 1, text
    if body and body[0] in "+-":
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if body == "0":
        return 0
    position, total = 0, 0
    while position < len(body):
        part = _GO_DURATION_PART.match(body, position)
        if not part:
            break
        # Fraction keeps "0.3s" at exactly 300ms, as Go's integer arithmetic does.
        total += int(Fraction(part.group(1)) * _GO_DURATION_UNITS[part.group(2)])
        position = part.end()
    if not body or position != len(body):
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total
