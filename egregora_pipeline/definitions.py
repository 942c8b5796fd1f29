"""The Dagster code location (``workspace.yaml`` and ``[tool.dagster]`` load ``defs``).

Wiring only: every definition lives in :mod:`egregora_pipeline.orchestration`.
Resources are built from the ``EGREGORA_*`` environment at load time.
"""

from __future__ import annotations

import dagster as dg

from egregora_pipeline.orchestration.data_checks import warehouse_data_checks
from egregora_pipeline.orchestration.ingestion_assets import ingest_inputs, no_progress
from egregora_pipeline.orchestration.jobs import (
    daily_ingest_schedule,
    ingest_job,
    ingestion_automation_sensor,
    migrate_job,
)
from egregora_pipeline.orchestration.resources import build_resources
from egregora_pipeline.orchestration.schema_assets import egregora_schema_checks, migrate_schema
from egregora_pipeline.orchestration.sensors import inbox_sensor
from egregora_pipeline.settings import Settings

defs = dg.Definitions(
    assets=[migrate_schema, ingest_inputs],
    asset_checks=[egregora_schema_checks, warehouse_data_checks],
    jobs=[ingest_job, migrate_job],
    schedules=[daily_ingest_schedule],
    sensors=[inbox_sensor, ingestion_automation_sensor],
    resources={**build_resources(Settings.from_env()), "progress": no_progress},
)
