"""Jobs and the daily schedule.

``ingest_job`` selects everything, so ``migrate_schema`` and its blocking
checks always run before the ingestion op in the same run. ``migrate_job`` is
the schema asset and its checks alone (what CI or an operator runs to gate a
warehouse without ingesting). ``full_data_checks_job`` runs the data checks
alone over whole tables (an ingest run's checks judge only what it wrote; see
:mod:`.data_checks`); ``weekly_full_data_checks`` schedules it.
"""

# No ``from __future__ import annotations``: Dagster reads the schedule's resource
# annotation at definition time.

import dagster as dg

from egregora_pipeline.orchestration.data_checks import CHECK_SCOPE_TAG, FULL_SCOPE
from egregora_pipeline.orchestration.ingestion_assets import DOCUMENTS_ASSET, MESSAGES_ASSET
from egregora_pipeline.orchestration.resources import EgregoraSettingsResource, warehouse_display
from egregora_pipeline.orchestration.schema_assets import SCHEMA_ASSET
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_TAG

INGEST_JOB = "ingest_job"
MIGRATE_JOB = "migrate_job"
FULL_DATA_CHECKS_JOB = "full_data_checks_job"

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

full_data_checks_job = dg.define_asset_job(
    name=FULL_DATA_CHECKS_JOB,
    selection=dg.AssetSelection.checks_for_assets(DOCUMENTS_ASSET, MESSAGES_ASSET),
    description=(
        "The data checks over whole tables (ingest runs judge only what they wrote): "
        "catches an old problem no run introduced."
    ),
    tags={CHECK_SCOPE_TAG: FULL_SCOPE},
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


@dg.schedule(
    name="weekly_full_data_checks",
    job=full_data_checks_job,
    cron_schedule="0 6 * * 0",
    execution_timezone="UTC",
    description="Every Sunday at 06:00 UTC, the data checks over whole tables.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def weekly_full_data_checks_schedule(egregora: EgregoraSettingsResource) -> dg.RunRequest:
    """One ``full_data_checks_job`` run, tagged with its warehouse (never a password)."""
    return dg.RunRequest(tags={WAREHOUSE_TAG: warehouse_display(egregora)})
