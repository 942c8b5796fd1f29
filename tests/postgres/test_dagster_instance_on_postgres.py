"""The Dagster instance in PostgreSQL (``deploy/postgres/dagster.yaml``), on a real server.

A run of ``ingest_job`` started by one process -- the project's CLI, or Dagster's
own ``dagster job execute`` -- with ``DAGSTER_HOME`` holding that file leaves its
run, its materializations and every check result in PostgreSQL, where another
process reads them back. The credentials come from ``DAGSTER_PG_*`` variables
(the test server's password has ``:@/?#`` in it, so quoting is exercised), and
the file itself names none. Without ``scheme: postgresql+psycopg2`` the pinned
SQLAlchemy picks psycopg 3, and every event write fails on Dagster's ``NOTIFY``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import psycopg
import pytest
import yaml
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from egregora_pipeline.definitions import defs
from egregora_pipeline.orchestration.jobs import INGEST_JOB
from tests.conftest import REPO_ROOT
from tests.postgres.server import SUPERUSER, PostgresServer

POSTGRES_INSTANCE = REPO_ROOT / "deploy" / "postgres" / "dagster.yaml"
BIN = Path(sys.executable).parent
ASSETS = ("egregora_schema", "messages", "documents")
RUN_TIMEOUT_SECONDS = 300


def instance_env(server: PostgresServer, database: str) -> dict[str, str]:
    """The ``DAGSTER_PG_*`` variables ``deploy/postgres/dagster.yaml`` reads."""
    return {
        "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_PORT": str(server.port),
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USER": SUPERUSER,
        "DAGSTER_PG_PASSWORD": server.password,
    }


@pytest.fixture
def postgres_home(
    tmp_path: Path,
    postgres_server: PostgresServer,
    postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A ``DAGSTER_HOME`` with the PostgreSQL ``dagster.yaml``, its variables set for this test."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(POSTGRES_INSTANCE, home / "dagster.yaml")
    for name, value in instance_env(postgres_server, postgres_database).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGREGORA_")}
    return {
        **env,
        "EGREGORA_DATABASE": str(tmp_path / "wh" / "egregora.duckdb"),
        "EGREGORA_INBOX": str(tmp_path / "inbox"),
    }


def _run_ingest_job(how: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    examples = str(REPO_ROOT / "examples")
    if how == "egregora-pipeline ingest":
        args = [str(BIN / "egregora-pipeline"), "ingest", examples]
    else:
        config = tmp_path / "run.yaml"
        config.write_text(
            yaml.safe_dump({"ops": {"ingest_inputs": {"config": {"paths": [examples]}}}})
        )
        args = [
            *(str(BIN / "dagster"), "job", "execute"),
            *("-m", "egregora_pipeline.definitions", "-j", INGEST_JOB, "-c", str(config)),
        ]
    return subprocess.run(
        args,
        cwd=tmp_path,
        env=_subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def _sql(server: PostgresServer, database: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(server.url(database), connect_timeout=10) as conn:
        return conn.execute(query).fetchall()


def test_the_file_names_no_credential_and_chooses_psycopg2() -> None:
    config = yaml.safe_load(POSTGRES_INSTANCE.read_text())
    db = config["storage"]["postgres"]["postgres_db"]

    assert db.pop("scheme") == "postgresql+psycopg2"
    assert db == {
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "port": {"env": "DAGSTER_PG_PORT"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "username": {"env": "DAGSTER_PG_USER"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
    }


@pytest.mark.slow
@pytest.mark.parametrize("how", ["egregora-pipeline ingest", "dagster job execute"])
def test_a_run_is_kept_in_postgresql_and_read_back_by_another_process(
    how: str,
    tmp_path: Path,
    postgres_home: Path,
    postgres_server: PostgresServer,
    postgres_database: str,
) -> None:
    done = _run_ingest_job(how, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

    # what the instance keeps is in PostgreSQL, not in SQLite files under DAGSTER_HOME
    assert _sql(postgres_server, postgres_database, "SELECT status FROM runs") == [("SUCCESS",)]
    assert not [p for p in postgres_home.rglob("*.db") if p.is_file()]

    # read back through Dagster's own API, from this (another) process
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert (run.job_name, run.status) == (INGEST_JOB, dg.DagsterRunStatus.SUCCESS)
        for name in ASSETS:
            event = instance.get_latest_materialization_event(dg.AssetKey(name))
            assert event is not None, name
            assert event.run_id == run.run_id, name
        messages = instance.get_latest_materialization_event(dg.AssetKey("messages"))
        assert messages is not None
        assert messages.asset_materialization is not None
        row_count = messages.asset_materialization.metadata["dagster/row_count"].value
        check_keys = defs.resolve_job_def(INGEST_JOB).asset_layer.asset_graph.asset_check_keys
        statuses = {}
        for key in check_keys:
            records = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])
            record = records.get(key)
            assert record is not None, key
            assert record.run_id == run.run_id, key
            statuses[key.name] = record.status
    assert set(statuses.values()) == {AssetCheckExecutionRecordStatus.SUCCEEDED}, statuses
    assert "documents_columns_match_declared" in statuses
    warehouse = tmp_path / "wh" / "egregora.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (row_count,)
    assert row_count > 0


@dg.asset
def _probe() -> int:
    return 1


@pytest.mark.parametrize(
    ("scheme", "works"),
    [("postgresql+psycopg2", True), (None, False)],
    ids=["psycopg2", "sqlalchemy-default-psycopg3"],
)
def test_event_writes_need_the_psycopg2_scheme(
    scheme: str | None, works: bool, postgres_home: Path
) -> None:
    """Why the file names ``postgresql+psycopg2``: the default driver cannot store an event.

    When this test's second case starts passing, Dagster no longer needs the
    setting (dagster-postgres stopped binding ``NOTIFY``'s payload, or SQLAlchemy's
    default driver changed) and the comment in the file can say so.
    """
    config = yaml.safe_load(POSTGRES_INSTANCE.read_text())
    if scheme is None:
        del config["storage"]["postgres"]["postgres_db"]["scheme"]
    (postgres_home / "dagster.yaml").write_text(yaml.safe_dump(config))

    with dg.DagsterInstance.get() as instance:
        if works:
            assert dg.materialize([_probe], instance=instance).success
        else:
            with pytest.raises(Exception, match=r'syntax error at or near "\$1"'):
                dg.materialize([_probe], instance=instance)
