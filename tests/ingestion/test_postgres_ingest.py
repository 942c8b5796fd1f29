"""Ingestion into a PostgreSQL warehouse gives what ingestion into DuckDB gives.

Each test ingests the same inputs into a DuckDB file and into a real PostgreSQL 18
server (``tests/postgres/server.py``) and compares the reports and the table contents.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb

from egregora_pipeline.ingestion import IngestReport, ingest
from egregora_pipeline.ingestion.postgres_load import ingest_postgres
from egregora_pipeline.settings import Settings
from egregora_pipeline.warehouse_url import PostgresTarget
from tests.ingestion.postgres_warehouse import (
    duckdb_table,
    pg_target,
    postgres_database,
    postgres_server,
    postgres_table,
)

__all__ = ["pg_target", "postgres_database", "postgres_server"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DEMO_EXPORT = ROOT / "tests" / "fixtures" / "whatsapp" / "demo_chat.zip"
TABLES = ("messages", "documents", "ingest_rejections")


def counts(report: IngestReport) -> list[tuple[object, ...]]:
    return [
        (
            str(entry.path),
            entry.kind,
            entry.messages_added,
            entry.messages_skipped,
            entry.documents_added,
            entry.documents_updated,
            entry.documents_skipped,
            len(entry.rejections),
            entry.error,
        )
        for entry in report.inputs
    ]


def both(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    target: PostgresTarget,
    tmp_path: Path,
    paths: list[Path],
    run_id: str = "run-1",
) -> tuple[IngestReport, IngestReport]:
    """Ingest ``paths`` into DuckDB and PostgreSQL (each with its own media store)."""
    on_duckdb = ingest(warehouse, paths, settings=settings, run_id=run_id)
    pg_settings = replace(settings, media_dir=tmp_path / "pg-media")
    on_postgres = ingest_postgres(target, paths, settings=pg_settings, run_id=run_id)
    return on_duckdb, on_postgres


def assert_same_tables(warehouse: duckdb.DuckDBPyConnection, target: PostgresTarget) -> None:
    for table in TABLES:
        assert postgres_table(target, table) == duckdb_table(warehouse, table), table


def test_examples_load_the_same_rows_as_into_duckdb(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, [EXAMPLES])
    assert on_postgres.ok
    assert on_postgres.messages_added == 12
    assert counts(on_postgres) == counts(on_duckdb)
    assert_same_tables(warehouse, pg_target)
    assert len(postgres_table(pg_target, "documents")) == 8
