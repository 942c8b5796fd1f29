"""What depends on a table in the catalog: indexes, CHECKs, FOREIGN KEYs pointing at it.

DuckDB 2.0 refuses ``ALTER TABLE ... ALTER COLUMN`` (``SET NOT NULL``, ``SET DATA
TYPE``, ``DROP DEFAULT``) and ``RENAME`` on a table that has an index (a
``CREATE INDEX``, not its own PRIMARY KEY) or that another table's FOREIGN KEY
references ("Dependency Error: Cannot alter entry ... because there are entries
that depend on it"), and ``SET DATA TYPE`` on a column named in a CHECK. The
batch mode (:mod:`.batch`) reads here what it must save, drop and recreate.

Everything comes from catalog functions whose ``sql`` column holds the exact
definition DuckDB would recreate (``duckdb_tables().sql``, ``duckdb_indexes().sql``);
nothing here reads table data. Which tables reference which, and their stored
``CREATE TABLE``, are read by :mod:`egregora_pipeline.references` (ingestion lifts
the same tables around a write).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from egregora_pipeline.references import referencing_closure, table_sql

_SCOPE = "database_name = current_database() AND schema_name = current_schema()"


@dataclass(frozen=True)
class IndexDef:
    """A ``CREATE INDEX`` on a table, as the catalog stores it."""

    name: str
    table: str
    sql: str


@dataclass(frozen=True)
class CheckDef:
    """A CHECK constraint of a table. DuckDB keeps no constraint names: the text is its identity."""

    table: str
    expression: str
    """The boolean expression, e.g. ``((doc_type != 'media') OR (media_type IN (...)))``."""
    text: str
    """How it appears inside the table's ``CREATE TABLE`` (``CHECK(<expression>)``)."""
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ChildTable:
    """A table whose FOREIGN KEY references the rebuilt table (directly or through another)."""

    name: str
    sql: str
    """Its ``CREATE TABLE`` with every column, default, key, CHECK and FOREIGN KEY."""
    indexes: tuple[IndexDef, ...]


@dataclass(frozen=True)
class Dependents:
    """Everything that must be out of the way before DuckDB lets ``table`` be altered."""

    table: str
    sql: str
    indexes: tuple[IndexDef, ...]
    children: tuple[ChildTable, ...]
    """Referencing tables, parents before children (creation order; drop in reverse)."""
    checks: tuple[CheckDef, ...]

    @property
    def blocks_alter(self) -> bool:
        """True when an in-place ALTER COLUMN on ``table`` would be refused."""
        return bool(self.indexes or self.children)

    def check_columns(self) -> frozenset[str]:
        return frozenset(c for check in self.checks for c in check.columns)

    def reasons(self) -> list[str]:
        """Why the table needs the batch path, one phrase per kind of dependent."""
        out: list[str] = []
        if self.indexes:
            out.append("indexes " + ", ".join(i.name for i in self.indexes))
        if self.children:
            out.append(
                "FOREIGN KEYs of " + ", ".join(c.name for c in self.children) + " reference it"
            )
        return out


def indexes_on(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[IndexDef, ...]:
    """The explicit indexes of ``table`` (a PRIMARY KEY / UNIQUE constraint has no ``sql``)."""
    rows = conn.execute(
        f"SELECT index_name, sql FROM duckdb_indexes() WHERE {_SCOPE} AND table_name = ? "
        "AND sql IS NOT NULL ORDER BY index_oid",
        [table],
    ).fetchall()
    return tuple(IndexDef(str(n), table, str(s).rstrip().rstrip(";")) for n, s in rows)


def checks_of(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[CheckDef, ...]:
    if not isinstance(conn, duckdb.DuckDBPyConnection):  # CHECK widening is DuckDB-only
        return ()
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
    """Read the dependents of ``table`` from the catalog of ``conn``.

    Only DuckDB refuses ALTERs for dependents; on another backend nothing is in the way.
    """
    if not isinstance(conn, duckdb.DuckDBPyConnection):
        return Dependents(table=table, sql="", indexes=(), children=(), checks=())
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
