"""``plan`` / ``upgrade --sql`` print the exact SQL and change nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from egregora_pipeline.migrations import MigrationConfig, check, plan, upgrade
from tests.migrations.conftest import build_legacy_v2, build_partial_unified, query


def _fingerprint(database: Path) -> tuple[str, int, bool]:
    wal = database.with_name(database.name + ".wal")
    return (
        hashlib.sha256(database.read_bytes()).hexdigest(),
        database.stat().st_mtime_ns,
        wal.exists(),
    )


def _comparable(statements: list[str]) -> list[str]:
    """Statements without their run-time values.

    Bookkeeping rows carry the duration and who ran them; the migration time is a
    literal taken when the plan is made.
    """
    return [
        s.split(" VALUES ")[0] if "egregora_migrations" in s else s.split("TIMESTAMPTZ")[0]
        for s in statements
    ]


def _catalog(database: Path) -> list[tuple[object, ...]]:
    return query(
        database,
        "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() ORDER BY ALL",
    )


def test_plan_of_a_missing_file_does_not_create_it(config: MigrationConfig) -> None:
    result = plan(config)

    assert not config.database.exists()
    assert not config.database.parent.exists()
    assert 'CREATE TABLE "documents"' in result.sql()
    assert not result.is_empty


def test_plan_of_a_partial_warehouse_changes_no_byte(config: MigrationConfig) -> None:
    build_partial_unified(config.database)
    before, catalog_before = _fingerprint(config.database), _catalog(config.database)

    planned = plan(config)
    as_sql = upgrade(config, sql_only=True)

    assert _fingerprint(config.database) == before
    assert _catalog(config.database) == catalog_before
    assert planned.adopted_layout == "partial_unified"
    assert 'ALTER TABLE "documents" ADD COLUMN "slug" VARCHAR' in planned.sql()
    assert _comparable(as_sql.statements) == _comparable(planned.statements)


def test_the_plan_is_the_sql_an_upgrade_runs(config: MigrationConfig) -> None:
    build_legacy_v2(config.database)

    planned = plan(config)
    applied = upgrade(config)

    assert _comparable(planned.statements) == _comparable(applied.statements)
    assert planned.adopted_layout == applied.adopted_layout == "legacy_v2"


def test_plan_at_head_is_empty(config: MigrationConfig) -> None:
    upgrade(config)

    result = plan(config)

    assert result.is_empty
    assert "nothing to do" in result.sql()
    assert check(config).ok
