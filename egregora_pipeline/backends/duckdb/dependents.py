"""What depends on a table in the catalog: indexes, CHECKs, FOREIGN KEYs pointing at it.

DuckDB 2.0 refuses ``ALTER TABLE ... ALTER COLUMN`` (``SET NOT NULL``, ``SET DATA
TYPE``, ``DROP DEFAULT``) and ``RENAME`` on a table that has an index (a
``CREATE INDEX``, not its own PRIMARY KEY) or that another table's FOREIGN KEY
references ("Dependency Error: Cannot alter entry ... because there are entries
that depend on it"), and ``SET DATA TYPE`` on a column named in a CHECK. The
migration engine's batch mode reads here what it must save, drop and recreate.

Everything comes from catalog functions whose ``sql`` column holds the exact
definition DuckDB would recreate (``duckdb_tables().sql``, ``duckdb_indexes().sql``);
nothing here reads table data. Which tables reference which, and their stored
``CREATE TABLE``, are read by :mod:`egregora_pipeline.backends.duckdb.references`
(ingestion lifts the same tables around a write).
"""

from __future__ import annotations

import duckdb

from egregora_pipeline.backends.dependents_base import (
    CheckDef,
    ChildTable,
    Dependents,
    IndexDef,
)
from egregora_pipeline.backends.duckdb.references import referencing_closure, table_sql

_SCOPE = "database_name = current_database() AND schema_name = current_schema()"


def indexes_on(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[IndexDef, ...]:
    """The explicit indexes of ``table`` (a PRIMARY KEY / UNIQUE constraint has no ``sql``)."""
    rows = conn.execute(
        f"SELECT index_name, sql FROM duckdb_indexes() WHERE {_SCOPE} AND table_name = ? "
        "AND sql IS NOT NULL ORDER BY index_oid",
        [table],
    ).fetchall()
    return tuple(IndexDef(str(n), table, str(s).rstrip().rstrip(";")) for n, s in rows)


def checks_of(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[CheckDef, ...]:
    """The CHECK constraints of ``table`` (DuckDB keeps no names: the text is the identity)."""
    rows = conn.execute(
        f"SELECT expression, constraint_text, constraint_column_names FROM duckdb_constraints() "
        f"WHERE {_SCOPE} AND table_name = ? AND constraint_type = 'CHECK' "
        "ORDER BY constraint_index",
        [table],
    ).fetchall()
    return tuple(
        CheckDef(table, str(expression), str(text), tuple(str(c) for c in columns or ()))
        for expression, text, columns in rows
    )


def dependents(conn: duckdb.DuckDBPyConnection, table: str) -> Dependents:
    """Read the dependents of ``table`` from the catalog of ``conn``."""
    children = tuple(
        ChildTable(name, table_sql(conn, name), indexes_on(conn, name))
        for name in referencing_closure(conn, table)
    )
    return Dependents(
        table=table,
        sql=table_sql(conn, table),
        indexes=indexes_on(conn, table),
        children=children,
        checks=checks_of(conn, table),
    )
