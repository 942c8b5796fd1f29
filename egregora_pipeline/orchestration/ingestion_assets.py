"""The ingestion assets ``messages`` and ``documents``, computed by one op.

One op (``ingest_inputs``) produces both assets because a WhatsApp export
feeds both tables (messages, and its attachments as media documents): it is
read once. The op can be subset, so either asset can be materialized alone.

Blocking checks only stop steps *inside one run*. An asset launched on its own
(from the UI, by a sensor, by another job) would never see them, so the op
re-verifies the schema itself before writing -- a metadata-only catalog read
of a few milliseconds -- and refuses, naming every missing or mismatched
column, when it does not hold.
"""

# No ``from __future__ import annotations``: Dagster reads the annotations of
# decorated functions (context and resource types) at definition time.

from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field

from egregora_pipeline.backends.migration_base import Connection
from egregora_pipeline.ingestion import IngestReport, ProgressEvent, ingest
from egregora_pipeline.migrations import check_connection
from egregora_pipeline.orchestration.metadata import column_schema, counts_metadata
from egregora_pipeline.orchestration.pool import DEFAULT_KIND, DEFAULT_POOL
from egregora_pipeline.orchestration.resources import (
    EgregoraSettingsResource,
    Warehouse,
    warehouse_display,
)
from egregora_pipeline.orchestration.schema_assets import SCHEMA_ASSET
from egregora_pipeline.orchestration.warehouse import (
    engine_connection,
    loader_sink,
)
from egregora_pipeline.quality import row_count
from egregora_pipeline.schema import DOCUMENTS, MESSAGES, DeclaredTable

MESSAGES_ASSET = dg.AssetKey(MESSAGES.name)
DOCUMENTS_ASSET = dg.AssetKey(DOCUMENTS.name)
INGEST_OP = "ingest_inputs"
RUN_DOCUMENT_IDS = "run_document_ids"
"""Metadata of ``documents``: the ids this run's inputs name, which its data
checks judge (absent beyond :data:`MAX_LISTED_DOCUMENT_IDS`: they judge the table)."""
MAX_LISTED_DOCUMENT_IDS = 10_000
"""More ids than this would bloat the event log; the checks then scan ``documents``."""

ProgressSink = Callable[[ProgressEvent], None]

INGESTION_AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)
"""Declarative automation of the ingestion assets (sensor ``ingestion_automation``).

When the schema asset is updated, ingest the inbox -- but only once the
blocking schema checks of that update have passed: without the second term,
automation would launch ingestion in its own run, where the blocking checks
of another run could not stop it."""


def no_progress(event: ProgressEvent) -> None:
    """The default progress sink: runs launched from the UI log, they do not draw bars."""


class IngestConfig(dg.Config):
    """What to ingest. Empty ``paths`` means everything in the inbox (``EGREGORA_INBOX``)."""

    paths: list[str] = Field(
        default_factory=list,
        description="Files or folders to ingest; empty = the inbox folder.",
    )


class SchemaNotReadyError(dg.Failure):
    """The warehouse does not match the declared schema: ingestion refuses to write."""


def assert_schema_ready(conn: Connection) -> None:
    """Refuse (with every problem listed) unless the live schema is the declared one."""
    report = check_connection(conn)
    if report.ok:
        return
    raise SchemaNotReadyError(
        description=(
            "The warehouse schema does not match the declared schema, so nothing was written. "
            "Run `egregora-pipeline db upgrade` (or materialize `egregora_schema`) and read "
            "`egregora-pipeline db check`.\n\n" + report.render()
        ),
        metadata={
            "problems": dg.MetadataValue.md(f"```\n{report.render()}\n```"),
        },
        allow_retries=False,
    )


def _input_paths(config: IngestConfig, settings_inbox: Path) -> list[Path]:
    if config.paths:
        return [Path(p) for p in config.paths]
    return [settings_inbox] if settings_inbox.exists() else []


def input_summaries(report: IngestReport) -> list[dict[str, object]]:
    """Per-input counts, as JSON metadata the CLI and the UI both read."""
    return [
        {
            "path": item.source,
            "kind": item.kind,
            "messages_added": item.messages_added,
            "messages_skipped": item.messages_skipped,
            "documents_added": item.documents_added,
            "documents_skipped": item.documents_skipped,
            "documents_updated": item.documents_updated,
            "rejected": item.rejected,
            "error": item.error,
            "note": item.note,
            "chat": item.chat,
            "unresolved_authors": item.unresolved_authors,
            "rejections": [
                {
                    "source_path": str(r.source_path),
                    "line": r.line_number,
                    "column": r.column_number,
                    "reason": r.reason,
                }
                for r in item.rejections[:20]
            ],
        }
        for item in report.inputs
    ]


