"""``ingest --json``: the run's answer as one document (schema ``cli/schemas/ingest.json``).

Built from the same :class:`IngestRunOutcome` the human summary prints, so the
two never disagree: the Dagster run id (to link to the UI), the schema step, one
entry per input with its counts and rejections (file, line, column, reason), the
tables' row counts, every asset check with its offending rows and sample, and
the steps that failed or never ran.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from egregora_pipeline.cli.json_output import document, warehouse_label

if TYPE_CHECKING:
    from egregora_pipeline.orchestration.local_run import CheckOutcome, IngestRunOutcome

_COUNTS = (
    "messages_added",
    "messages_skipped",
    "documents_added",
    "documents_updated",
    "documents_skipped",
    "rejected",
)


def _input_fields(item: dict[str, Any], rejected_whole: bool) -> dict[str, Any]:
    rejections = [
        {
            "source_path": str(r["source_path"]),
            "line": r.get("line"),
            "column": r.get("column"),
            "reason": str(r["reason"]),
        }
        for r in item.get("rejections", [])
    ]
    counts = {key: int(item.get(key) or 0) for key in _COUNTS}
    return {
        "path": str(item["path"]),
        "kind": str(item["kind"]),
        **counts,
        "rejected_as_a_whole": rejected_whole,
        "error": item.get("error"),
        "note": item.get("note"),
        "chat": item.get("chat"),
        "rejections": rejections,
        "rejections_truncated": counts["rejected"] > len(rejections),
    }


_SCHEMA_STEP = (
    "from_revision",
    "to_revision",
    "applied_revisions",
    "reconcile_actions",
    "adopted_layout",
    "warnings",
    "duration_seconds",
    "backup",
)
"""What the document keeps of ``migrate_schema``'s metadata (the rest is for the UI)."""


def _schema_fields(schema: dict[str, Any]) -> dict[str, Any] | None:
    if not schema:
        return None
    return {key: schema.get(key) for key in _SCHEMA_STEP}


def _check_fields(check: CheckOutcome) -> dict[str, Any]:
    offending = check.details.get("offending_rows")
    sample = check.details.get("sample")
    return {
        "asset": check.asset,
        "name": check.name,
        "passed": check.passed,
        "severity": "WARN" if check.warning_only else "ERROR",
        "fails_the_run": not check.passed and not check.warning_only,
        "rule": check.details.get("rule"),
        "offending_rows": int(offending) if offending is not None else None,
        "sample": sample if isinstance(sample, list) else [],
        "metadata": {k: v for k, v in check.details.items() if k not in ("sample",)},
    }


def ingest_document(
    outcome: IngestRunOutcome, database: str, instance: str, exit_code: int
) -> dict[str, Any]:
    """The whole run; ``ok`` is true exactly when the command exits 0 (``exit_code``)."""
    failed = {str(item["path"]) for item in outcome.failed_inputs}
    return document(
        "ingest",
        ok=exit_code == 0,
        exit_code=exit_code,
        run_id=outcome.run_id,
        dagster_instance=instance,
        warehouse=warehouse_label(database),
        success=outcome.success,
        schema=_schema_fields(outcome.schema),
        inputs=[_input_fields(item, str(item["path"]) in failed) for item in outcome.inputs],
        tables={
            name: {"row_count": metadata.get("dagster/row_count")}
            for name, metadata in sorted(outcome.tables.items())
        },
        checks=[_check_fields(check) for check in outcome.checks],
        failed_checks=[f"{c.asset}:{c.name}" for c in outcome.failed_checks],
        failures=[{"step": f.step, "message": f.message} for f in outcome.failures],
        skipped_steps=list(outcome.skipped_steps),
    )
