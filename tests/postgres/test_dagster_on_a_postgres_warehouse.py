"""The Dagster layer picks the warehouse backend from the URL in ``EGREGORA_DATABASE``.

A DuckDB path gets the DuckDB resource and the pool ``egregora_warehouse``
(limit 1: one writer); a PostgreSQL URL gets the PostgreSQL resource and no pool
(concurrent writers are fine there). The blocking column checks are the same
code on both -- the engine's catalog read and type rule, as ``db check`` -- and
judge tables created from the one declaration alike. The migration engine and the loader are
wired through the same seam: ``migrate_job`` brings a PostgreSQL database to
head, and the password reaches neither the instance (run config, job snapshot,
tags, events) nor a sensor's or schedule's run request.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest
from dagster_shared.serdes import serialize_value

from egregora_pipeline.backends.duckdb.ibis_compat import run_raw_sql
from egregora_pipeline.definitions import build_defs
from egregora_pipeline.orchestration.jobs import MIGRATE_JOB
from egregora_pipeline.orchestration.resources import (
    PostgresWarehouseResource,
    WarehouseResource,
    build_resources,
)
from egregora_pipeline.orchestration.schema_assets import (
    HISTORY_CHECK,
    SCHEMA_ASSET,
    columns_check_name,
)
from egregora_pipeline.orchestration.sensors import inbox_sensor
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_POOL, WAREHOUSE_TAG
from egregora_pipeline.schema import DECLARED_TABLES
from egregora_pipeline.settings import Settings
from tests.every_backend import BACKENDS, empty_warehouse, ibis_connection
from tests.postgres.server import PostgresServer

TYPE_CHANGE = {  # someone changes a declared column's type by hand
    "duckdb": 'ALTER TABLE messages ALTER COLUMN "text" TYPE BLOB',
    "postgres": 'ALTER TABLE messages ALTER COLUMN "text" TYPE bytea USING "text"::bytea',
}
TYPE_CHANGE_SEEN = {  # as db check names types: DuckDB's names there, Ibis's on PostgreSQL
    "duckdb": "text: type BLOB, declared VARCHAR",
    "postgres": "text: type binary, declared string",
}


@pytest.fixture(autouse=True)
def _restore_database_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``build_resources`` hands a PostgreSQL URL to the steps through the environment."""
    monkeypatch.delenv("EGREGORA_DATABASE", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(environ={}, inbox=tmp_path / "inbox")


@pytest.fixture(params=BACKENDS)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(backend, EGREGORA_DATABASE value) of a warehouse whose tables come from the declaration."""
    value = empty_warehouse(request.param, request, tmp_path / "warehouse.duckdb")
    con = ibis_connection(request.param, value)
    for table in DECLARED_TABLES.values():
        con.create_table(table.name, schema=table.schema)
    con.disconnect()
    return request.param, value


def _run_schema_checks(value: str, tmp_path: Path) -> dict[str, dg.AssetCheckEvaluation]:
    """Execute the blocking schema checks alone (no migration), as a run of this code location."""
    defs = build_defs(replace(_settings(tmp_path), database=value))
    checks_only = dg.define_asset_job(
        "schema_checks_only", selection=dg.AssetSelection.checks_for_assets(SCHEMA_ASSET)
    )
    job = dg.Definitions.merge(defs, dg.Definitions(jobs=[checks_only])).resolve_job_def(
        "schema_checks_only"
    )
    result = job.execute_in_process(raise_on_error=False)
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _op_pools(defs: dg.Definitions) -> dict[str, str | None]:
    job = defs.resolve_job_def("ingest_job")
    return {node.name: node.definition.pool for node in job.nodes_in_topological_order}  # type: ignore[union-attr]


def test_the_url_picks_the_resource_the_kind_and_the_pool(tmp_path: Path) -> None:
    duck = build_defs(replace(_settings(tmp_path), database=str(tmp_path / "w.duckdb")))
    pg = build_defs(
        replace(_settings(tmp_path), database="postgresql://bob:s3cret@db.example:5432/egregora")
    )

    assert isinstance(duck.resources["warehouse"], WarehouseResource)
    assert isinstance(pg.resources["warehouse"], PostgresWarehouseResource)
    assert set(_op_pools(duck).values()) == {WAREHOUSE_POOL}
    assert set(_op_pools(pg).values()) == {None}  # PostgreSQL: runs may write concurrently
    for defs, kind in ((duck, "duckdb"), (pg, "postgres")):
        graph = defs.resolve_asset_graph()
        assert {k for key in graph.get_all_asset_keys() for k in graph.get(key).kinds} == {kind}
    assert pg.resources["egregora"].database == "postgresql://bob@db.example:5432/egregora"
    assert "s3cret" not in repr(pg.resources)


def test_the_code_location_loads_with_a_postgresql_url_in_the_environment(tmp_path: Path) -> None:
    """What ``dagster dev`` / a code server does at start: import ``defs`` from the environment."""
    url = "postgresql://bob:s3cret@db.example:5432/egregora"
    probe = (
        "from egregora_pipeline.definitions import defs\n"
        "job = defs.resolve_job_def('ingest_job')\n"
        "print(type(defs.resources['warehouse']).__name__)\n"
        "print(sorted({str(n.definition.pool) for n in job.nodes_in_topological_order}))\n"
    )
    env = {**os.environ, "EGREGORA_DATABASE": url, "EGREGORA_INBOX": str(tmp_path / "inbox")}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["PostgresWarehouseResource", "['None']"]
    assert "s3cret" not in done.stdout + done.stderr


def test_declared_tables_pass_the_blocking_column_checks_on_both_backends(
    warehouse: tuple[str, str], tmp_path: Path
) -> None:
    evaluations = _run_schema_checks(warehouse[1], tmp_path)

    for name in DECLARED_TABLES:
        assert evaluations[columns_check_name(name)].passed, evaluations[columns_check_name(name)]


def test_a_missing_column_and_a_changed_type_fail_the_column_checks_on_both_backends(
    warehouse: tuple[str, str], tmp_path: Path
) -> None:
    backend, value = warehouse
    con = ibis_connection(backend, value)
    run_raw_sql(con, 'ALTER TABLE documents DROP COLUMN "phash"')
    run_raw_sql(con, TYPE_CHANGE[backend])
    con.disconnect()

    evaluations = _run_schema_checks(value, tmp_path)

    documents = evaluations[columns_check_name("documents")]
    messages = evaluations[columns_check_name("messages")]
    assert not documents.passed
    assert documents.metadata["missing_columns"].value == ["phash"]
    assert not messages.passed
    assert messages.metadata["missing_columns"].value == []
    (mismatch,) = messages.metadata["mismatched_columns"].value  # type: ignore[misc]
    assert mismatch == TYPE_CHANGE_SEEN[backend]
    assert evaluations[columns_check_name("ingest_rejections")].passed


def test_a_postgresql_type_ibis_reads_as_string_but_truncates_fails_the_column_check(
    postgres_server: PostgresServer, postgres_database: str, tmp_path: Path
) -> None:
    # ``name`` keeps 63 bytes; Ibis reads it back as ``string``, so comparing Ibis schemas
    # alone passed this warehouse while ``db check`` refused it
    value = postgres_server.url(postgres_database)
    con = ibis_connection("postgres", value)
    for table in DECLARED_TABLES.values():
        con.create_table(table.name, schema=table.schema)
    run_raw_sql(con, 'ALTER TABLE documents ALTER COLUMN "title" TYPE name')
    con.disconnect()

    evaluations = _run_schema_checks(value, tmp_path)

    documents = evaluations[columns_check_name("documents")]
    assert not documents.passed
    (mismatch,) = documents.metadata["mismatched_columns"].value  # type: ignore[misc]
    assert mismatch.startswith("title: type name")


def test_on_postgresql_migrate_job_brings_an_empty_database_to_head_and_the_checks_pass(
    postgres_server: PostgresServer, postgres_database: str, tmp_path: Path
) -> None:
    url = postgres_server.url(postgres_database)
    instance = dg.DagsterInstance.ephemeral()
    job = build_defs(replace(_settings(tmp_path), database=url)).resolve_job_def(MIGRATE_JOB)

    result = job.execute_in_process(instance=instance, raise_on_error=False)

    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[HISTORY_CHECK].passed
    for name in DECLARED_TABLES:
        assert evaluations[columns_check_name(name)].passed
    # the history check alone, in a later run, agrees
    assert _run_schema_checks(url, tmp_path)[HISTORY_CHECK].passed
    # the password is nowhere in what the instance keeps of the run
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    kept = [
        serialize_value(run),
        serialize_value(instance.get_job_snapshot(run.job_snapshot_id)),
        *(serialize_value(record) for record in instance.all_logs(result.run_id)),
    ]
    for secret in (postgres_server.password, quote(postgres_server.password, safe="")):
        assert not [text for text in kept if secret in text]


def test_tables_made_without_the_engine_fail_the_history_check_by_name(
    postgres_server: PostgresServer, postgres_database: str, tmp_path: Path
) -> None:
    url = postgres_server.url(postgres_database)
    con = ibis_connection("postgres", url)
    for table in DECLARED_TABLES.values():
        con.create_table(table.name, schema=table.schema)
    con.disconnect()

    history = _run_schema_checks(url, tmp_path)[HISTORY_CHECK]

    assert not history.passed


def test_the_sensor_and_the_schedule_tag_runs_with_the_url_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://bob:s3cret@db.example:5432/egregora"
    settings = _settings(tmp_path)
    settings.inbox.mkdir()
    (settings.inbox / "post.md").write_text("---\ntitle: A post\n---\nText.\n", encoding="utf-8")
    resources = build_resources(replace(settings, database=url))

    cursor = None
    for _ in range(2):  # the first tick sees the file change, the second requests it
        result = inbox_sensor(
            dg.build_sensor_context(cursor=cursor, resources={"egregora": resources["egregora"]})
        )
        assert isinstance(result, dg.SensorResult)
        cursor = result.cursor
    (request,) = result.run_requests or []
    schedule = build_defs(replace(settings, database=url)).resolve_schedule_def("daily_ingest")
    (scheduled,) = (
        schedule.evaluate_tick(dg.build_schedule_context(resources=resources)).run_requests or []
    )

    for run_request in (request, scheduled):
        assert run_request.tags[WAREHOUSE_TAG] == "postgresql://bob@db.example:5432/egregora"
        assert "s3cret" not in repr(run_request)
