"""Turn engine and ingestion results into Dagster metadata a user can read in the UI.

Kept apart from the asset definitions so the wording of what an operator sees
(tables of missing columns, the SQL that ran) lives in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import ibis

from egregora_pipeline.backends.backup_base import BackupInfo
from egregora_pipeline.migrations import CheckReport, TableDrift, UpgradeResult
from egregora_pipeline.migrations.catalog import LiveColumn
from egregora_pipeline.schema import duckdb_type


def column_schema(schema: ibis.Schema) -> dg.TableSchema:
    """The declared columns as a Dagster ``TableSchema`` (DuckDB type names)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=duckdb_type(dtype),
                constraints=dg.TableColumnConstraints(nullable=dtype.nullable),
            )
            for name, dtype in schema.items()
        ]
    )


def live_column_schema(live: Mapping[str, LiveColumn]) -> dg.TableSchema:
    """A table's columns as the catalog reports them (after the migration ran)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.type,
                constraints=dg.TableColumnConstraints(nullable=column.nullable),
            )
            for column in live.values()
        ]
    )


def sql_markdown(statements: Sequence[str]) -> dg.MetadataValue:
    """SQL statements as a fenced Markdown block (or a note that none ran)."""
    if not statements:
        return dg.MetadataValue.md("_No statement was needed: the warehouse was already at head._")
    body = "\n".join(s.rstrip().rstrip(";") + ";" for s in statements)
    return dg.MetadataValue.md(f"```sql\n{body}\n```")


def upgrade_metadata(result: UpgradeResult) -> dict[str, Any]:
    """What ``migrate_schema`` did: revisions, reconcile actions, SQL, timing."""
    applied = [f"{r.revision_id}: {r.message} ({r.duration_seconds:.3f}s)" for r in result.applied]
    return {
        "from_revision": result.from_revision or "base",
        "to_revision": result.to_revision or "base",
        "applied_revisions": dg.MetadataValue.json(applied),
        "reconcile_actions": dg.MetadataValue.json(list(result.reconcile_actions)),
        "adopted_layout": result.adopted_layout or "none",
        "warnings": dg.MetadataValue.json(list(result.warnings)),
        "plan_sql": sql_markdown(result.statements),
        "duration_seconds": dg.MetadataValue.float(result.duration_seconds),
        **backup_metadata(result.backup),
    }


def backup_metadata(info: BackupInfo | None) -> dict[str, Any]:
    """The automatic backup taken before the migration (``backup: none`` when none was needed)."""
    if info is None:
        return {"backup": "none (nothing dropped or rewritten)"}
    return {
        "backup": dg.MetadataValue.path(str(info.path)),
        "backup_sha256": info.sha256 or "unknown",
        "backup_revision": info.revision,
        "backup_reason": info.reason or "",
    }


def drift_metadata(drift: TableDrift) -> dict[str, Any]:
    """Missing and mismatched columns of one table, as lists and a Markdown table."""
    rows = [
        f"| `{m.column}` | {m.expected_type}{'' if m.expected_nullable else ' NOT NULL'} "
        f"| {m.actual_type}{'' if m.actual_nullable else ' NOT NULL'} |"
        for m in drift.mismatched
    ]
    rows += [f"| `{column}` | declared | **missing** |" for column in drift.missing]
    table = (
        "| column | declared | live |\n|---|---|---|\n" + "\n".join(rows)
        if rows
        else "All columns match."
    )
    return {
        "table": drift.table,
        "table_exists": drift.exists,
        "missing_columns": dg.MetadataValue.json(list(drift.missing)),
        "mismatched_columns": dg.MetadataValue.json([m.describe() for m in drift.mismatched]),
        "diff": dg.MetadataValue.md(
            table if drift.exists else f"Table `{drift.table}` does not exist."
        ),
    }


def history_metadata(report: CheckReport) -> dict[str, Any]:
    """Where the bookkeeping stands and what is wrong with it, if anything."""
    return {
        "current_revision": report.current or "base",
        "head_revision": report.head,
        "at_head": report.at_head,
        "problems": dg.MetadataValue.json(list(report.history_problems)),
    }


def counts_metadata(counts: Mapping[str, int]) -> dict[str, Any]:
    """Integer counters as Dagster int metadata."""
    return {name: dg.MetadataValue.int(value) for name, value in counts.items()}
