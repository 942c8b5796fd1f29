"""Tables whose FOREIGN KEYs reference a table, and changing the referenced rows anyway.

Upstream Egregora's ``initialize_database`` (``database/init.py``, run on every
``egregora write``) gives ``documents`` a PRIMARY KEY and creates ``annotations``,
``document_relations`` and ``entity_aliases`` with FOREIGN KEYs to ``documents(id)``.
DuckDB (2.0 as 1.x) then refuses to change a referenced ``documents`` row in any way
it runs as a delete and an insert -- an UPDATE of a list or map column, of a column an
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
KEY: :class:`ReferencesBrokenError` names the table and the keys, and the caller's
transaction rolls back. :meth:`Lift.rekey` re-points references to re-keyed rows while
they are lifted; :func:`rekey` does both halves (rows and references) in one call.

PostgreSQL updates non-key columns in place, so a referenced row can be edited as it
is; re-keying one is refused by a ``NO ACTION`` FOREIGN KEY. There, lifting drops the
FOREIGN KEY constraints that reference the table and adds them back afterwards (which
validates every row again), all inside the transaction.

Layer-neutral: no Dagster, Ibis or migration-engine import; the ingestion loader and
the migration engine both use it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb

from egregora_pipeline.errors import EgregoraError
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


class ReferencedRowsError(EgregoraError):
    """DuckDB refused to change rows other rows reference, and lifting cannot help.

    Raised when the referencing table cannot be lifted (it is the changed table
    itself: a self-referencing FOREIGN KEY) or when DuckDB refused anyway.
    """

    def __init__(self, table: str, referencing: Sequence[str], keys: Sequence[str]) -> None:
        shown = ", ".join(repr(k) for k in list(keys)[:3]) + (" ..." if len(keys) > 3 else "")
        names = ", ".join(referencing) or "another table"
        if table in referencing:  # its own FOREIGN KEY: the one table a lift cannot drop
            names = names.replace(table, f"{table} itself (a FOREIGN KEY of {table} to {table})")
        super().__init__(
            f"DuckDB refused to update {table} row(s) {shown}: rows of {names} reference them "
            f"through a FOREIGN KEY, and DuckDB rewrites a referenced row only when nothing "
            f"references it. Nothing of this input was written. To update it, remove those "
            f"references (e.g. delete or re-point the rows of {names} that name these ids), "
            f"ingest again, then add them back; or copy {names} aside and drop it while you "
            "ingest."
        )
        self.table = table
        self.referencing = tuple(referencing)
        self.keys = tuple(keys)


class ReferencesBrokenError(EgregoraError):
    """After a lifted change, rows of a referencing table name keys that no longer exist."""

    def __init__(self, table: str, child: str, columns: Sequence[str], missing: Sequence[str]):
        shown = ", ".join(repr(m) for m in list(missing)[:3])
        super().__init__(
            f"{child}.{', '.join(columns)} would reference {table} key(s) {shown} that the "
            f"change removed; nothing was changed. Re-point those rows of {child} (or give the "
            f"change a mapping for them) and try again."
        )
        self.table = table
        self.child = child
        self.missing = tuple(missing)


@dataclass(frozen=True)
class ForeignKey:
    """One FOREIGN KEY of ``table`` referencing ``referenced_table``."""

    table: str
    columns: tuple[str, ...]
    referenced_table: str
    referenced_columns: tuple[str, ...]
    name: str = ""
    """PostgreSQL's constraint name (DuckDB keeps none)."""
    definition: str = ""
    """PostgreSQL's ``pg_get_constraintdef`` (to add the constraint back)."""


@dataclass(frozen=True)
class LiftedTable:
    """A referencing table while it is lifted: how to recreate it and where its rows are."""

    name: str
    sql: str
    columns: tuple[str, ...]
    """Insertable columns (generated ones are recomputed)."""
    indexes: tuple[str, ...]
    comment: str | None
    column_comments: tuple[tuple[str, str], ...]
    rows: int
    saved: str
    keys: tuple[ForeignKey, ...]


