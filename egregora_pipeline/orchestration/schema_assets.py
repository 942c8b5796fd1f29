"""The ``migrate_schema`` op, its asset ``egregora_schema``, and the blocking checks.

``migrate_schema`` brings the warehouse to head (revisions, then the
idempotent reconcile) through the migration engine. The checks then re-read
the catalog and fail -- blocking every ingestion step of the run -- if any
declared column is missing or has another type or nullability, or if the
migration history is not intact. Drift the engine must not repair (a column
whose type was changed by hand) therefore stops ingestion instead of being
written into.

The column checks are ``db check``'s: the engine's catalog read and its comparison
by Ibis dtype, on DuckDB and PostgreSQL alike. The migration and the checks
go through :func:`.warehouse.engine_connection` (a DuckDB connection, or a
PostgreSQL session where the engine takes its advisory lock and commits each
revision with its bookkeeping row). :func:`build_schema_assets` makes the
definitions for one backend (its pool and kind); the module-level ones are DuckDB's.
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
from egregora_pipeline.orchestration.pool import DEFAULT_KIND, DEFAULT_POOL
from egregora_pipeline.orchestration.resources import Warehouse
from egregora_pipeline.orchestration.warehouse import (
    engine_connection,
)
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
                "type (compared by Ibis dtype) and nullability."
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


def build_schema_assets(
    pool: str | None = DEFAULT_POOL, kind: str = DEFAULT_KIND
) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """``migrate_schema`` and its blocking checks, in ``pool`` (none: no limit)."""

    @dg.multi_asset(
        name="migrate_schema",
        specs=[
            dg.AssetSpec(
                SCHEMA_ASSET,
                group_name="schema",
                kinds={kind},
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
        pool=pool,
    )
    def migrate_schema(
        context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
    ) -> dg.MaterializeResult:
        """Upgrade the warehouse to head and reconcile declared columns."""
        with engine_connection(warehouse, step="migrate_schema") as conn:
            try:
                result = upgrade_connection(
                    conn, "head", lock_timeout=warehouse.lock_timeout_seconds
                )
            except EgregoraError as error:
                backup = getattr(error, "backup", None)
                if backup is None:
                    raise
                # The message names the backup and the restore command; Dagster shows a
                # Failure's description as is (a plain exception's innermost cause wins).
                raise dg.Failure(
                    description=str(error), metadata=backup_metadata(backup)
                ) from error
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
        pool=pool,
    )
    def egregora_schema_checks(
        warehouse: dg.ResourceParam[Warehouse],
    ) -> Iterator[dg.AssetCheckResult]:
        """One catalog read (metadata only) answers both: the declared columns, compared by
        the engine's rule -- the one ``db check`` uses -- and the migration history."""
        with engine_connection(
            warehouse, step="the blocking schema checks", read_only=True
        ) as conn:
            report = check_connection(conn)
        for name, drift in report.tables.items():
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

    return migrate_schema, egregora_schema_checks


migrate_schema, egregora_schema_checks = build_schema_assets()
"""The DuckDB definitions (pool ``egregora_warehouse``); ``definitions.py`` builds per backend."""
