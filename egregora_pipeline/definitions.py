"""The Dagster code location (``workspace.yaml`` and ``[tool.dagster]`` load ``defs``).

Wiring only: every definition lives in :mod:`egregora_pipeline.orchestration`.
Resources are built from the ``EGREGORA_*`` environment at load time, and the
warehouse's backend -- a DuckDB file or a PostgreSQL URL in ``EGREGORA_DATABASE``
-- picks the resource, the asset kinds and the pool: DuckDB's single writer puts
every warehouse step in the pool ``egregora_warehouse`` (limit 1); PostgreSQL
takes concurrent writers, so its steps have no pool.
"""

from __future__ import annotations

import os

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
from egregora_pipeline.orchestration.resources import WAREHOUSE_URL_ENV, build_resources
from egregora_pipeline.orchestration.schema_assets import build_schema_assets
from egregora_pipeline.orchestration.sensors import inbox_sensor
from egregora_pipeline.orchestration.warehouse import warehouse_kind, warehouse_pool
from egregora_pipeline.settings import Settings
from egregora_pipeline.warehouse_url import parse_warehouse


def build_defs(settings: Settings, database: str | None = None) -> dg.Definitions:
    """The code location for ``settings``; ``database`` is the raw warehouse value if known.

    (``Settings.database`` is a path, which folds a PostgreSQL URL's ``//``: pass
    the URL itself as ``database``.)
    """
    target = parse_warehouse(database if database is not None else settings.database)
    pool, kind = warehouse_pool(target), warehouse_kind(target)
    migrate_schema, egregora_schema_checks = build_schema_assets(pool, kind)
    return dg.Definitions(
        assets=[migrate_schema, build_ingest_inputs(pool, kind)],
        asset_checks=[egregora_schema_checks, build_warehouse_data_checks(pool)],
        jobs=[ingest_job, migrate_job, full_data_checks_job],
        schedules=[daily_ingest_schedule, weekly_full_data_checks_schedule],
        sensors=[inbox_sensor, ingestion_automation_sensor],
        resources={**build_resources(settings, database), "progress": no_progress},
    )


defs = build_defs(Settings.from_env(), os.environ.get(WAREHOUSE_URL_ENV) or None)
