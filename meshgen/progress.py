"""Progress bars for large renders, on a terminal only.

A render of a few hundred objects takes well under a second and needs no bar; thousands of objects
take a few seconds, long enough to wonder. :func:`progress` shows a transient rich bar on stderr
when stderr is a terminal and a phase has more than :data:`LARGE` steps; in CI, in pipes and in
tests it prints nothing at all.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

#: Phases with more steps than this get a bar.
LARGE = 200

Tick = Callable[[int, int], None]


@contextmanager
def progress(enabled: bool | None = None, threshold: int = LARGE) -> Iterator[Callable[[str], Tick]]:
    """Yield ``phase(label)``, which returns a ``tick(done, total)`` callback for that phase.

    Args:
        enabled: force on or off; default: on when stderr is a terminal.
        threshold: phases with at most this many steps stay silent.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda label: _silent
        return
    bar = None

    def phase(label: str) -> Tick:
        task = None

        def tick(done: int, total: int) -> None:
            nonlocal bar, task
            if total <= threshold:
                return
            if bar is None:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                bar = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
                bar.start()
            if task is None:
                task = bar.add_task(label, total=total)
            bar.update(task, completed=done)

        return tick

    try:
        yield phase
    finally:
        if bar is not None:
            bar.stop()


def _silent(done: int, total: int) -> None:
    return None
