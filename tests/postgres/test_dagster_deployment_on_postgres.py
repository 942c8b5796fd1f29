"""A split deployment on the PostgreSQL instance: code server, webserver and daemon apart.

The shape of docs/deployment.md, with real processes: ``dagster code-server
start`` serves the code location over gRPC, ``dagster-webserver`` and
``dagster-daemon run`` load it through a ``grpc_server`` workspace entry, and all
three share only the PostgreSQL instance (``deploy/postgres/dagster.yaml``). A
run submitted through the webserver's GraphQL is queued, launched by the daemon
and executed by the code server; the inbox sensor, started through GraphQL, is
ticked by the daemon and its run succeeds too.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb
import psycopg
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from egregora_pipeline.orchestration.ingestion_assets import INGEST_OP
from egregora_pipeline.orchestration.jobs import INGEST_JOB
from tests.conftest import REPO_ROOT
from tests.postgres.server import PostgresServer
from tests.postgres.test_dagster_instance_on_postgres import POSTGRES_INSTANCE, instance_env

BIN = Path(sys.executable).parent
LOCATION = "egregora_pipeline"
STARTUP_SECONDS = 180
RUN_SECONDS = 240
SENSOR_SECONDS = 180
INBOX_POST = """\
---
title: From the inbox
slug: from-the-inbox
date: 2024-03-01
status: published
---
Dropped into the inbox, picked up by the sensor.
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    client: DagsterGraphQLClient
    warehouse: Path
    inbox: Path
    logs: Path


def _start(args: list[str], env: dict[str, str], log: IO[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _wait_until_up(port: int, processes: list[subprocess.Popen[str]], logs: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                return
        except OSError:  # connection refused while starting
            dead = any(p.poll() is not None for p in processes)
            if dead or time.monotonic() > deadline:
                raise AssertionError(_read_logs(logs)) from None
            time.sleep(1)


def _read_logs(logs: Path) -> str:
    return "\n".join(f"== {p.name}\n{p.read_text()[-4000:]}" for p in sorted(logs.glob("*.log")))


@pytest.fixture
def deployment(
    tmp_path: Path, postgres_server: PostgresServer, postgres_database: str
) -> Iterator[Deployment]:
    home, logs, inbox = tmp_path / "dagster_home", tmp_path / "logs", tmp_path / "inbox"
    for folder in (home, logs, inbox):
        folder.mkdir()
    shutil.copy(POSTGRES_INSTANCE, home / "dagster.yaml")
    warehouse = tmp_path / "warehouse.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGREGORA_")}
    env.update(
        instance_env(postgres_server, postgres_database),
        DAGSTER_HOME=str(home),
        EGREGORA_DATABASE=str(warehouse),
        EGREGORA_INBOX=str(inbox),
    )
    grpc_port, web_port = _free_port(), _free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "grpc_server": {
                            "host": "127.0.0.1",
                            "port": grpc_port,
                            "location_name": LOCATION,
                        }
                    }
                ]
            }
        )
    )
    commands = {
        "code-server": [
            *(str(BIN / "dagster"), "code-server", "start"),
            *("-m", "egregora_pipeline.definitions", "--location-name", LOCATION),
            *("-h", "127.0.0.1", "-p", str(grpc_port)),
        ],
        "webserver": [
            *(str(BIN / "dagster-webserver"), "-w", str(workspace)),
            *("-h", "127.0.0.1", "-p", str(web_port)),
        ],
        "daemon": [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
    }
    handles = {name: (logs / f"{name}.log").open("w") for name in commands}
    processes = [_start(args, env, handles[name], tmp_path) for name, args in commands.items()]
    try:
        _wait_until_up(web_port, processes, logs)
        client = DagsterGraphQLClient("127.0.0.1", port_number=web_port, timeout=30)
        yield Deployment(client, warehouse, inbox, logs)
    finally:
        for process in reversed(processes):
            _stop(process)
        for handle in handles.values():
            handle.close()


def _submit_when_loaded(client: DagsterGraphQLClient, run_config: dict[str, Any]) -> str:
    """Launch ``ingest_job``, retrying while the webserver still loads the code location."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            return client.submit_job_execution(INGEST_JOB, run_config=run_config)
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


_START_SENSOR = """
mutation ($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
  }
}
"""

_SENSOR_RUNS = """
query {
  runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "inbox_sensor"}]}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}
"""


@pytest.mark.slow
def test_webserver_daemon_and_code_server_share_the_postgresql_instance(
    deployment: Deployment, postgres_server: PostgresServer, postgres_database: str
) -> None:
    client = deployment.client
    examples = REPO_ROOT / "examples"
    config = {"ops": {INGEST_OP: {"config": {"paths": [str(examples)]}}}}

    run_id = _submit_when_loaded(client, config)
    assert _wait_for(client, run_id) == "SUCCESS", _read_logs(deployment.logs)

    # the sensor: started through the webserver, ticked by the daemon
    (deployment.inbox / "from-the-inbox.md").write_text(INBOX_POST, encoding="utf-8")
    started = client._execute(
        _START_SENSOR,
        {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "sensorName": "inbox_sensor",
            }
        },
    )
    assert started["startSensor"]["__typename"] == "Sensor", started
    deadline = time.monotonic() + SENSOR_SECONDS
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = client._execute(_SENSOR_RUNS)["runsOrError"]["results"]
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert [run["status"] for run in runs] == ["SUCCESS"], _read_logs(deployment.logs)
    tags = {tag["key"]: tag["value"] for tag in runs[0]["tags"]}
    assert tags["egregora/input"] == "from-the-inbox.md"

    with psycopg.connect(postgres_server.url(postgres_database), connect_timeout=10) as conn:
        statuses = conn.execute("SELECT status FROM runs ORDER BY id").fetchall()
        daemons = {row[0] for row in conn.execute("SELECT daemon_type FROM daemon_heartbeats")}
        sensor_state = conn.execute(
            "SELECT instigator_type, status FROM instigators WHERE status = 'RUNNING'"
        ).fetchall()
    assert statuses == [("SUCCESS",), ("SUCCESS",)]
    assert {"SENSOR", "QUEUED_RUN_COORDINATOR"} <= daemons
    assert sensor_state == [("SENSOR", "RUNNING")]  # started through the webserver
    with duckdb.connect(str(deployment.warehouse), read_only=True) as conn:
        slugs = {row[0] for row in conn.execute("SELECT slug FROM documents").fetchall()}
    assert {"meetup-recap-january", "from-the-inbox"} <= slugs
