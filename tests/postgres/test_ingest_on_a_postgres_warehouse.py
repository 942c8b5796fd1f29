"""``ingest_job`` end to end on a real PostgreSQL warehouse: the CLI, the gates, concurrency.

What a user moving from the embedded DuckDB file to a server does:
``EGREGORA_DATABASE=postgresql://... EGREGORA_MEDIA_DIR=... egregora-pipeline ingest
examples/``. The job migrates the empty database to head, its blocking checks pass,
the rows land through the PostgreSQL loader, a second run adds nothing, and the
password appears nowhere in what is printed. Two runs at once (no pool on
PostgreSQL) end where one run ends; a warehouse that drifted is refused by the
blocking check or by the ingestion op's own gate; the sensor's and the schedule's
run requests execute.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.definitions import build_defs
from egregora_pipeline.migrations import open_warehouse, upgrade_connection
from egregora_pipeline.orchestration.ingestion_assets import DOCUMENTS_ASSET, MESSAGES_ASSET
from egregora_pipeline.orchestration.jobs import INGEST_JOB
from egregora_pipeline.orchestration.local_run import run_ingest_job
from egregora_pipeline.orchestration.resources import build_resources
from egregora_pipeline.orchestration.schema_assets import columns_check_name
from egregora_pipeline.orchestration.sensors import inbox_sensor
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import postgres_table
from tests.postgres.server import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLI = str(Path(sys.executable).parent / "egregora-pipeline")
TABLES = ("messages", "documents", "ingest_rejections")
RUN_COLUMNS = frozenset({"run_id", "created_by_run"})
"""Which run stored a row: differs between two runs and one."""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``build_resources`` hands a PostgreSQL URL to the steps through the environment."""
    monkeypatch.delenv("EGREGORA_DATABASE", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture
def url(postgres_server: PostgresServer, postgres_database: str) -> str:
    return postgres_server.url(postgres_database)


@pytest.fixture
def second_url(postgres_server: PostgresServer) -> Iterator[str]:
    """Another fresh database on the same server (the single-run reference)."""
    name = f"egregora_ref_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_server.url(name)
    finally:
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _target(url: str) -> PostgresTarget:
    target = parse_warehouse(url)
    assert isinstance(target, PostgresTarget)
    return target


def _counts(url: str) -> dict[str, int]:
    with _target(url).connect() as pg:
        return {
            table: pg.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]  # type: ignore[index]
            for table in TABLES
        }


