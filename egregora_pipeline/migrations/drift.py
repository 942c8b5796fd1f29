"""Drift: compare the live warehouse with the declared schema and the revision files (`db check`).

Metadata only (catalog functions and the small bookkeeping table), so it costs
milliseconds whatever the row count; the Dagster asset checks and the in-asset
gate call :func:`check_connection` before every write. Types are compared by Ibis
dtype (:func:`~egregora_pipeline.schema.types.same_type`), so ``VARCHAR`` / ``text``
and ``TIMESTAMPTZ`` / ``timestamp with time zone`` are never drift, on any backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from egregora_pipeline.backends import impl_for
from egregora_pipeline.migrations import bookkeeping, catalog
from egregora_pipeline.migrations.results import CheckReport, ColumnMismatch, TableDrift
from egregora_pipeline.migrations.script import ScriptDirectory
from egregora_pipeline.schema.declared import DECLARED_TABLES
from egregora_pipeline.schema.types import same_type


def table_drift(
    conn: Any, live_tables: dict[str, dict[str, catalog.LiveColumn]]
) -> dict[str, TableDrift]:
    """Per declared table: missing, mismatched and undeclared columns.

    Types are shown as the backend's catalog names them: DuckDB type names on DuckDB,
    Ibis type strings elsewhere."""
    impl = impl_for(conn)
    result: dict[str, TableDrift] = {}
    for name, table in DECLARED_TABLES.items():
        live = live_tables.get(name)
        if live is None:
            result[name] = TableDrift(table=name, exists=False, missing=list(table.schema))
            continue
        missing: list[str] = []
        mismatched: list[ColumnMismatch] = []
        for column, dtype in table.schema.items():
            have = live.get(column)
            if have is None:
                missing.append(column)
                continue
            expected_type = impl.catalog_type(dtype)
            type_ok = same_type(have.type, dtype)
            if not type_ok or have.nullable != dtype.nullable:
                actual = impl.shown_type(have.type)
                mismatched.append(
                    ColumnMismatch(
                        column=column,
                        expected_type=expected_type,
                        actual_type=expected_type if type_ok else actual,
                        expected_nullable=bool(dtype.nullable),
                        actual_nullable=have.nullable,
                    )
                )
        extra = [c for c in live if c not in table.schema]
        result[name] = TableDrift(name, True, missing, mismatched, extra)
    return result


def check_connection(
    conn: Any,
    *,
    versions_dir: Path | None = None,
    scripts: ScriptDirectory | None = None,
    database: str | None = None,
) -> CheckReport:
    """Check a connected warehouse; reads metadata only and never writes."""
    if scripts is None:  # not ``or``: an empty chain is falsy, and must stay empty
        scripts = ScriptDirectory.load(versions_dir)
    state = bookkeeping.verify(bookkeeping.read(conn), scripts)
    head = scripts.head or "base"
    return CheckReport(
        current=state.current,
        head=head,
        at_head=state.current == scripts.head,
        history_ok=state.ok,
        history_problems=state.problems,
        tables=table_drift(conn, catalog.all_columns(conn)),
        database=database,
    )
