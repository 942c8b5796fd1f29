# SHIM(issue 21): remove after merge
"""Old home of the DuckDB impl: now :mod:`egregora_pipeline.backends.duckdb.migration`."""

from egregora_pipeline.backends.duckdb.migration import DuckDBImpl

__all__ = ["DuckDBImpl"]
