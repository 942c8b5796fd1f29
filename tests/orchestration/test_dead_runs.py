"""A run whose process died is released; a live one, or a re-execution carrying the
dead run's copied tags, is left alone."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from egregora_pipeline.orchestration.dead_runs import HOST_TAG, PID_TAG, release_dead_runs
from egregora_pipeline.processes import this_host


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def _started(instance: dg.DagsterInstance, run_id: str, pid_tag: str) -> None:
    instance.add_run(
        DagsterRun(
            job_name="ingest_job",
            run_id=run_id,
            status=dg.DagsterRunStatus.STARTED,
            tags={PID_TAG: pid_tag, HOST_TAG: this_host()},
        )
    )


def test_only_the_run_whose_own_process_died_is_failed() -> None:
    dead = _dead_pid()
    with dg.DagsterInstance.ephemeral() as instance:
        _started(instance, "killed", f"{dead}@killed")
        _started(instance, "reexecution", f"{dead}@killed")  # tags copied from its parent
        _started(instance, "running", f"{_live_pid()}@running")

        released = release_dead_runs(instance)

        assert released == ["killed"]
        statuses = {r.run_id: r.status for r in instance.get_runs()}
        assert statuses == {
            "killed": dg.DagsterRunStatus.FAILURE,
            "reexecution": dg.DagsterRunStatus.STARTED,
            "running": dg.DagsterRunStatus.STARTED,
        }


def _live_pid() -> int:
    import os

    return os.getppid()  # the test runner's parent: alive for the whole test
