"""DuckDB's half of :mod:`egregora_pipeline.backends.references_base`: lifting referencing tables.

DuckDB (2.0 as 1.x) refuses to change a referenced ``documents`` row in any way it
runs as a delete and an insert -- an UPDATE of a list or map column, of a column an
index or key covers, and of course of the key -- with "still referenced by a foreign
key in a different table", even when the key keeps its value. It also refuses those
changes when the referencing row is deleted or re-pointed in the same transaction.

What DuckDB allows is dropping the referencing tables. :func:`lifted_references`
therefore *lifts* them around a change, inside the caller's transaction: it copies
every table referencing the table (directly or through another, parents first) into a
temporary table, drops them, lets the change run, then recreates each from the
definition DuckDB stored for it (``duckdb_tables().sql``: columns, defaults, keys,
CHECKs, FOREIGN KEYs), puts every row back, recreates its indexes and comments, and
verifies the counts. A reference the change broke is refused by the recreated FOREIGN
KEY: :class:`~egregora_pipeline.backends.references_base.ReferencesBrokenError` names
the table and the keys, and the caller's transaction rolls back.

The catalog readers (:func:`table_sql`, :func:`index_sql`, :func:`referencing_closure`,
:func:`rewritten_by_update`) are also what the other DuckDB modules (batch-mode
dependents, column reordering, the documents loader) read a table's definition with.
Its own module, separate from the neutral one, so that only ``backends/duckdb/`` imports
``duckdb`` for it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

import duckdb

from egregora_pipeline.backends.references_base import (
    ForeignKey,
    Lift,
    LiftedTable,
    ReferencesBrokenError,
    referenced_sql,
    tables_holding,
)
from egregora_pipeline.sql import quote_ident, quote_literal

q = quote_ident

SAVED_PREFIX: Final = "__lifted_"
"""Temporary copies of lifted tables (session-local: never left in the warehouse)."""
_REKEY_TABLE: Final = "__egregora_rekey"

_DUCKDB_SCOPE: Final = "database_name = current_database() AND schema_name = current_schema()"
_REWRITING_TYPE: Final = re.compile(r"\[|\bMAP\(|\bUNION\(", re.IGNORECASE)
"""Column types DuckDB updates by delete and insert (lists, fixed arrays, maps, unions)."""
FK_REFUSAL: Final = "still referenced by a foreign key"
"""The words of DuckDB's refusal (``ConstraintException``), for :func:`is_fk_refusal`."""


# --- reading the catalog ---------------------------------------------------------------


