"""The PostgreSQL loader's spool folder never outlives its run, even a killed one.

Each sink spills chats past the memory limit into a private temp folder named after
its host and process. A run that ends removes it; a run killed by SIGKILL cannot,
so the next sink on this host deletes the folders of processes that no longer run
-- and leaves alone those of live processes and of other hosts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from egregora_pipeline.backends.postgres.sink import PostgresSink
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.processes import this_host
from tests.ingestion.postgres_warehouse import pg_target, postgres_database, postgres_server

__all__ = ["pg_target", "postgres_database", "postgres_server"]


def _pid_of_an_ended_process() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


@pytest.fixture
def spools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A temp folder of this test's own, so other tests' live sinks are not in view."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return tmp_path


def test_a_finished_sink_leaves_no_spool_folder(pg_target: PostgresTarget, spools: Path) -> None:
    with PostgresSink.open(pg_target):
        assert len(list(spools.glob("egregora-pg-load-*"))) == 1

    assert list(spools.glob("egregora-pg-load-*")) == []


def test_a_killed_runs_spool_is_swept_and_live_or_foreign_ones_are_kept(
    pg_target: PostgresTarget, spools: Path
) -> None:
    host = this_host()
    dead = spools / f"egregora-pg-load-{host}-{_pid_of_an_ended_process()}-abc"
    live = spools / f"egregora-pg-load-{host}-{os.getpid()}-def"
    foreign = spools / "egregora-pg-load-otherhost-1-ghi"
    for folder in (dead, live, foreign):
        folder.mkdir()
        (folder / "spill.tmp").write_bytes(b"x" * 1024)

    with PostgresSink.open(pg_target):
        pass

    assert not dead.exists()
    assert live.exists()
    assert foreign.exists()
