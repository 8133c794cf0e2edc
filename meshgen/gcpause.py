"""Pause Python's cyclic garbage collector around bulk, short-lived work.

Loading, planning and rendering a large intent allocate millions of objects that stay alive until
the phase ends and form almost no reference cycles. CPython still runs a collection every few
hundred allocations, and each full collection walks every live object, so the cost grows with the
square of the intent: at 5,000 services the collector took half of load time and 40% of plan
time. Reference counting still frees everything as usual while the collector is paused; the few
cycles created meanwhile (Jinja contexts) are collected as soon as it resumes.

The collector is a process-wide setting, so only the CLI (and the benchmarks, which time what the
CLI does) pause it; library functions leave it as their caller set it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block; restore its previous state after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
