# SHIM(issue 21): remove after merge
"""Old home of the Ibis shim: now :mod:`egregora_pipeline.backends.duckdb.ibis_compat`."""

from __future__ import annotations

from egregora_pipeline.backends.duckdb.ibis_compat import (
    apply_duckdb2_shim,
    connect_duckdb,
    run_raw_sql,
)

__all__ = [
    "apply_duckdb2_shim",
    "connect_duckdb",
    "run_raw_sql",
]
