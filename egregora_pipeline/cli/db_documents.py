"""The ``--json`` answer of each ``db`` command, one small function per command.

Each function turns what the migration engine returned into a plain dict;
``cli/db.py`` only chooses between printing it (:func:`~.json_output.emit`)
and drawing its human form. The shape of every document is a JSON Schema in
``cli/schemas/`` (named after the command) and is described in
``docs/cli-json.md``: a field added here must be added there too (the tests
validate real output against the schemas).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egregora_pipeline.cli.json_output import document, warehouse_label

if TYPE_CHECKING:
    from egregora_pipeline.backends import WarehouseTarget
    from egregora_pipeline.backends.backup_base import BackupInfo
    from egregora_pipeline.backends.storage_base import StorageFormat, StorageUpgradeResult
    from egregora_pipeline.migrations import CheckReport, MigrationPlan, UpgradeResult
    from egregora_pipeline.migrations.results import HistoryEntry, TableDrift

    Named = WarehouseTarget | str | Path
    """A warehouse as a document may name it: the parsed target, or a name read back."""


def backup_fields(info: BackupInfo) -> dict[str, Any]:
    """One backup as every document shows it (``db backup``, ``backups``, ``restore``, ...)."""
    return {
        "path": str(info.path),
        "size_bytes": info.size,
        "revision": info.revision,
        "sha256": info.sha256,
        "taken_at": info.taken_at.isoformat(),
        "kind": info.kind,
        "database": warehouse_label(info.database),
        "reason": info.reason,
        "backend": info.backend,
    }


def current_document(
    database: Named, revision: str | None, storage: StorageFormat | None = None
) -> dict[str, Any]:
    """``db current``: the applied revision, null at base; the file's storage format."""
    return document(
        "db current",
        warehouse=warehouse_label(database),
        revision=revision,
        at_base=not revision,
        storage_format=storage.document() if storage is not None else None,
    )


def history_document(
    database: Named, entries: Iterable[HistoryEntry], problems: Iterable[str]
) -> dict[str, Any]:
    """``db history``: every revision oldest first, the applied ones with when and by whom."""
    rows = [
        {
            "revision": e.revision_id,
            "parent": e.parent_id,
            "message": e.message,
            "path": str(e.path),
            "applied": e.applied,
            "applied_at": e.applied_at,
            "applied_by": e.applied_by,
            "note": e.note,
            "is_head": e.is_head,
            "is_current": e.is_current,
        }
        for e in entries
    ]
    return document(
        "db history",
        warehouse=warehouse_label(database),
        current=next((r["revision"] for r in rows if r["is_current"]), None),
        head=next((r["revision"] for r in rows if r["is_head"]), None),
        revisions=rows,
        problems=list(problems),
    )


def _table_fields(drift: TableDrift) -> dict[str, Any]:
    return {
        "table": drift.table,
        "exists": drift.exists,
        "ok": drift.ok,
        "missing_columns": list(drift.missing) if drift.exists else [],
        "mismatched_columns": [
            {
                "column": m.column,
                "expected_type": m.expected_type,
                "found_type": m.actual_type,
                "expected_nullable": m.expected_nullable,
                "found_nullable": m.actual_nullable,
                "problem": m.describe(),
            }
            for m in drift.mismatched
        ],
        "extra_columns": list(drift.extra),
    }


def check_document(
    database: Named, report: CheckReport, storage: StorageFormat | None = None
) -> dict[str, Any]:
    """``db check``: the verdict, and for a failure each table and column that differs."""
    return document(
        "db check",
        warehouse=warehouse_label(report.database or database),
        ok=report.ok,
        current=report.current,
        head=report.head,
        at_head=report.at_head,
        history_ok=report.history_ok,
        history_problems=list(report.history_problems),
        tables=[_table_fields(drift) for drift in report.tables.values()],
        problems=report.problems(),
        storage_format=storage.document() if storage is not None else None,
    )


def plan_document(command: str, database: Named, plan: MigrationPlan) -> dict[str, Any]:
    """``db plan``, ``db upgrade --sql``, ``db downgrade --sql``: the steps and their exact SQL."""
    return document(
        command,
        warehouse=warehouse_label(database),
        from_revision=plan.from_revision,
        to_revision=plan.to_revision,
        empty=plan.is_empty,
        adopted_layout=plan.adopted_layout,
        steps=[
            {
                "kind": step.kind,
                "revision": step.revision_id,
                "description": step.description,
                "statements": list(step.statements),
            }
            for step in plan.steps
        ],
        reconcile_actions=list(plan.reconcile_actions),
        warnings=list(plan.warnings),
        sql=plan.sql(),
    )


def upgrade_document(
    command: str, database: Named, result: UpgradeResult, undo: str | None
) -> dict[str, Any]:
    """``db upgrade`` / ``db downgrade``: what ran, the backup taken first, how to undo it."""
    return document(
        command,
        warehouse=warehouse_label(database),
        changed=result.changed,
        from_revision=result.from_revision,
        to_revision=result.to_revision,
        adopted_layout=result.adopted_layout,
        revisions=[
            {
                "revision": applied.revision_id,
                "message": applied.message,
                "seconds": applied.duration_seconds,
            }
            for applied in result.applied
        ],
        reconcile_actions=list(result.reconcile_actions),
        warnings=list(result.warnings),
        duration_seconds=result.duration_seconds,
        backup=backup_fields(result.backup) if result.backup is not None else None,
        undo=undo,
    )


def stamp_document(database: Named, result: UpgradeResult) -> dict[str, Any]:
    """``db stamp``: the revision now recorded (null: base)."""
    return document(
        "db stamp",
        warehouse=warehouse_label(database),
        from_revision=result.from_revision,
        to_revision=result.to_revision,
    )


def revision_document(path: Path, message: str, autogenerate: bool) -> dict[str, Any]:
    """``db revision``: the file written."""
    return document(
        "db revision",
        path=str(path),
        revision=path.name.split("_", 1)[0],
        message=message,
        autogenerate=autogenerate,
    )


def backup_document(database: Named, info: BackupInfo, restore_with: str) -> dict[str, Any]:
    """``db backup``: the file written, and the command that puts it back."""
    return document(
        "db backup",
        warehouse=warehouse_label(database),
        backup=backup_fields(info),
        restore_command=restore_with,
    )


def backups_document(name: str, folder: Path, found: Iterable[BackupInfo]) -> dict[str, Any]:
    """``db backups``: the warehouse's backups, newest first (``backups[0]`` is the newest)."""
    return document(
        "db backups",
        warehouse=warehouse_label(name),
        folder=str(folder),
        backups=[backup_fields(info) for info in found],
    )


def restore_document(
    database: Named,
    restored: BackupInfo,
    previous: BackupInfo | None = None,
    kept_database: str | None = None,
) -> dict[str, Any]:
    """``db restore``: what was put back, and where the replaced warehouse was kept."""
    return document(
        "db restore",
        warehouse=warehouse_label(database),
        restored=backup_fields(restored),
        previous=backup_fields(previous) if previous is not None else None,
        kept_database=kept_database,
    )


def storage_upgrade_document(
    result: StorageUpgradeResult, restore_with: str | None
) -> dict[str, Any]:
    """``db storage-upgrade``: the formats before and after, and the backup taken first."""
    return document(
        "db storage-upgrade",
        warehouse=warehouse_label(result.database),
        requested=result.requested,
        changed=result.changed,
        before=result.before.document(),
        after=result.after.document(),
        tables=result.tables,
        rows=result.rows,
        backup=backup_fields(result.backup) if result.backup is not None else None,
        restore_command=restore_with,
    )
