# SHIM(issue 21): remove after merge
"""Old home of the PostgreSQL sink: now :mod:`egregora_pipeline.backends.postgres.sink`
(with ``sink_locks``, ``sink_copy``, ``sink_errors``, ``scratch``); ingesting into a
target is :func:`egregora_pipeline.ingestion.targets.ingest_paths`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egregora_pipeline.backends.postgres.sink import PostgresSink
from egregora_pipeline.backends.postgres.sink_copy import COPY_BLOCK_BYTES
from egregora_pipeline.backends.postgres.sink_errors import (
    IngestLockTimeoutError,
    NotStorableInPostgresError,
)
from egregora_pipeline.backends.postgres.sink_locks import LOCK_CLASS, LOCK_ORDER

if TYPE_CHECKING:
    from egregora_pipeline.backends.postgres.target import PostgresTarget
    from egregora_pipeline.ingestion.report import IngestReport
    from egregora_pipeline.settings import Settings

__all__ = [
    "COPY_BLOCK_BYTES",
    "LOCK_CLASS",
    "LOCK_ORDER",
    "IngestLockTimeoutError",
    "NotStorableInPostgresError",
    "PostgresSink",
    "ingest_postgres",
]


def ingest_postgres(
    target: PostgresTarget,
    paths: Sequence[Path],
    *,
    settings: Settings,
    run_id: str,
    **options: Any,
) -> IngestReport:
    """Old spelling of ``ingest_paths(paths, warehouse=target, ...)``."""
    from egregora_pipeline.ingestion.targets import ingest_paths

    return ingest_paths(paths, warehouse=target, settings=settings, run_id=run_id, **options)