def foreign_keys_to(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[ForeignKey, ...]:
    """Every FOREIGN KEY referencing ``table`` (its own self-references included)."""
    rows = conn.execute(
        f"SELECT table_name, constraint_column_names, referenced_column_names "
        f"FROM duckdb_constraints() WHERE {_DUCKDB_SCOPE} "
        "AND constraint_type = 'FOREIGN KEY' AND referenced_table = ? "
        "ORDER BY table_oid, constraint_index",
        [table],
    ).fetchall()
    return tuple(
        ForeignKey(str(t), tuple(map(str, cols)), table, tuple(map(str, refs)))
        for t, cols, refs in rows
    )


def referencing_tables(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Tables other than ``table`` with a FOREIGN KEY referencing it, oldest first."""
    return tables_holding(foreign_keys_to(conn, table), table)


def referencing_closure(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Every table referencing ``table`` directly or through another, parents first.

    "Parents first" is creation order: a table's FOREIGN KEYs can only name tables
    that existed when it was created, so sorting by ``table_oid`` puts every
    referenced table before the tables that reference it, whatever the graph's shape.
    """
    return _closure(conn, table, referencing_tables(conn, table))


def _closure(conn: duckdb.DuckDBPyConnection, table: str, start: Sequence[str]) -> list[str]:
    """``start`` and every table referencing one of them, transitively, in creation order."""
    found: set[str] = {t for t in start if t != table}
    frontier: Sequence[str] = sorted(found)
    while frontier:
        step = [
            child
            for parent in frontier
            for child in referencing_tables(conn, parent)
            if child != table and child not in found
        ]
        found.update(step)
        frontier = step
    if not found:
        return []
    rows = conn.execute(
        f"SELECT table_name FROM duckdb_tables() WHERE {_DUCKDB_SCOPE} "
        "AND list_contains(?, table_name) ORDER BY table_oid",
        [sorted(found)],
    ).fetchall()
    return [str(r[0]) for r in rows]


def table_sql(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """The ``CREATE TABLE`` DuckDB stored for ``table`` (every column, key, CHECK, FK)."""
    row = conn.execute(
        f"SELECT sql FROM duckdb_tables() WHERE {_DUCKDB_SCOPE} AND table_name = ?", [table]
    ).fetchone()
    if row is None or not row[0]:
        raise LookupError(f"table {table!r} has no stored definition")
    return str(row[0]).rstrip().rstrip(";")


def index_sql(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """``(name, CREATE INDEX)`` of ``table``'s explicit indexes (a key's own has no sql)."""
    rows = conn.execute(
        f"SELECT index_name, sql FROM duckdb_indexes() WHERE {_DUCKDB_SCOPE} "
        "AND table_name = ? AND sql IS NOT NULL ORDER BY index_oid",
        [table],
    ).fetchall()
    return [(str(n), str(s).rstrip().rstrip(";")) for n, s in rows]


def rewritten_by_update(conn: duckdb.DuckDBPyConnection, table: str) -> frozenset[str]:
    """Columns DuckDB updates by deleting and re-inserting the row.

    Those of a list, array, map or union type, and those an index, PRIMARY KEY or
    UNIQUE constraint covers. An UPDATE setting any of them on a referenced row is
    refused; one setting only other columns runs in place (measured on DuckDB 2.0).
    Index expressions are matched by name, which may over-include (a lift too many),
    never under-include.
    """
    types = conn.execute(
        f"SELECT column_name, data_type FROM duckdb_columns() WHERE {_DUCKDB_SCOPE} "
        "AND table_name = ?",
        [table],
    ).fetchall()
    names = [str(n) for n, _ in types]
    out = {str(n) for n, t in types if _REWRITING_TYPE.search(str(t))}
    for (columns,) in conn.execute(
        f"SELECT constraint_column_names FROM duckdb_constraints() WHERE {_DUCKDB_SCOPE} "
        "AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        [table],
    ).fetchall():
        out.update(str(c) for c in columns or ())
    for (expressions,) in conn.execute(
        f"SELECT expressions FROM duckdb_indexes() WHERE {_DUCKDB_SCOPE} AND table_name = ?",
        [table],
    ).fetchall():
        text = str(expressions or "")
        out.update(n for n in names if re.search(rf"(?<![\w$]){re.escape(n)}(?![\w$])", text))
    return frozenset(out)


def referenced_keys(
    conn: duckdb.DuckDBPyConnection, key: ForeignKey, column: str, keys: Sequence[str]
) -> list[str]:
    """Which of ``keys`` rows of ``key.table`` reference through ``key``."""
    rows = conn.execute(referenced_sql(key, column, "?::VARCHAR[]"), [list(keys)]).fetchall()
    return [str(r[0]) for r in rows]


def is_fk_refusal(error: BaseException) -> bool:
    """Whether ``error`` is DuckDB refusing to rewrite a row a FOREIGN KEY references."""
    return isinstance(error, duckdb.ConstraintException) and FK_REFUSAL in str(error)


# --- lifting ---------------------------------------------------------------------------


def _in_transaction(conn: duckdb.DuckDBPyConnection) -> bool:
    """Two statements share a transaction id only inside an explicit transaction."""
    first = conn.execute("SELECT txid_current()").fetchone()
    second = conn.execute("SELECT txid_current()").fetchone()
    return first == second


@contextlib.contextmanager
def _transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The caller's transaction if one is open, else one of our own around the lift."""
    if _in_transaction(conn):
        yield
        return
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _describe_child(conn: duckdb.DuckDBPyConnection, name: str) -> LiftedTable:
    columns = conn.execute(
        f"SELECT column_name, comment FROM duckdb_columns() WHERE {_DUCKDB_SCOPE} "
        "AND table_name = ? AND NOT is_generated ORDER BY column_index",
        [name],
    ).fetchall()
    comment = conn.execute(
        f"SELECT comment FROM duckdb_tables() WHERE {_DUCKDB_SCOPE} AND table_name = ?", [name]
    ).fetchone()
    count = conn.execute(f"SELECT count(*) FROM {q(name)}").fetchone()
    keys = conn.execute(
        f"SELECT referenced_table, constraint_column_names, referenced_column_names "
        f"FROM duckdb_constraints() WHERE {_DUCKDB_SCOPE} AND table_name = ? "
        "AND constraint_type = 'FOREIGN KEY' ORDER BY constraint_index",
        [name],
    ).fetchall()
    return LiftedTable(
        name=name,
        sql=table_sql(conn, name),
        columns=tuple(str(c) for c, _ in columns),
        indexes=tuple(sql for _, sql in index_sql(conn, name)),
        comment=str(comment[0]) if comment and comment[0] else None,
        column_comments=tuple((str(c), str(m)) for c, m in columns if m),
        rows=int(count[0]) if count else 0,
        saved=SAVED_PREFIX + name,
        keys=tuple(
            ForeignKey(name, tuple(map(str, c)), str(t), tuple(map(str, r))) for t, c, r in keys
        ),
    )


@contextlib.contextmanager
def lifted_references(
    conn: duckdb.DuckDBPyConnection, table: str = "documents", *, only: Sequence[str] | None = None
) -> Iterator[Lift]:
    """Inside the block, nothing references ``table``: change its rows as DuckDB allows
    (:func:`egregora_pipeline.backends.references_base.lifted_references` says how)."""
    with _transaction(conn):
        names = referencing_closure(conn, table) if only is None else _closure(conn, table, only)
        if not names:
            yield Lift(conn, table, repoint_lifted)
            return
        tables = tuple(_describe_child(conn, name) for name in names)
        for lifted in tables:
            cols = ", ".join(q(c) for c in lifted.columns)
            conn.execute(
                f"CREATE TEMP TABLE {q(lifted.saved)} AS SELECT {cols} FROM {q(lifted.name)}"
            )
        for lifted in reversed(tables):
            conn.execute(f"DROP TABLE {q(lifted.name)}")
        lift = Lift(conn, table, repoint_lifted, tables)
        yield lift
        for lifted in tables:
            _restore(conn, lifted, table)


def _restore(conn: duckdb.DuckDBPyConnection, lifted: LiftedTable, table: str) -> None:
    conn.execute(lifted.sql)
    for key in lifted.keys:
        _refuse_dangling(conn, lifted, key, table)
    cols = ", ".join(q(c) for c in lifted.columns)
    row = conn.execute(
        f"INSERT INTO {q(lifted.name)} ({cols}) SELECT {cols} FROM {q(lifted.saved)}"
    ).fetchone()
    restored = int(row[0]) if row else 0
    if restored != lifted.rows:
        raise RuntimeError(f"{lifted.name}: restored {restored} of {lifted.rows} rows")
    for sql in lifted.indexes:
        conn.execute(sql)
    if lifted.comment:
        conn.execute(f"COMMENT ON TABLE {q(lifted.name)} IS {quote_literal(lifted.comment)}")
    for column, comment in lifted.column_comments:
        conn.execute(f"COMMENT ON COLUMN {q(lifted.name)}.{q(column)} IS {quote_literal(comment)}")
    conn.execute(f"DROP TABLE {q(lifted.saved)}")


def _refuse_dangling(
    conn: duckdb.DuckDBPyConnection, lifted: LiftedTable, key: ForeignKey, table: str
) -> None:
    """Name the keys a lifted row references that are gone (before the FK refuses them)."""
    if key.referenced_table != table:
        return  # a lifted parent: restored with all its rows just before
    present = " AND ".join(f"s.{q(c)} IS NOT NULL" for c in key.columns)
    join = " AND ".join(
        f"p.{q(r)} = s.{q(c)}" for c, r in zip(key.columns, key.referenced_columns, strict=True)
    )
    missing = conn.execute(
        f"SELECT DISTINCT s.{q(key.columns[0])}::VARCHAR FROM {q(lifted.saved)} s WHERE {present} "
        f"AND NOT EXISTS (SELECT 1 FROM {q(table)} p WHERE {join}) LIMIT 5"
    ).fetchall()
    if missing:
        raise ReferencesBrokenError(table, lifted.name, key.columns, [str(m[0]) for m in missing])


# --- re-keying ---------------------------------------------------------------------------


@contextlib.contextmanager
def _mapping_table(conn: duckdb.DuckDBPyConnection, mapping: Mapping[str, str]) -> Iterator[str]:
    name = q(_REKEY_TABLE)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT unnest(?::VARCHAR[]) AS old_key, "
        "unnest(?::VARCHAR[]) AS new_key",
        [list(mapping), list(mapping.values())],
    )
    try:
        yield name
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def _repoint(conn: duckdb.DuckDBPyConnection, target: str, column: str) -> int:
    row = conn.execute(
        f"UPDATE {q(target)} SET {q(column)} = m.new_key FROM {q(_REKEY_TABLE)} m "
        f"WHERE {q(target)}.{q(column)} = m.old_key"
    ).fetchone()
    return int(row[0]) if row else 0


def repoint_lifted(lift: Lift, mapping: Mapping[str, str], *, column: str = "id") -> int:
    """Re-point the references to ``lift.table.column`` in the saved copies of the lifted
    tables from old keys to new (``mapping``); returns how many changed."""
    changed = 0
    with _mapping_table(lift.conn, mapping):
        for lifted in lift.tables:
            for key in lifted.keys:
                if key.referenced_table == lift.table and key.referenced_columns == (column,):
                    changed += _repoint(lift.conn, lifted.saved, key.columns[0])
    return changed


def rekey_rows(
    conn: duckdb.DuckDBPyConnection, table: str, mapping: Mapping[str, str], *, column: str = "id"
) -> None:
    """Give rows of ``table`` new keys (``mapping``: old -> new); nothing else re-pointed."""
    with _mapping_table(conn, mapping):
        _repoint(conn, table, column)
