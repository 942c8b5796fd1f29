"""Jobs and the daily schedule.

``ingest_job`` selects everything, so ``migrate_schema`` and its blocking
checks always run before the ingestion op in the same run. ``migrate_job`` is
the schema asset and its checks alone (what CI or an operator runs to gate a
warehouse without ingesting).
"""

# No ``from __future__ import annotations``: Dagster reads the schedule's resource
# annotation at definition time.

import dagster as dg

from egregora_pipeline.orchestration.resources import EgregoraSettingsResource, warehouse_display
from egregora_pipeline.orchestration.schema_assets import SCHEMA_ASSET
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_TAG

INGEST_JOB = "ingest_job"
MIGRATE_JOB = "migrate_job"

ingest_job = dg.define_asset_job(
    name=INGEST_JOB,
    selection=dg.AssetSelection.all(),
    description="Migrate the schema, gate on the blocking checks, ingest, check the data.",
)

migrate_job = dg.define_asset_job(
    name=MIGRATE_JOB,
    selection=dg.AssetSelection.assets(SCHEMA_ASSET),
    description="Bring the warehouse to head and run the blocking schema checks.",
)


@dg.schedule(
    name="daily_ingest",
    job=ingest_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    description="Every day at 05:00 UTC, ingest whatever is in the inbox.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_ingest_schedule(egregora: EgregoraSettingsResource) -> dg.RunRequest:
    """One ``ingest_job`` run over the inbox, tagged with its warehouse (never a password)."""
    return dg.RunRequest(tags={WAREHOUSE_TAG: warehouse_display(egregora)})


ingestion_automation_sensor = dg.AutomationConditionSensorDefinition(
    name="ingestion_automation",
    target=dg.AssetSelection.groups("ingestion"),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Declarative automation: ingest the inbox after the schema asset updates, "
        "once its blocking checks passed."
    ),
)
