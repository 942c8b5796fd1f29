"""End to end: ``dagster dev`` on a loopback port, driven and read through GraphQL.

``dagster dev`` starts in a project folder (its ``dagster.yaml``), with no
``DAGSTER_HOME``, exactly as ``make dagster-dev`` does: it must see what the CLI
recorded there, and runs launched from the UI must succeed together.
"""

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

STARTUP_SECONDS = 180
RUN_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    return {
        **env,
        "EGREGORA_DATABASE": str(tmp_path / "warehouse.duckdb"),
        "EGREGORA_INBOX": str(tmp_path / "inbox"),
    }


@pytest.fixture
def dagster_dev(
    tmp_path: Path, project_dir: Path, inputs_dir: Path
) -> Iterator[tuple[DagsterGraphQLClient, Path]]:
    """A real ``dagster dev`` (webserver + daemon) in a project folder, after a CLI run there."""
    database = tmp_path / "warehouse.duckdb"
    env = _env(tmp_path)
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "egregora-pipeline"), "ingest", str(inputs_dir)],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    port = _free_port()
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
        cwd=project_dir,
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


_CLI_RUN_SEEN_BY_THE_UI = """
query {
  runsOrError { ... on Runs { results { runId jobName status } } }
  assetNodes {
    assetKey { path }
    assetMaterializations(limit: 1) { runId metadataEntries { label } }
  }
  schema: assetCheckExecutions(
    assetKey: {path: ["egregora_schema"]}, checkName: "documents_columns_match_declared", limit: 1
  ) { runId status }
  rules: assetCheckExecutions(
    assetKey: {path: ["documents"]}, checkName: "doc_type_rules_hold", limit: 1
  ) { runId status }
}
"""


def test_the_ui_shows_the_cli_run_its_materializations_and_check_results(
    dagster_dev: tuple[DagsterGraphQLClient, Path],
) -> None:
    """What ``make run`` did is what ``make dagster-dev`` shows, with no DAGSTER_HOME."""
    client, _ = dagster_dev
    data = client._execute(_CLI_RUN_SEEN_BY_THE_UI)

    (run,) = data["runsOrError"]["results"]
    assert (run["jobName"], run["status"]) == ("ingest_job", "SUCCESS")
    materialized = {
        "/".join(node["assetKey"]["path"]): node["assetMaterializations"]
        for node in data["assetNodes"]
    }
    for asset in ("egregora_schema", "messages", "documents"):
        (latest,) = materialized[asset]
        assert latest["runId"] == run["runId"], asset
        assert latest["metadataEntries"], asset
    labels = {entry["label"] for entry in materialized["messages"][0]["metadataEntries"]}
    assert "dagster/row_count" in labels
    for check in (data["schema"], data["rules"]):
        assert [(c["runId"], c["status"]) for c in check] == [(run["runId"], "SUCCEEDED")]
