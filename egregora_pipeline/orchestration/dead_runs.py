"""Release what an in-process run left behind when its process died (SIGKILL, power cut).

``egregora-pipeline ingest`` executes its run in the CLI process itself, and
every step that opens the warehouse is in the pool ``egregora_warehouse``
(limit 1). A run killed mid-step never frees its pool slot nor ends: in a
persistent instance the run stays ``STARTED`` forever and the *next* run's
first step waits for the slot forever (observed: an ``ingest`` that never
finishes). So each run is tagged with the host and PID of its process, and
before a new run starts, runs of this host whose process is gone are marked
failed and their slots freed.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

PID_TAG = "egregora/pid"
HOST_TAG = "egregora/host"
_UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def run_tags() -> dict[str, str]:
    """The tags that let a later run recognise this one as dead."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the unfinished runs of this host whose process is gone; free their pool slots."""
    released: list[str] = []
    host = socket.gethostname()
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=_UNFINISHED, tags={HOST_TAG: host}), limit=100
    )
    for run in runs:
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if not pid or pid == os.getpid() or _alive(pid):
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
