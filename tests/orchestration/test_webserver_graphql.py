"""End to end: ``dagster dev`` on a loopback port, ``ingest_job`` launched through GraphQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from egregora_pipeline.orchestration.ingestion_assets import INGEST_OP

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180
RUN_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[tuple[DagsterGraphQLClient, Path]]:
    """A real ``dagster dev`` (webserver + daemon) with its own home and warehouse."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / ".dagster_home" / "dagster.yaml").read_text())
    database = tmp_path / "warehouse.duckdb"
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EGREGORA_DATABASE": str(database),
        "EGREGORA_INBOX": str(tmp_path / "inbox"),
    }
    log = (tmp_path / "dagster-dev.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=30)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    break
            except OSError:  # connection refused while starting
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((tmp_path / "dagster-dev.log").read_text()) from None
                time.sleep(1)
        yield client, database
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _submit_when_loaded(client: DagsterGraphQLClient, run_config: dict[str, object]) -> str:
    """Launch ``ingest_job``, retrying while the code location is still loading."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            return client.submit_job_execution("ingest_job", run_config=run_config)
        except DagsterGraphQLClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def _wait_for(client: DagsterGraphQLClient, run_id: str) -> str:
    deadline = time.monotonic() + RUN_SECONDS
    status = client.get_run_status(run_id)
    while status.value not in ("SUCCESS", "FAILURE", "CANCELED") and time.monotonic() < deadline:
        time.sleep(1)
        status = client.get_run_status(run_id)
    return str(status.value)


def test_two_ingest_runs_launched_together_through_graphql_both_succeed(
    dagster_dev: tuple[DagsterGraphQLClient, Path], inputs_dir: Path
) -> None:
    """The UI path: the daemon launches both runs; the pool serializes their steps."""
    client, database = dagster_dev
    config = {"ops": {INGEST_OP: {"config": {"paths": [str(inputs_dir)]}}}}
    first = _submit_when_loaded(client, run_config=config)
    second = _submit_when_loaded(client, run_config=config)

    assert [_wait_for(client, first), _wait_for(client, second)] == ["SUCCESS", "SUCCESS"]
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM messages"
        ).fetchone() == (4, 4)
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (1,)
