"""The Dagster code location (``workspace.yaml`` and ``[tool.dagster]`` load ``defs``).

Wiring only: every definition lives in :mod:`egregora_pipeline.orchestration`.
Resources are built from the ``EGREGORA_*`` environment at load time, and the
warehouse's backend -- a DuckDB file or a PostgreSQL URL in ``EGREGORA_DATABASE``
-- picks the resource, the asset kinds and the pool: DuckDB's single writer puts
every warehouse step in the pool ``egregora_warehouse`` (limit 1); PostgreSQL
takes concurrent writers, so its steps have no pool.
"""

from __future__ import annotations

import dagster as dg

from egregora_pipeline.orchestration.data_checks import build_warehouse_data_checks
from egregora_pipeline.orchestration.ingestion_assets import build_ingest_inputs, no_progress
from egregora_pipeline.orchestration.jobs import (
    daily_ingest_schedule,
    full_data_checks_job,
    ingest_job,
    ingestion_automation_sensor,
    migrate_job,
    weekly_full_data_checks_schedule,
)
from egregora_pipeline.orchestration.pool import warehouse_kind, warehouse_pool
from egregora_pipeline.orchestration.resources import build_resources
from egregora_pipeline.orchestration.schema_assets import build_schema_assets
from egregora_pipeline.orchestration.sensors import inbox_sensor
from egregora_pipeline.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    """The code location for ``settings``: its warehouse (``settings.database``, parsed
    once where the settings were read) picks the pool, the asset kinds and the resource."""
    target = settings.database
    pool, kind = warehouse_pool(target), warehouse_kind(target)
    migrate_schema, egregora_schema_checks = build_schema_assets(pool, kind)
    return dg.Definitions(
        assets=[migrate_schema, build_ingest_inputs(pool, kind)],
        asset_checks=[egregora_schema_checks, build_warehouse_data_checks(pool)],
        jobs=[ingest_job, migrate_job, full_data_checks_job],
        schedules=[daily_ingest_schedule, weekly_full_data_checks_schedule],
        sensors=[inbox_sensor, ingestion_automation_sensor],
        resources={**build_resources(settings), "progress": no_progress},
    )


defs = build_defs(Settings.from_env())