def _cli(url: str, media: Path, *paths: Path, cwd: Path) -> subprocess.Popen[str]:
    """``egregora-pipeline ingest`` as a user runs it, the URL in ``EGREGORA_DATABASE``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}
    env.update({"EGREGORA_DATABASE": url, "EGREGORA_MEDIA_DIR": str(media)})
    return subprocess.Popen(
        [CLI, "ingest", "--ephemeral", *map(str, paths)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _finish(child: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        out, err = child.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        child.kill()
        raise
    return child.returncode, out + err


def _secrets(server: PostgresServer) -> tuple[str, str]:
    return server.password, quote(server.password, safe="")


def test_the_cli_ingests_examples_into_postgresql_and_a_second_run_adds_nothing(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    code, output = _finish(_cli(url, tmp_path / "media", EXAMPLES, cwd=tmp_path))

    assert code == 0, output
    assert "Traceback" not in output
    assert _target(url).display in output  # the summary names the warehouse...
    for secret in _secrets(postgres_server):
        assert secret not in output  # ...never with its password
    first = _counts(url)
    assert first["messages"] > 0
    assert first["documents"] > 0
    assert any((tmp_path / "media").rglob("*"))  # media documents copied into the store

    code, output = _finish(_cli(url, tmp_path / "media", EXAMPLES, cwd=tmp_path))

    assert code == 0, output
    assert _counts(url) == first


def test_without_a_media_folder_the_cli_refuses_before_any_run(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}
    done = subprocess.run(
        [CLI, "ingest", "--ephemeral", "--database", url, str(EXAMPLES)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert "EGREGORA_MEDIA_DIR" in done.stderr
    for secret in _secrets(postgres_server):
        assert secret not in done.stdout + done.stderr
    with _target(url).connect() as pg:  # nothing was migrated either
        assert pg.execute("SELECT to_regclass('messages')").fetchone() == (None,)


def test_two_concurrent_ingest_jobs_end_where_one_ingest_ends(
    url: str, second_url: str, tmp_path: Path
) -> None:
    runs = [_cli(url, tmp_path / "media", EXAMPLES, cwd=tmp_path) for _ in range(2)]
    outcomes = [_finish(run) for run in runs]

    for code, output in outcomes:
        assert code == 0, output
    code, output = _finish(_cli(second_url, tmp_path / "media-ref", EXAMPLES, cwd=tmp_path))
    assert code == 0, output
    assert _counts(url) == _counts(second_url)
    for table in TABLES:
        assert postgres_table(_target(url), table, leave_out=RUN_COLUMNS) == postgres_table(
            _target(second_url), table, leave_out=RUN_COLUMNS
        ), table


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings.from_env(
        environ={},
        database=url,
        inbox=tmp_path / "inbox",
        media_dir=tmp_path / "media",
        timezone="UTC",
    )


def _migrated(url: str) -> None:
    with open_warehouse(url) as warehouse:
        upgrade_connection(warehouse.conn, "head")


def test_a_column_changed_by_hand_fails_the_blocking_check_and_nothing_is_ingested(
    url: str, tmp_path: Path
) -> None:
    _migrated(url)
    with _target(url).connect(autocommit=True) as pg:
        pg.execute('ALTER TABLE messages ALTER COLUMN "text" TYPE bytea USING "text"::bytea')
    settings = _settings(tmp_path, url)

    outcome = run_ingest_job(build_defs(settings), [EXAMPLES], settings)

    assert not outcome.success
    assert columns_check_name("messages") in {check.name for check in outcome.failed_checks}
    assert _counts(url) == {"messages": 0, "documents": 0, "ingest_rejections": 0}


def test_the_ingestion_op_alone_refuses_a_warehouse_with_a_dropped_column(
    url: str, tmp_path: Path
) -> None:
    """Launched on its own (no migration, no blocking check in its run), the op's gate holds."""
    _migrated(url)
    with _target(url).connect(autocommit=True) as pg:
        pg.execute('ALTER TABLE documents DROP COLUMN "phash"')
    settings = _settings(tmp_path, url)
    defs = build_defs(settings)
    only_ingest = dg.define_asset_job(
        "ingest_only", selection=dg.AssetSelection.assets(MESSAGES_ASSET, DOCUMENTS_ASSET)
    )
    job = dg.Definitions.merge(defs, dg.Definitions(jobs=[only_ingest])).resolve_job_def(
        "ingest_only"
    )

    result = job.execute_in_process(
        run_config={"ops": {"ingest_inputs": {"config": {"paths": [str(EXAMPLES)]}}}},
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None
    assert "phash" in error.to_string()
    assert _counts(url) == {"messages": 0, "documents": 0, "ingest_rejections": 0}


def test_the_sensor_and_the_schedule_run_requests_run_on_postgresql(
    url: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, url)
    settings.inbox.mkdir()
    (settings.inbox / "post.md").write_text(
        "---\ntitle: A post\ndate: 2024-01-01\n---\nText.\n", encoding="utf-8"
    )
    defs = build_defs(settings)
    resources = build_resources(settings)
    cursor = None
    for _ in range(2):  # the first tick sees the file change, the second requests it
        ticked = inbox_sensor(
            dg.build_sensor_context(cursor=cursor, resources={"egregora": resources["egregora"]})
        )
        assert isinstance(ticked, dg.SensorResult)
        cursor = ticked.cursor
    (sensed,) = ticked.run_requests or []
    schedule = defs.resolve_schedule_def("daily_ingest")
    (scheduled,) = (
        schedule.evaluate_tick(dg.build_schedule_context(resources=resources)).run_requests or []
    )
    job = defs.resolve_job_def(INGEST_JOB)

    for request in (sensed, scheduled):
        result = job.execute_in_process(
            run_config=request.run_config, tags=request.tags, raise_on_error=False
        )
        assert result.success
        assert all(e.passed for e in result.get_asset_check_evaluations())

    assert _counts(url)["documents"] == 1
