# SHIM(issue 21): remove after merge
"""Old home of the backend impls: now :mod:`egregora_pipeline.backends.migration_base`,
``backends/duckdb/migration.py`` and ``backends/postgres/{connection,migration}.py``."""

from __future__ import annotations

from egregora_pipeline.migrations.impl.base import (
    Connection,
    MigrationImpl,
    current_dialect,
    impl_for,
    using,
)

__all__ = ["Connection", "MigrationImpl", "current_dialect", "impl_for", "using"]
