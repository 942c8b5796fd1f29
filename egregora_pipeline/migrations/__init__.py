"""The migration engine: versioned, checksummed revisions for the DuckDB warehouse.

An Alembic for Ibis/DuckDB, without Dagster: revision files
(``migrations/versions/NNNN_slug.py``) form one linear chain; the warehouse
records each applied revision in ``egregora_migrations`` (with the file's
checksum) in the same transaction as the change; after the revisions, the
idempotent *reconcile* adds any declared column that is missing, in place.
Warehouses without bookkeeping are *adopted* from whichever historical layout
they are in (docs/schema.md). See ``docs/migrations.md`` for the user guide.

Names are loaded on first use (PEP 562), so a command that only reads the
bookkeeping (``db current``) does not import the whole engine and Ibis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egregora_pipeline.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from egregora_pipeline.migrations.commands import (
        MigrationConfig,
        check,
        current,
        downgrade,
        history,
        plan,
        plan_downgrade,
        revision,
        stamp,
        upgrade,
        upgrade_connection,
    )
    from egregora_pipeline.migrations.drift import check_connection
    from egregora_pipeline.migrations.errors import (
        AdoptionError,
        BackendNotSupportedError,
        DestructiveOperationError,
        DuplicateRevisionError,
        HistoryError,
        MigrationError,
        MigrationLockedError,
        MissingParentError,
        MultipleHeadsError,
        ReconcileError,
        RevisionExistsError,
        RevisionFailedError,
        RevisionFileError,
        RevisionScriptError,
        UnknownTargetError,
    )
    from egregora_pipeline.migrations.ops import Column, Operations
    from egregora_pipeline.migrations.reconcile import BACKFILLS
    from egregora_pipeline.migrations.results import (
        AppliedRevision,
        CheckReport,
        ColumnMismatch,
        HistoryEntry,
        MigrationPlan,
        PlanStep,
        TableDrift,
        UpgradeResult,
    )
    from egregora_pipeline.migrations.warehouse import Warehouse, open_warehouse

_HOME: dict[str, str] = {
    "check_connection": "drift",
    "MigrationConfig": "commands",
    "check": "commands",
    "current": "commands",
    "downgrade": "commands",
    "history": "commands",
    "plan": "commands",
    "plan_downgrade": "commands",
    "revision": "commands",
    "stamp": "commands",
    "upgrade": "commands",
    "upgrade_connection": "commands",
    "AdoptionError": "errors",
    "BackendNotSupportedError": "errors",
    "MigrationLockedError": "errors",
    "Warehouse": "warehouse",
    "open_warehouse": "warehouse",
    "DestructiveOperationError": "errors",
    "DuplicateRevisionError": "errors",
    "HistoryError": "errors",
    "MigrationError": "errors",
    "MissingParentError": "errors",
    "MultipleHeadsError": "errors",
    "ReconcileError": "errors",
    "RevisionExistsError": "errors",
    "RevisionFailedError": "errors",
    "RevisionFileError": "errors",
    "RevisionScriptError": "errors",
    "UnknownTargetError": "errors",
    "Column": "ops",
    "Operations": "ops",
    "BACKFILLS": "reconcile",
    "AppliedRevision": "results",
    "CheckReport": "results",
    "ColumnMismatch": "results",
    "HistoryEntry": "results",
    "MigrationPlan": "results",
    "PlanStep": "results",
    "TableDrift": "results",
    "UpgradeResult": "results",
}

__getattr__ = lazy_getattr(__name__, _HOME)


__all__ = [
    "BACKFILLS",
    "AdoptionError",
    "AppliedRevision",
    "BackendNotSupportedError",
    "CheckReport",
    "Column",
    "ColumnMismatch",
    "DestructiveOperationError",
    "DuplicateRevisionError",
    "HistoryEntry",
    "HistoryError",
    "MigrationConfig",
    "MigrationError",
    "MigrationLockedError",
    "MigrationPlan",
    "MissingParentError",
    "MultipleHeadsError",
    "Operations",
    "PlanStep",
    "ReconcileError",
    "RevisionExistsError",
    "RevisionFailedError",
    "RevisionFileError",
    "RevisionScriptError",
    "TableDrift",
    "UnknownTargetError",
    "UpgradeResult",
    "Warehouse",
    "check",
    "check_connection",
    "current",
    "downgrade",
    "history",
    "open_warehouse",
    "plan",
    "plan_downgrade",
    "revision",
    "stamp",
    "upgrade",
    "upgrade_connection",
]
