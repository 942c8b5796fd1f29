"""Release what an in-process run left behind when its process died (SIGKILL, power cut).

``egregora-pipeline ingest`` executes its run in the CLI process itself, and
every step that opens the warehouse is in the pool ``egregora_warehouse``
(limit 1). A run killed mid-step never frees its pool slot nor ends: in a
persistent instance the run stays ``STARTED`` forever and the *next* run's
first step waits for the slot forever (observed: an ``ingest`` that never
finishes). So each run is tagged with the host and PID of its process, and
before a new run starts, runs of this host whose process is gone are marked
failed and their slots freed.

The PID tag names the run it was written for (``PID@RUN_ID``): Dagster copies a
run's tags into a re-execution, and a live re-execution launched from the UI
must never be taken for the dead CLI process that started the original.
"""

from __future__ import annotations

import os
import uuid

import dagster as dg

from egregora_pipeline.processes import process_alive, this_host

PID_TAG = "egregora/pid"
HOST_TAG = "egregora/host"
_UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def new_run_id() -> str:
    """An id for the run about to start, so that its tags can name it."""
    return str(uuid.uuid4())


def run_tags(run_id: str) -> dict[str, str]:
    """The tags that let a later run recognise run ``run_id`` as dead."""
    return {PID_TAG: f"{os.getpid()}@{run_id}", HOST_TAG: this_host()}


def _owner_pid(run: dg.DagsterRun) -> int:
    """The PID that ran ``run`` in process, or 0 when the tag is absent or was copied
    from another run (a re-execution carries its parent's tags)."""
    pid, _, for_run = run.tags.get(PID_TAG, "").partition("@")
    return int(pid) if pid.isdigit() and for_run == run.run_id else 0


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the unfinished runs of this host whose process is gone; free their pool slots."""
    released: list[str] = []
    host = this_host()
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=_UNFINISHED, tags={HOST_TAG: host}), limit=100
    )
    for run in runs:
        pid = _owner_pid(run)
        if not pid or pid == os.getpid() or process_alive(pid):
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        instance.report_run_failed(
            run,
            message=(
                f"process {pid} on {host} ended without finishing this run (killed?); "
                "its warehouse pool slot was freed by a later run"
            ),
        )
        released.append(run.run_id)
    return released