@dataclass
class Lift:
    """What :func:`lifted_references` lifted; :meth:`rekey` re-points lifted references."""

    conn: Any
    table: str
    tables: tuple[LiftedTable, ...] = ()
    dropped: tuple[ForeignKey, ...] = ()
    """PostgreSQL: the FOREIGN KEY constraints dropped while lifted."""
    rekeyed: int = field(default=0)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables) or tuple(k.table for k in self.dropped)

    def rekey(self, mapping: Mapping[str, str], *, column: str = "id") -> int:
        """Re-point every lifted reference to ``table.column`` from an old key to its new
        one (``mapping``: old -> new); returns how many references changed."""
        if not mapping:
            return 0
        changed = 0
        if isinstance(self.conn, duckdb.DuckDBPyConnection):
            with _mapping_table(self.conn, mapping):
                for lifted in self.tables:
                    for key in lifted.keys:
                        if key.referenced_table == self.table and key.referenced_columns == (
                            column,
                        ):
                            changed += _repoint(self.conn, lifted.saved, key.columns[0])
        else:
            for key in self.dropped:
                if key.referenced_columns == (column,):
                    changed += _repoint_pg(self.conn, key.table, key.columns[0], mapping)
        self.rekeyed += changed
        return changed


# --- reading the catalog ---------------------------------------------------------------


def _is_duckdb(conn: Any) -> bool:
    return isinstance(conn, duckdb.DuckDBPyConnection)


def foreign_keys_to(conn: Any, table: str) -> tuple[ForeignKey, ...]:
    """Every FOREIGN KEY referencing ``table`` (its own self-references included)."""
    if _is_duckdb(conn):
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
    rows = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid),
                  ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                        ORDER BY k.i),
                  ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                        ORDER BY k.i)
           FROM pg_constraint c
           WHERE c.contype = 'f' AND c.confrelid = to_regclass(%s)
           ORDER BY c.conrelid, c.conname""",
        (q(table),),
    ).fetchall()
    return tuple(
        ForeignKey(_unquote(str(t)), tuple(cols), table, tuple(refs), str(name), str(defn))
        for t, name, defn, cols, refs in rows
    )


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def referencing_tables(conn: Any, table: str) -> list[str]:
    """Tables other than ``table`` with a FOREIGN KEY referencing it, oldest first."""
    out: list[str] = []
    for key in foreign_keys_to(conn, table):
        if key.table != table and key.table not in out:
            out.append(key.table)
    return out


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


def referenced(conn: Any, table: str, column: str, keys: Sequence[str]) -> dict[str, list[str]]:
    """Which of ``keys`` (values of ``table.column``) rows of other tables reference.

    Returns referencing table -> the referenced keys (sorted); a FOREIGN KEY on
    another column of ``table`` counts when its referenced column's value belongs to
    a row with one of ``keys``. Tables that reference none are left out.
    """
    if not keys:
        return {}
    out: dict[str, set[str]] = {}
    array = "?::VARCHAR[]" if _is_duckdb(conn) else "%s::text[]"
    for key in foreign_keys_to(conn, table):
        join = " AND ".join(
            f"x.{q(c)} = d.{q(r)}" for c, r in zip(key.columns, key.referenced_columns, strict=True)
        )
        rows = conn.execute(
            f"SELECT DISTINCT d.{q(column)} FROM {q(key.table)} x JOIN {q(table)} d ON {join} "
            f"WHERE d.{q(column)} = ANY({array})",
            [list(keys)] if _is_duckdb(conn) else (list(keys),),
        ).fetchall()
        if rows:
            out.setdefault(key.table, set()).update(str(r[0]) for r in rows)
    return {name: sorted(found) for name, found in out.items()}


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
def _transaction(conn: Any) -> Iterator[None]:
    """The caller's transaction if one is open, else one of our own around the lift."""
    if _is_duckdb(conn):
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
        return
    from psycopg.pq import TransactionStatus

    if conn.info.transaction_status == TransactionStatus.INTRANS:
        yield
        return
    with conn.transaction():
        yield


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
    conn: Any, table: str = "documents", *, only: Sequence[str] | None = None
) -> Iterator[Lift]:
    """Inside the block, nothing references ``table``: change its rows as DuckDB allows.

    ``only`` (DuckDB) lifts just those referencing tables (and the tables referencing
    them): DuckDB refuses a rewrite only for a table that holds a reference to the
    rewritten row, so a caller that knows which do (:func:`referenced`) copies less.

    On exit every lifted table is back with every row, index and comment (counts
    verified) and its FOREIGN KEYs checked again; a reference the block broke raises
    :class:`ReferencesBrokenError`. Runs in the caller's transaction (or one of its
    own, when none is open), so an error leaves everything as it was.
    """
    with _transaction(conn):
        if not _is_duckdb(conn):
            with _lifted_postgres(conn, table) as lift:
                yield lift
            return
        names = referencing_closure(conn, table) if only is None else _closure(conn, table, only)
        if not names:
            yield Lift(conn, table)
            return
        tables = tuple(_describe_child(conn, name) for name in names)
        for lifted in tables:
            cols = ", ".join(q(c) for c in lifted.columns)
            conn.execute(
                f"CREATE TEMP TABLE {q(lifted.saved)} AS SELECT {cols} FROM {q(lifted.name)}"
            )
        for lifted in reversed(tables):
            conn.execute(f"DROP TABLE {q(lifted.name)}")
        lift = Lift(conn, table, tables)
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


