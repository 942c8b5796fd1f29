"""Checks on the ingested data: per-``doc_type`` rules and unique identity keys.

Not blocking (the rows are already written when they run), but ERROR
severity: ``egregora-pipeline ingest`` and CI fail on them, and the UI shows
a sample of the offending rows. One is a warning (WARN): threads out of time
order are loaded and flagged, and shown without failing the run.
"""

# No ``from __future__ import annotations``: Dagster reads the annotations of
# decorated functions (context and resource types) at definition time.

from collections.abc import Iterator, Mapping

import dagster as dg

from egregora_pipeline.orchestration.ingestion_assets import DOCUMENTS_ASSET, MESSAGES_ASSET
from egregora_pipeline.orchestration.resources import Warehouse
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_POOL, engine_connection
from egregora_pipeline.quality import (
    Finding,
    doc_type_rule_violations,
    duplicate_keys,
    messages_out_of_order,
)
from egregora_pipeline.schema import DOCUMENTS, MESSAGES

DOC_TYPE_RULES_CHECK = "doc_type_rules_hold"
UNIQUE_ID_CHECK = "id_is_unique"
UNIQUE_EVENT_ID_CHECK = "event_id_is_unique"
CHRONOLOGICAL_CHECK = "threads_are_chronological"


def _result(
    asset: dg.AssetKey,
    name: str,
    finding: Finding,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    extra: Mapping[str, str] | None = None,
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=finding.ok,
        severity=severity,
        metadata={
            "rule": finding.rule,
            "offending_rows": dg.MetadataValue.int(finding.offending_rows),
            "sample": dg.MetadataValue.json(
                [{k: str(v) for k, v in row.items()} for row in finding.sample]
            ),
            **(extra or {}),
        },
    )


def build_warehouse_data_checks(pool: str | None = WAREHOUSE_POOL) -> dg.AssetChecksDefinition:
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
        selected = {key.name for key in context.selected_asset_check_keys}
        with engine_connection(warehouse, step="the data checks", read_only=True) as conn:
            if DOC_TYPE_RULES_CHECK in selected:
                yield _result(
                    DOCUMENTS_ASSET,
                    DOC_TYPE_RULES_CHECK,
                    doc_type_rule_violations(conn, DOCUMENTS.name),
                )
            if UNIQUE_ID_CHECK in selected:
                yield _result(
                    DOCUMENTS_ASSET, UNIQUE_ID_CHECK, duplicate_keys(conn, DOCUMENTS.name)
                )
            if UNIQUE_EVENT_ID_CHECK in selected:
                yield _result(
                    MESSAGES_ASSET, UNIQUE_EVENT_ID_CHECK, duplicate_keys(conn, MESSAGES.name)
                )
            if CHRONOLOGICAL_CHECK in selected:
                finding = messages_out_of_order(conn, MESSAGES.name)
                first = finding.sample[0] if finding.sample else None
                extra = (
                    {
                        "first_thread": str(first["thread_id"]),
                        "first_msg_id": str(first["msg_id"]),
                        "first_line": str(first["line"] or "unknown"),
                    }
                    if first
                    else None
                )
                yield _result(
                    MESSAGES_ASSET,
                    CHRONOLOGICAL_CHECK,
                    finding,
                    severity=dg.AssetCheckSeverity.WARN,
                    extra=extra,
                )

    return warehouse_data_checks


warehouse_data_checks = build_warehouse_data_checks()
"""The DuckDB definition (pool ``egregora_warehouse``); ``definitions.py`` builds per backend."""
