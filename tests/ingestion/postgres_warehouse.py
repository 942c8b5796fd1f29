"""Shared by the ``test_postgres_*`` ingestion tests: a PostgreSQL warehouse with the
declared tables, and table contents normalised so DuckDB and PostgreSQL compare equal.

The tables are created by the migration engine (``upgrade_connection`` to head),
so the loader is tested on the schema users really get from ``db upgrade``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.ingestion.report import IngestReport
from egregora_pipeline.ingestion.targets import ingest_paths
from egregora_pipeline.migrations import open_warehouse, upgrade_connection
from egregora_pipeline.schema import DECLARED_TABLES
from egregora_pipeline.settings import Settings
from tests.postgres.conftest import postgres_database, postgres_server
from tests.postgres.server import PostgresServer

__all__ = ["ingest_postgres", "pg_target", "postgres_database", "postgres_server"]

RUN_TIME_COLUMNS = frozenset({"created_at", "rejected_at"})
"""Set to the clock of the run that wrote the row, so never equal across two runs."""
JSON_COLUMNS = frozenset(
    name
    for table in DECLARED_TABLES.values()
    for name, dtype in table.schema.items()
    if dtype.is_json()
)


@pytest.fixture
def pg_target(postgres_server: PostgresServer, postgres_database: str) -> PostgresTarget:
    """A fresh PostgreSQL database holding every declared table (empty)."""
    return with_declared_tables(postgres_server.url(postgres_database))


def with_declared_tables(url: str) -> PostgresTarget:
    """The database at ``url`` migrated to head (every declared table, empty)."""
    target = parse_warehouse(url)
    assert isinstance(target, PostgresTarget)
    with open_warehouse(target) as warehouse:
        upgrade_connection(warehouse.conn, "head")
    return target


def ingest_postgres(
    target: PostgresTarget,
    paths: Sequence[Path],
    *,
    settings: Settings,
    run_id: str,
    **options: Any,
) -> IngestReport:
    """The library's ingest of ``paths`` into the PostgreSQL warehouse ``target``."""
    return ingest_paths(paths, warehouse=target, settings=settings, run_id=run_id, **options)


def _normal(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in JSON_COLUMNS:
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def _normalised(
    names: list[str], found: list[tuple[Any, ...]], keep_run_time: bool, leave_out: frozenset[str]
) -> list[dict[str, Any]]:
    out = [
        {
            name: _normal(name, value)
            for name, value in zip(names, row, strict=True)
            if (keep_run_time or name not in RUN_TIME_COLUMNS) and name not in leave_out
        }
        for row in found
    ]
    return sorted(out, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def duckdb_table(
    conn: duckdb.DuckDBPyConnection, table: str, *, keep_run_time: bool = False
) -> list[dict[str, Any]]:
    """Every row of ``table`` in a DuckDB warehouse, normalised, in a stable order."""
    cursor = conn.execute(f'SELECT * FROM "{table}"')
    names = [d[0] for d in cursor.description]
    return _normalised(names, cursor.fetchall(), keep_run_time, frozenset())


def postgres_table(
    target: PostgresTarget,
    table: str,
    *,
    keep_run_time: bool = False,
    leave_out: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Every row of ``table`` in a PostgreSQL warehouse, normalised, in a stable order."""
    with target.connect() as pg:
        cursor = pg.execute(f'SELECT * FROM "{table}"')
        names = [d.name for d in cursor.description or ()]
        return _normalised(names, cursor.fetchall(), keep_run_time, leave_out)
