"""Read the live schema from DuckDB's catalog functions (metadata only).

Everything here reads ``duckdb_tables()`` / ``duckdb_columns()``, never table
data, so it costs the same on a 1k-row and a 3M-row warehouse. Types come back
normalized (see :mod:`egregora_pipeline.schema.duckdb_types`) so comparisons do
not report false drift between spellings of one type.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from egregora_pipeline.schema.duckdb_types import normalize_type

_SCOPE = "database_name = current_database() AND schema_name = current_schema()"


@dataclass(frozen=True)
class LiveColumn:
    """One column as the catalog reports it."""

    name: str
    type: str
    """Normalized DuckDB type, e.g. ``VARCHAR[]``, ``TIMESTAMP WITH TIME ZONE``."""
    nullable: bool


def table_names(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the base tables in the current schema."""
    rows = conn.execute(f"SELECT table_name FROM duckdb_tables() WHERE {_SCOPE}").fetchall()
    return {str(r[0]) for r in rows}


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when ``table`` is a base table in the current schema."""
    row = conn.execute(
        f"SELECT count(*) FROM duckdb_tables() WHERE {_SCOPE} AND table_name = ?", [table]
    ).fetchone()
    return bool(row and row[0])


def columns(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, LiveColumn]:
    """The columns of ``table`` in table order (empty when the table does not exist)."""
    rows = conn.execute(
        f"SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        f"WHERE {_SCOPE} AND table_name = ? ORDER BY column_index",
        [table],
    ).fetchall()
    return {
        str(name): LiveColumn(str(name), normalize_type(str(dtype)), bool(nullable))
        for name, dtype, nullable in rows
    }


def all_columns(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, LiveColumn]]:
    """Every base table's columns, in one catalog query."""
    rows = conn.execute(
        f"SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
        f"WHERE {_SCOPE} AND NOT internal ORDER BY table_name, column_index"
    ).fetchall()
    result: dict[str, dict[str, LiveColumn]] = {name: {} for name in table_names(conn)}
    for table, name, dtype, nullable in rows:
        if table in result:
            result[str(table)][str(name)] = LiveColumn(
                str(name), normalize_type(str(dtype)), bool(nullable)
            )
    return result


def schema_ddl(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The ``CREATE`` statements that rebuild the current schema (no data).

    Used to build an in-memory *shadow* of the warehouse so a dry run can execute
    the exact SQL of a plan without touching the file.
    """
    statements: list[str] = []
    for query in (
        f"SELECT sql FROM duckdb_sequences() WHERE {_SCOPE}",
        f"SELECT sql FROM duckdb_tables() WHERE {_SCOPE} ORDER BY table_oid",
        f"SELECT sql FROM duckdb_indexes() WHERE {_SCOPE} AND sql IS NOT NULL",
        f"SELECT sql FROM duckdb_views() WHERE {_SCOPE} AND NOT internal ORDER BY view_oid",
    ):
        statements.extend(str(r[0]) for r in conn.execute(query).fetchall() if r[0])
    return statements
