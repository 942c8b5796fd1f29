"""Ingest into whatever ``--database`` / ``EGREGORA_DATABASE`` names: a DuckDB file or a server.

The one entry point the CLI and the Dagster layer need: they hold a warehouse
target (:func:`~egregora_pipeline.warehouse_url.parse_warehouse`), not a
connection, and this picks the sink -- :class:`.pipeline.DuckDBSink` on a DuckDB
file opened with the usual lock handling, :class:`.postgres_load.PostgresSink`
on a PostgreSQL server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from egregora_pipeline.ingestion.report import IngestReport
from egregora_pipeline.ingestion.sinks import Sink
from egregora_pipeline.settings import Settings
from egregora_pipeline.warehouse_url import (
    DuckDBTarget,
    PostgresTarget,
    WarehouseTarget,
    parse_warehouse,
)


def _target(warehouse: WarehouseTarget | str | Path) -> WarehouseTarget:
    if isinstance(warehouse, DuckDBTarget | PostgresTarget):
        return warehouse
    return parse_warehouse(warehouse)


@contextlib.contextmanager
def open_sink(warehouse: WarehouseTarget | str | Path, *, settings: Settings) -> Iterator[Sink]:
    """The sink for ``warehouse``, closed (with its connection) on exit."""
    target = _target(warehouse)
    if isinstance(target, PostgresTarget):
        from egregora_pipeline.ingestion.postgres_load import PostgresSink

        with PostgresSink.open(target, lock_timeout=settings.lock_timeout_seconds) as sink:
            yield sink
        return
    from egregora_pipeline.connection import connect_warehouse
    from egregora_pipeline.ingestion.pipeline import DuckDBSink

    conn = connect_warehouse(target.path, lock_timeout=settings.lock_timeout_seconds)
    try:
        yield DuckDBSink(conn)
    finally:
        conn.close()


def ingest_paths(
    paths: Sequence[Path],
    *,
    warehouse: WarehouseTarget | str | Path,
    settings: Settings,
    run_id: str,
    **options: Any,
) -> IngestReport:
    """:func:`.pipeline.ingest` of ``paths`` into ``warehouse`` (a target, path or URL).

    ``options`` are those of :func:`.pipeline.ingest` (``targets``, ``progress``,
    ``date_order``, ``archive_limits``, ``input_limits``). The tables must be at the
    declared schema (the caller's gate checks it).
    """
    target = _target(warehouse)
    if isinstance(target, PostgresTarget):
        from egregora_pipeline.ingestion.postgres_load import ingest_postgres

        return ingest_postgres(target, paths, settings=settings, run_id=run_id, **options)
    from egregora_pipeline.ingestion.pipeline import ingest

    with open_sink(target, settings=settings) as sink:
        return ingest(sink, paths, settings=settings, run_id=run_id, **options)
