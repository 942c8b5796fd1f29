"""The migration engine: versioned, checksummed revisions for the DuckDB warehouse.

An Alembic for Ibis/DuckDB, without Dagster: revision files
(``migrations/versions/NNNN_slug.py``) form one linear chain; the warehouse
records each applied revision in ``egregora_migrations`` (with the file's
checksum) in the same transaction as the change; after the revisions, the
idempotent *reconcile* adds any declared column that is missing, in place.
Warehouses without bookkeeping are *adopted* from whichever historical layout
they are in (docs/schema.md). See ``docs/migrations.md`` for the user guide.
"""

from egregora_pipeline.migrations.check import check_connection
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
from egregora_pipeline.migrations.errors import (
    AdoptionError,
    DestructiveOperationError,
    DuplicateRevisionError,
    HistoryError,
    MigrationError,
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

__all__ = [
    "BACKFILLS",
    "AdoptionError",
    "AppliedRevision",
    "CheckReport",
    "Column",
    "ColumnMismatch",
    "DestructiveOperationError",
    "DuplicateRevisionError",
    "HistoryEntry",
    "HistoryError",
    "MigrationConfig",
    "MigrationError",
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
    "check",
    "check_connection",
    "current",
    "downgrade",
    "history",
    "plan",
    "plan_downgrade",
    "revision",
    "stamp",
    "upgrade",
    "upgrade_connection",
]
