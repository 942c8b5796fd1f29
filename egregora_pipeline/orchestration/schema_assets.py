"""The ``migrate_schema`` op, its asset ``egregora_schema``, and the blocking checks.

``migrate_schema`` brings the warehouse to head (revisions, then the
idempotent reconcile) through the migration engine. The checks then re-read
the catalog and fail -- blocking every ingestion step of the run -- if any
declared column is missing or has another type or nullability, or if the
migration history is not intact. Drift the engine must not repair (a column
whose type was changed by hand) therefore stops ingestion instead of being
written into.
"""

# No ``from __future__ import annotations``: Dagster reads the annotations of
# decorated functions (context and resource types) at definition time.

from collections.abc import Iterator

import dagster as dg

from egregora_pipeline.errors import EgregoraError
from egregora_pipeline.migrations import catalog, check_connection, upgrade_connection
from egregora_pipeline.orchestration.metadata import (
    backup_metadata,
    column_schema,
    drift_metadata,
    history_metadata,
    live_column_schema,
    upgrade_metadata,
)
from egregora_pipeline.orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from egregora_pipeline.schema import DECLARED_TABLES, DOCUMENTS, MESSAGES

SCHEMA_ASSET = dg.AssetKey("egregora_schema")
HISTORY_CHECK = "migration_history_intact"


def columns_check_name(table: str) -> str:
    """Name of the blocking check guarding ``table``'s declared columns."""
    return f"{table}_columns_match_declared"


SCHEMA_CHECK_SPECS: tuple[dg.AssetCheckSpec, ...] = (
    *(
        dg.AssetCheckSpec(
            name=columns_check_name(table.name),
            asset=SCHEMA_ASSET,
            blocking=True,
            description=(
                f"Every declared column of `{table.name}` exists with its declared "
                "DuckDB type and nullability."
            ),
        )
        for table in DECLARED_TABLES.values()
    ),
    dg.AssetCheckSpec(
        name=HISTORY_CHECK,
        asset=SCHEMA_ASSET,
        blocking=True,
        description="At head, and every applied revision's checksum matches its file.",
    ),
)


@dg.multi_asset(
    name="migrate_schema",
    specs=[
        dg.AssetSpec(
            SCHEMA_ASSET,
            group_name="schema",
            kinds={"duckdb"},
            description=(
                "The warehouse schema at head: revisions applied, missing declared "
                "columns added in place, legacy layouts adopted."
            ),
            metadata={
                "documents_columns": column_schema(DOCUMENTS.schema),
                "messages_columns": column_schema(MESSAGES.schema),
            },
        )
    ],
    pool=WAREHOUSE_POOL,
)
def migrate_schema(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Upgrade the warehouse to head and reconcile declared columns."""
    with warehouse.get_connection() as conn:
        try:
            result = upgrade_connection(conn, "head")
        except EgregoraError as error:
            backup = getattr(error, "backup", None)
            if backup is None:
                raise
            # The message names the backup and the restore command; Dagster shows a
            # Failure's description as is (a plain exception's innermost cause wins).
            raise dg.Failure(description=str(error), metadata=backup_metadata(backup)) from error
        live = catalog.all_columns(conn)
    if result.backup is not None:
        context.log.info("backed up before migrating: %s", result.backup.describe())
    context.log.info(
        "schema %s -> %s: %d revision(s), %d reconcile action(s)",
        result.from_revision or "base",
        result.to_revision or "base",
        len(result.applied),
        len(result.reconcile_actions),
    )
    return dg.MaterializeResult(
        asset_key=SCHEMA_ASSET,
        metadata={
            **upgrade_metadata(result),
            "documents_columns": live_column_schema(live.get(DOCUMENTS.name, {})),
            "messages_columns": live_column_schema(live.get(MESSAGES.name, {})),
        },
    )


@dg.multi_asset_check(
    specs=SCHEMA_CHECK_SPECS,
    name="egregora_schema_checks",
    description="Blocking: declared columns present with declared types; history intact.",
    pool=WAREHOUSE_POOL,
)
def egregora_schema_checks(warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    """Read the catalog once (metadata only) and judge every declared table and the history."""
    with warehouse.get_read_only_connection() as conn:
        report = check_connection(conn)
    for name in DECLARED_TABLES:
        drift = report.tables[name]
        yield dg.AssetCheckResult(
            asset_key=SCHEMA_ASSET,
            check_name=columns_check_name(name),
            passed=drift.ok,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=drift_metadata(drift),
        )
    yield dg.AssetCheckResult(
        asset_key=SCHEMA_ASSET,
        check_name=HISTORY_CHECK,
        passed=report.history_ok and report.at_head,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=history_metadata(report),
    )
