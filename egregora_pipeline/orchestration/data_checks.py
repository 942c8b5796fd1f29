"""Checks on the ingested data: per-``doc_type`` rules and unique identity keys.

Not blocking (the rows are already written when they run), but ERROR
severity: ``egregora-pipeline ingest`` and CI fail on them, and the UI shows
a sample of the offending rows. One is a warning (WARN): threads out of time
order are loaded and flagged, and shown without failing the run.

**Scope.** In a run that ingested (it materialized ``messages`` / ``documents``),
each check judges what that run wrote: its messages (``created_by_run``) and
the documents its inputs name -- added, updated or unchanged (listed in the materialization's
``run_document_ids``), against the whole table where the rule needs it. So
checking costs what the run's input costs, not what the warehouse holds. In any
other run -- ``full_data_checks_job``, its weekly schedule, a check launched
alone from the UI -- the checks judge the whole table. Each result says which in
its ``scope`` metadata (``run`` or ``full table``).
"""

# No ``from __future__ import annotations``: Dagster reads the annotations of
# decorated functions (context and resource types) at definition time.

from collections.abc import Iterator, Mapping

import dagster as dg

from egregora_pipeline.orchestration.ingestion_assets import (
    DOCUMENTS_ASSET,
    MESSAGES_ASSET,
    RUN_DOCUMENT_IDS,
)
from egregora_pipeline.orchestration.pool import DEFAULT_POOL
from egregora_pipeline.orchestration.resources import Warehouse
from egregora_pipeline.orchestration.warehouse import engine_connection
from egregora_pipeline.quality import (
    CHRONOLOGICAL_CHECK,
    DOC_TYPE_RULES_CHECK,
    FULL_TABLE,
    UNIQUE_EVENT_ID_CHECK,
    UNIQUE_ID_CHECK,
    Finding,
    Scope,
    data_checks,
)

__all__ = [
    "CHRONOLOGICAL_CHECK",
    "DOC_TYPE_RULES_CHECK",
    "UNIQUE_EVENT_ID_CHECK",
    "UNIQUE_ID_CHECK",
    "build_warehouse_data_checks",
]
CHECK_SCOPE_TAG = "egregora/check_scope"
"""Run tag; :data:`FULL_SCOPE` judges whole tables even in a run that ingested."""
FULL_SCOPE = "full"


def check_scope(context: dg.AssetCheckExecutionContext) -> Scope:
    """What this run's checks judge: what it ingested, else everything.

    One read of this run's own materialization events (not of the warehouse).
    ``messages`` materialized here means its rows carry this run's id in
    ``created_by_run``; ``documents`` lists the ids its inputs name (absent
    when there were too many to list: that table is then judged whole).
    """
    run = context.run
    if run.tags.get(CHECK_SCOPE_TAG) == FULL_SCOPE:
        return FULL_TABLE
    records = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    run_id: str | None = None
    document_ids: tuple[str, ...] | None = None
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is None:
            continue
        if materialization.asset_key == MESSAGES_ASSET:
            run_id = run.run_id
        elif materialization.asset_key == DOCUMENTS_ASSET:
            listed = materialization.metadata.get(RUN_DOCUMENT_IDS)
            if isinstance(listed, dg.JsonMetadataValue) and isinstance(listed.data, list):
                document_ids = tuple(str(i) for i in listed.data)
    return Scope(run_id=run_id, document_ids=document_ids)


def _result(
    asset: dg.AssetKey,
    name: str,
    finding: Finding,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    extra: Mapping[str, str] | None = None,
    scope: str = "full table",
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=finding.ok,
        severity=severity,
        metadata={
            "rule": finding.rule,
            "scope": scope,
            "offending_rows": dg.MetadataValue.int(finding.offending_rows),
            "sample": dg.MetadataValue.json(
                [{k: str(v) for k, v in row.items()} for row in finding.sample]
            ),
            **(extra or {}),
        },
    )


def build_warehouse_data_checks(pool: str | None = DEFAULT_POOL) -> dg.AssetChecksDefinition:
    """The data checks for one backend, in ``pool`` (none: no limit)."""

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                DOC_TYPE_RULES_CHECK,
                asset=DOCUMENTS_ASSET,
                description="Per-doc_type rules (docs/schema.md).",
            ),
            dg.AssetCheckSpec(
                UNIQUE_ID_CHECK, asset=DOCUMENTS_ASSET, description="`id` identifies one document."
            ),
            dg.AssetCheckSpec(
                UNIQUE_EVENT_ID_CHECK,
                asset=MESSAGES_ASSET,
                description="`event_id` identifies one message.",
            ),
            dg.AssetCheckSpec(
                CHRONOLOGICAL_CHECK,
                asset=MESSAGES_ASSET,
                description=(
                    "Every thread is in time order in file order (a step back of more than a "
                    "clock change means a wrong date order or a damaged export). WARN: the rows "
                    "are kept, flagged in `attrs.out_of_order`."
                ),
            ),
        ],
        name="warehouse_data_checks",
        can_subset=True,
        pool=pool,
    )
    def warehouse_data_checks(
        context: dg.AssetCheckExecutionContext, warehouse: dg.ResourceParam[Warehouse]
    ) -> Iterator[dg.AssetCheckResult]:
        """Run the selected data checks over one read-only connection."""
        selected = frozenset(key.name for key in context.selected_asset_check_keys)
        scope = check_scope(context)
        with engine_connection(warehouse, step="the data checks", read_only=True) as conn:
            for verdict in data_checks(conn, scope, selected):
                first = verdict.finding.sample[0] if verdict.finding.sample else None
                extra = (
                    {
                        "first_thread": str(first["thread_id"]),
                        "first_msg_id": str(first["msg_id"]),
                        "first_line": str(first["line"] or "unknown"),
                    }
                    if first and verdict.name == CHRONOLOGICAL_CHECK
                    else None
                )
                yield _result(
                    dg.AssetKey(verdict.table),
                    verdict.name,
                    verdict.finding,
                    severity=(
                        dg.AssetCheckSeverity.WARN
                        if verdict.warning_only
                        else dg.AssetCheckSeverity.ERROR
                    ),
                    extra=extra,
                    scope=verdict.scope,
                )

    return warehouse_data_checks


warehouse_data_checks = build_warehouse_data_checks()
"""The DuckDB definition (pool ``egregora_warehouse``); ``definitions.py`` builds per backend."""
