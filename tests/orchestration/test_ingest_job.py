"""``ingest_job`` end to end, in-process, on real DuckDB files.

Specifies the contract of ARCHITECTURE.md: the migration op runs first, the
blocking checks gate ingestion, drift stops writes, an ingestion asset run on
its own refuses an unready warehouse.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from egregora_pipeline.definitions import defs
from egregora_pipeline.migrations import MigrationConfig, upgrade
from egregora_pipeline.orchestration.ingestion_assets import (
    DOCUMENTS_ASSET,
    INGEST_OP,
    ingest_inputs,
    no_progress,
)
from egregora_pipeline.orchestration.local_run import collect_outcome, run_ingest_job
from egregora_pipeline.orchestration.resources import build_resources
from egregora_pipeline.settings import Settings


def _count(database: Path, table: str) -> int:
    with duckdb.connect(str(database), read_only=True) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    assert row is not None
    return int(row[0])


def test_happy_path_migrates_first_then_checks_pass_then_ingests(
    inputs_dir: Path, settings: Settings
) -> None:
    outcome = run_ingest_job(defs, [inputs_dir], settings)

    assert outcome.success, outcome.failures
    assert outcome.failed_checks == []
    check_names = {c.name for c in outcome.checks}
    assert {
        "documents_columns_match_declared",
        "messages_columns_match_declared",
        "migration_history_intact",
        "doc_type_rules_hold",
        "id_is_unique",
        "event_id_is_unique",
    } <= check_names
    assert outcome.schema["to_revision"] not in (None, "base")
    assert _count(settings.database, "messages") == 4  # 3 messages + the encryption notice
    assert _count(settings.database, "documents") == 1
    assert outcome.tables["messages"]["inserted"] == 4
    assert outcome.tables["documents"]["dagster/row_count"] == 1


def test_migration_step_runs_before_ingestion_in_the_same_run(
    inputs_dir: Path, settings: Settings
) -> None:
    job = defs.resolve_job_def("ingest_job")
    result = job.execute_in_process(
        run_config={"ops": {INGEST_OP: {"config": {"paths": [str(inputs_dir)]}}}},
        resources={**build_resources(settings), "progress": no_progress},
        instance=dg.DagsterInstance.ephemeral(),
    )
    order = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert (
        order.index("migrate_schema")
        < order.index("egregora_schema_checks")
        < order.index(INGEST_OP)
    )


def test_reingesting_the_same_inputs_adds_nothing(inputs_dir: Path, settings: Settings) -> None:
    run_ingest_job(defs, [inputs_dir], settings)
    again = run_ingest_job(defs, [inputs_dir], settings)

    assert again.success
    assert again.tables["messages"]["inserted"] == 0
    assert again.tables["messages"]["skipped"] == 4
    assert again.tables["documents"]["inserted"] == 0
    assert _count(settings.database, "messages") == 4


def test_type_drift_fails_the_blocking_check_and_leaves_tables_untouched(
    inputs_dir: Path, settings: Settings, tmp_path: Path
) -> None:
    run_ingest_job(defs, [inputs_dir / "posts"], settings)
    with duckdb.connect(str(settings.database)) as conn:  # someone changes a type by hand
        conn.execute('ALTER TABLE messages ALTER COLUMN "text" TYPE BLOB')
    before = (_count(settings.database, "messages"), _count(settings.database, "documents"))

    outcome = run_ingest_job(defs, [inputs_dir], settings)

    assert not outcome.success
    failed = {c.name: c.details for c in outcome.failed_checks}
    assert "messages_columns_match_declared" in failed
    assert any("text" in m for m in failed["messages_columns_match_declared"]["mismatched_columns"])
    assert INGEST_OP in outcome.skipped_steps or any(f.step == INGEST_OP for f in outcome.failures)
    assert outcome.inputs == []  # the ingestion op never ran
    assert (_count(settings.database, "messages"), _count(settings.database, "documents")) == before


def test_ingestion_asset_launched_alone_refuses_a_drifted_warehouse(
    inputs_dir: Path, settings: Settings
) -> None:
    upgrade(MigrationConfig(database=settings.database))
    with duckdb.connect(str(settings.database)) as conn:
        conn.execute('ALTER TABLE documents DROP COLUMN "phash"')

    result = dg.materialize(
        [ingest_inputs],
        selection=[DOCUMENTS_ASSET],
        resources={**build_resources(settings), "progress": no_progress},
        run_config={"ops": {INGEST_OP: {"config": {"paths": [str(inputs_dir)]}}}},
        raise_on_error=False,
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert not result.success
    outcome = collect_outcome(result)
    assert len(outcome.failures) == 1
    assert "phash" in outcome.failures[0].message
    assert "db upgrade" in outcome.failures[0].message
    assert _count(settings.database, "documents") == 0


def test_ingestion_asset_launched_alone_writes_when_the_schema_holds(
    inputs_dir: Path, settings: Settings
) -> None:
    upgrade(MigrationConfig(database=settings.database))

    result = dg.materialize(
        [ingest_inputs],
        selection=[DOCUMENTS_ASSET],
        resources={**build_resources(settings), "progress": no_progress},
        run_config={"ops": {INGEST_OP: {"config": {"paths": [str(inputs_dir)]}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    assert _count(settings.database, "documents") == 1
    assert _count(settings.database, "messages") == 0  # not selected, not written


def test_migrate_job_brings_a_fresh_warehouse_to_head_and_runs_only_schema_checks(
    settings: Settings,
) -> None:
    result = defs.resolve_job_def("migrate_job").execute_in_process(
        resources={**build_resources(settings), "progress": no_progress},
        instance=dg.DagsterInstance.ephemeral(),
    )

    outcome = collect_outcome(result)
    assert result.success
    assert {c.asset for c in outcome.checks} == {"egregora_schema"}
    assert all(c.passed for c in outcome.checks)
    assert len(outcome.checks) == 4  # documents, messages, ingest_rejections, history
    assert _count(settings.database, "documents") == 0
