# SHIM(issue 21): remove after merge
"""Old home of ``db restore`` on DuckDB: now :mod:`egregora_pipeline.backends.duckdb.restore`."""

from __future__ import annotations

from egregora_pipeline.backends.duckdb.restore import (
    RestoreResult,
    exclusive_lock,
    restore,
    verify_backup,
)

__all__ = [
    "RestoreResult",
    "exclusive_lock",
    "restore",
    "verify_backup",
]
