"""The ingest command's start-up heap: built without collection, frozen before the run.

Checked in a child process, as the console script runs it: freezing the heap of the
test process itself would change every test after this one.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from egregora_pipeline.cli.heap import startup_heap

CHILD = textwrap.dedent(
    """
    import gc
    from egregora_pipeline.cli import heap

    heap.own_process()
    assert gc.isenabled()
    with heap.startup_heap() as end_of_startup:
        assert not gc.isenabled(), "collected while loading"
        garbage = [object() for _ in range(1000)]
        end_of_startup()
        assert gc.isenabled(), "not collecting during the run"
        assert gc.get_freeze_count() >= 1000, gc.get_freeze_count()
        end_of_startup()  # a second call changes nothing
    assert gc.isenabled()
    with heap.startup_heap():
        pass
    assert gc.isenabled(), "the block's end resumes collection when nothing did"
    print("ok")
    """
)


def test_in_the_commands_own_process_the_heap_is_built_uncollected_then_frozen() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_inside_another_process_the_collector_is_left_alone() -> None:
    frozen = gc.get_freeze_count()
    with startup_heap() as end_of_startup:
        assert gc.isenabled()
        end_of_startup()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