@contextlib.contextmanager
def _lifted_postgres(pg: Any, table: str) -> Iterator[Lift]:
    keys = tuple(k for k in foreign_keys_to(pg, table) if k.table != table)
    for key in keys:
        pg.execute(f"ALTER TABLE {q(key.table)} DROP CONSTRAINT {q(key.name)}")
    lift = Lift(pg, table, dropped=keys)
    yield lift
    import psycopg

    for key in keys:
        try:
            with pg.transaction():  # a savepoint: name the broken reference, not the SQL
                pg.execute(
                    f"ALTER TABLE {q(key.table)} ADD CONSTRAINT {q(key.name)} {key.definition}"
                )
        except psycopg.errors.ForeignKeyViolation:
            join = " AND ".join(
                f"p.{q(r)} = s.{q(c)}"
                for c, r in zip(key.columns, key.referenced_columns, strict=True)
            )
            missing = pg.execute(
                f"SELECT DISTINCT s.{q(key.columns[0])}::text FROM {q(key.table)} s "
                f"WHERE s.{q(key.columns[0])} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {q(table)} p WHERE {join}) LIMIT 5"
            ).fetchall()
            raise ReferencesBrokenError(
                table, key.table, key.columns, [str(m[0]) for m in missing]
            ) from None


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


def _repoint_pg(pg: Any, target: str, column: str, mapping: Mapping[str, str]) -> int:
    cursor = pg.execute(
        f"UPDATE {q(target)} SET {q(column)} = m.new_key "
        "FROM unnest(%s::text[], %s::text[]) AS m(old_key, new_key) "
        f"WHERE {q(target)}.{q(column)} = m.old_key",
        (list(mapping), list(mapping.values())),
    )
    return int(cursor.rowcount or 0)


def rekey(conn: Any, table: str, mapping: Mapping[str, str], *, column: str = "id") -> int:
    """Give rows of ``table`` new keys (``mapping``: old -> new) and re-point every
    FOREIGN KEY reference to them, in one transaction (the caller's, if open).

    Returns how many references were re-pointed. A new key that already exists is
    refused by the table's own key (the transaction rolls back).
    """
    if not mapping:
        return 0
    with lifted_references(conn, table) as lift:
        if _is_duckdb(conn):
            with _mapping_table(conn, mapping):
                _repoint(conn, table, column)
        else:
            _repoint_pg(conn, table, column, mapping)
        return lift.rekey(mapping, column=column)
