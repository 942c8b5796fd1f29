"""A SIGKILLed ``ingest`` recorded in the project's Dagster instance does not block the next one.

The run executes inside the CLI process and its steps hold the
``egregora_warehouse`` pool slot (limit 1); a killed run never gives it back.
Without the release in :mod:`egregora_pipeline.orchestration.dead_runs` the
next ``ingest`` in the same project waited for that slot forever.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from egregora_pipeline.orchestration.instance import choose_instance, open_instance
from tests.conftest import REPO_ROOT
from tests.crash.test_ingest_kill import _write_chat

CLI = Path(sys.executable).with_name("egregora-pipeline")


def _ingest(project: Path, inputs: Path, log: Path) -> subprocess.Popen[bytes]:
    """``ingest`` in ``project`` (its own instance); stdout and stderr kept in ``log``,
    so a run that ends on its own before the kill says why."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME",)}
    env.pop("EGREGORA_EPHEMERAL_INSTANCE", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(CLI), "ingest", str(inputs), "--database", "w.duckdb"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_the_run_after_a_killed_one_completes_and_the_killed_one_is_marked_failed(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", project / "dagster.yaml")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    _write_chat(inputs / "WhatsApp Chat with Group One.zip", 1, 60_000)
    wal = project / "w.duckdb.wal"

    killed = _ingest(project, inputs, tmp_path / "killed.log")
    deadline = time.monotonic() + 120
    while not wal.exists() and killed.poll() is None:  # mid-step: the slot is held
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=60) == -signal.SIGKILL, (tmp_path / "killed.log").read_text()

    after = _ingest(project, inputs, tmp_path / "after.log")
    try:
        code = after.wait(timeout=240)  # it used to wait for the slot forever
    finally:
        if after.poll() is None:
            after.kill()
    assert code == 0, (tmp_path / "after.log").read_text()

    choice = choose_instance(cwd=project, environ={})
    assert choice.kind == "project"
    with open_instance(choice) as instance:
        statuses = sorted(str(run.status) for run in instance.get_runs())
        info = instance.event_log_storage.get_concurrency_info("egregora_warehouse")
    assert statuses == ["DagsterRunStatus.FAILURE", "DagsterRunStatus.SUCCESS"], statuses
    assert info.active_slot_count == 0
