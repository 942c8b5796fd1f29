"""The embedded DuckDB backend: a warehouse is one file (the default)."""
