"""A short command's start-up heap: built without garbage collection, then frozen.

``egregora-pipeline ingest`` of one small export is mostly start-up: Dagster, Ibis,
DuckDB and pyarrow imported, definitions built, the instance opened. Those steps
allocate a million objects that live as long as the process, and Python's cyclic
collector kept scanning them as they were made: about 0.3 s of a 1 s import, and
more during the run (``benchmarks/bench_startup.py``). So the ``ingest`` command
builds its start-up heap with the collector paused, then *freezes* it (``gc.freeze``:
those objects are never scanned again) and resumes collection for the run itself,
as CPython's documentation suggests for a process that loads once and then works.

Only in the command's own process (the console script): a caller of ``main()``
inside a longer-lived process (the tests) keeps its collector as it is.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator

_own_process = False


def own_process() -> None:
    """The console script owns this process: its start-up heap may be frozen."""
    global _own_process
    _own_process = True


@contextlib.contextmanager
def startup_heap() -> Iterator[Callable[[], None]]:
    """Pause the collector for the block; the function it gives ends the start-up:
    freeze what exists and collect again (the block's end does, if nothing did)."""
    if not _own_process:
        yield lambda: None
        return
    was_enabled = gc.isenabled()
    gc.disable()
    settled = False

    def settle() -> None:
        nonlocal settled
        if not settled:
            settled = True
            gc.freeze()
            if was_enabled:
                gc.enable()

    try:
        yield settle
    finally:
        settle()