def _ingestion_spec(table: DeclaredTable, description: str, kind: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        dg.AssetKey(table.name),
        deps=[SCHEMA_ASSET],
        group_name="ingestion",
        kinds={kind},
        description=description,
        metadata={"dagster/column_schema": column_schema(table.schema)},
        skippable=True,
        automation_condition=INGESTION_AUTOMATION,
    )


def build_ingest_inputs(
    pool: str | None = DEFAULT_POOL, kind: str = DEFAULT_KIND
) -> dg.AssetsDefinition:
    """The ingestion op for one backend: in ``pool`` (none: no limit), tagged ``kind``."""

    @dg.multi_asset(
        name=INGEST_OP,
        specs=[
            _ingestion_spec(
                MESSAGES, "Chat messages (staging), one row per WhatsApp message.", kind
            ),
            _ingestion_spec(
                DOCUMENTS, "Posts, profiles, journal entries and media, one wide table.", kind
            ),
        ],
        can_subset=True,
        pool=pool,
    )
    def ingest_inputs(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        warehouse: dg.ResourceParam[Warehouse],
        egregora: EgregoraSettingsResource,
        progress: dg.ResourceParam[ProgressSink],
    ) -> Iterator[dg.MaterializeResult]:
        """Ingest the configured paths (or the inbox) into the selected tables."""
        settings = egregora.settings()
        targets = frozenset(key.path[-1] for key in context.selected_asset_keys)
        paths = _input_paths(config, settings.inbox)
        context.log.info("ingesting %d input(s) into %s", len(paths), warehouse_display(egregora))
        if DOCUMENTS.name in targets:
            settings.media_store  # noqa: B018  # no media folder on PostgreSQL: refuse first
        with engine_connection(warehouse, step="ingestion") as conn:
            assert_schema_ready(conn)
            with loader_sink(warehouse, conn, settings=settings) as sink:
                report = ingest(
                    sink,
                    paths,
                    settings=settings,
                    run_id=context.run.run_id,
                    targets=targets,
                    progress=progress,
                )
            counts = {name: row_count(conn, name) for name in targets}
        yield from _materializations(context, report, targets, counts)

    return ingest_inputs


def _materializations(
    context: dg.AssetExecutionContext,
    report: IngestReport,
    targets: frozenset[str],
    counts: dict[str, int],
) -> Iterator[dg.MaterializeResult]:
    """Log what was rejected; one materialization per selected table, with its counts."""
    for item in report.inputs:
        if item.error:
            context.log.error("input rejected as a whole: %s: %s", item.source, item.error)
        for rejection in item.rejections[:20]:
            context.log.warning(
                "rejected %s:%s: %s", rejection.source_path, rejection.line_number, rejection.reason
            )
    shared = {
        "inputs": dg.MetadataValue.json(input_summaries(report)),
        "inputs_failed": dg.MetadataValue.int(len(report.failed_inputs)),
        "rejected": dg.MetadataValue.int(report.rejected),
    }
    table_counts = {
        MESSAGES: {"inserted": report.messages_added, "skipped": report.messages_skipped},
        DOCUMENTS: {
            "inserted": report.documents_added,
            "updated": report.documents_updated,
            "skipped": report.documents_skipped,
        },
    }
    touched = report.document_ids
    listed = (
        {RUN_DOCUMENT_IDS: dg.MetadataValue.json(touched)}
        if len(touched) <= MAX_LISTED_DOCUMENT_IDS
        else {}
    )
    for table, table_count in table_counts.items():
        if table.name not in targets:
            continue
        extra = {}
        if table is DOCUMENTS:
            # a post author naming no profile is kept as written: said here, never silently
            extra["unresolved_authors"] = dg.MetadataValue.json(report.unresolved_authors)
            for source, names in report.unresolved_authors.items():
                context.log.warning("post %s: authors naming no profile: %s", source, names)
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(table.name),
            metadata={
                **shared,
                **(listed if table is DOCUMENTS else {}),
                **extra,
                **counts_metadata(table_count),
                "dagster/row_count": dg.MetadataValue.int(counts[table.name]),
                "dagster/column_schema": column_schema(table.schema),
            },
        )


ingest_inputs = build_ingest_inputs()
"""The DuckDB definition (pool ``egregora_warehouse``); ``definitions.py`` builds per backend."""
