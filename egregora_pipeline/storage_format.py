# SHIM(issue 21): remove after merge
"""Old home of the storage format: now :mod:`egregora_pipeline.backends.duckdb.storage_format`."""

from __future__ import annotations

from egregora_pipeline.backends.duckdb.storage_format import (
    EGREGORA_DUCKDB,
    EGREGORA_READS,
    NAMES,
    StorageFormat,
    StorageUpgradeResult,
    read_storage_format,
    upgrade_storage,
)

__all__ = [
    "EGREGORA_DUCKDB",
    "EGREGORA_READS",
    "NAMES",
    "StorageFormat",
    "StorageUpgradeResult",
    "read_storage_format",
    "upgrade_storage",
]
