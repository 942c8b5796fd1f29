"""Ingest into whatever ``--database`` / ``EGREGORA_DATABASE`` names: a DuckDB file or a server.

The one entry point the CLI and the Dagster layer need: they hold a warehouse
target (:func:`~egregora_pipeline.backends.parse_warehouse`), not a connection,
and the target's backend opens the sink
(:meth:`~egregora_pipeline.backends.base.Backend.open_sink`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from egregora_pipeline.backends import WarehouseTarget, backend_of, parse_warehouse
from egregora_pipeline.backends.sink_base import Sink
from egregora_pipeline.ingestion.errors import InvalidSettingError
from egregora_pipeline.ingestion.report import IngestReport
from egregora_pipeline.settings import Settings


@contextlib.contextmanager
def open_sink(warehouse: WarehouseTarget | str | Path, *, settings: Settings) -> Iterator[Sink]:
    """The sink for ``warehouse``, closed (with its connection) on exit."""
    target = parse_warehouse(warehouse)
    with backend_of(target).open_sink(target, lock_timeout=settings.lock_timeout_seconds) as sink:
        yield sink


def _check_media_store(target: WarehouseTarget, settings: Settings, targets: Any) -> None:
    """``settings.media_dir`` (``EGREGORA_MEDIA_DIR``) is required when documents are
    written to a warehouse that is not a local file: it has no folder to keep media beside."""
    if settings.media_dir is not None or target.local_folder is not None:
        return
    if "documents" in targets:
        raise InvalidSettingError(
            "EGREGORA_MEDIA_DIR",
            "",
            f"a folder for the media store: the {backend_of(target).label} warehouse "
            f"{target.display} has no folder of its own to keep it beside",
        )


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
    from egregora_pipeline.ingestion.pipeline import DEFAULT_TARGETS, ingest

    target = parse_warehouse(warehouse)
    _check_media_store(target, settings, options.get("targets", DEFAULT_TARGETS))
    with open_sink(target, settings=settings) as sink:
        return ingest(sink, paths, settings=settings, run_id=run_id, **options)
