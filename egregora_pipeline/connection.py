# SHIM(issue 21): remove after merge
"""Old home of the DuckDB opener: now :mod:`egregora_pipeline.backends.duckdb.connection`
(the memory limit: :mod:`egregora_pipeline.backends.duckdb.config`)."""

from __future__ import annotations

from egregora_pipeline.backends.duckdb.config import (
    DEFAULT_MEMORY_LIMIT,
    MEMORY_LIMIT_ENV,
    InvalidMemoryLimitError,
)
from egregora_pipeline.backends.duckdb.connection import (
    bounded_config,
    check_warehouse_path,
    connect_bounded,
    connect_warehouse,
    create_atomically,
    disk_full,
    is_interruption,
    is_lock_conflict,
    restore_advice,
    spill_folder,
)

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "MEMORY_LIMIT_ENV",
    "InvalidMemoryLimitError",
    "bounded_config",
    "check_warehouse_path",
    "connect_bounded",
    "connect_warehouse",
    "create_atomically",
    "disk_full",
    "is_interruption",
    "is_lock_conflict",
    "restore_advice",
    "spill_folder",
]
