"""PostgreSQL's half of :mod:`egregora_pipeline.backends.references_base`: FOREIGN KEYs lifted.

PostgreSQL updates non-key columns in place, so a referenced row can be edited as it
is; re-keying one is refused by a ``NO ACTION`` FOREIGN KEY. There, lifting drops the
FOREIGN KEY constraints that reference the table and adds them back afterwards (which
validates every row again), all inside the transaction; a constraint that no longer
holds is reported as :class:`~egregora_pipeline.backends.references_base.ReferencesBrokenError`
naming the missing keys, not as psycopg's error.

Every function takes the psycopg connection itself (what
:attr:`~egregora_pipeline.migrations.ops.DataStep.raw` hands a revision); the catalog
readers also take the engine's :class:`~.connection.PgConnection`. Its own module so
that only ``backends/postgres/`` imports ``psycopg`` for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from egregora_pipeline.backends.references_base import (
    ForeignKey,
    Lift,
    ReferencesBrokenError,
    referenced_sql,
)
from egregora_pipeline.sql import quote_ident

q = quote_ident

_FOREIGN_KEYS_SQL = """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid),
                  ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                        ORDER BY k.i),
                  ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                        ORDER BY k.i)
           FROM pg_constraint c
           WHERE c.contype = 'f' AND c.confrelid = to_regclass(%s)
           ORDER BY c.conrelid, c.conname"""


def foreign_keys_to(pg: Any, table: str) -> tuple[ForeignKey, ...]:
    """Every FOREIGN KEY referencing ``table`` (its own self-references included), with
    each constraint's name and definition (to add it back)."""
    rows = pg.execute(_FOREIGN_KEYS_SQL, (q(table),)).fetchall()
    return tuple(
        ForeignKey(_unquote(str(t)), tuple(cols), table, tuple(refs), str(name), str(defn))
        for t, name, defn, cols, refs in rows
    )


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def referenced_keys(pg: Any, key: ForeignKey, column: str, keys: Sequence[str]) -> list[str]:
    """Which of ``keys`` rows of ``key.table`` reference through ``key``."""
    rows = pg.execute(referenced_sql(key, column, "%s::text[]"), (list(keys),)).fetchall()
    return [str(r[0]) for r in rows]


@contextlib.contextmanager
def _transaction(pg: Any) -> Iterator[None]:
    """The caller's transaction if one is open, else one of our own around the lift."""
    if pg.info.transaction_status == TransactionStatus.INTRANS:
        yield
        return
    with pg.transaction():
        yield


@contextlib.contextmanager
def lifted_references(
    pg: Any, table: str = "documents", *, only: Sequence[str] | None = None
) -> Iterator[Lift]:
    """Inside the block, no FOREIGN KEY constraint references ``table``; on exit each is
    added back, validating every row (``only`` is DuckDB's: every constraint is dropped)."""
    with _transaction(pg):
        keys = tuple(k for k in foreign_keys_to(pg, table) if k.table != table)
        for key in keys:
            pg.execute(f"ALTER TABLE {q(key.table)} DROP CONSTRAINT {q(key.name)}")
        lift = Lift(pg, table, repoint_lifted, dropped=keys)
        yield lift
        for key in keys:
            _add_back(pg, key, table)


def _add_back(pg: Any, key: ForeignKey, table: str) -> None:
    """Add ``key`` back; a row it refuses is named by the key it misses."""
    try:
        with pg.transaction():  # a savepoint: name the broken reference, not the SQL
            pg.execute(f"ALTER TABLE {q(key.table)} ADD CONSTRAINT {q(key.name)} {key.definition}")
    except psycopg.errors.ForeignKeyViolation:
        join = " AND ".join(
            f"p.{q(r)} = s.{q(c)}" for c, r in zip(key.columns, key.referenced_columns, strict=True)
        )
        missing = pg.execute(
            f"SELECT DISTINCT s.{q(key.columns[0])}::text FROM {q(key.table)} s "
            f"WHERE s.{q(key.columns[0])} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {q(table)} p WHERE {join}) LIMIT 5"
        ).fetchall()
        raise ReferencesBrokenError(
            table, key.table, key.columns, [str(m[0]) for m in missing]
        ) from None


def _repoint(pg: Any, target: str, column: str, mapping: Mapping[str, str]) -> int:
    cursor = pg.execute(
        f"UPDATE {q(target)} SET {q(column)} = m.new_key "
        "FROM unnest(%s::text[], %s::text[]) AS m(old_key, new_key) "
        f"WHERE {q(target)}.{q(column)} = m.old_key",
        (list(mapping), list(mapping.values())),
    )
    return int(cursor.rowcount or 0)


def repoint_lifted(lift: Lift, mapping: Mapping[str, str], *, column: str = "id") -> int:
    """Re-point the references held under the dropped constraints from old keys to new
    (``mapping``); returns how many changed."""
    changed = 0
    for key in lift.dropped:
        if key.referenced_columns == (column,):
            changed += _repoint(lift.conn, key.table, key.columns[0], mapping)
    return changed


def rekey_rows(pg: Any, table: str, mapping: Mapping[str, str], *, column: str = "id") -> None:
    """Give rows of ``table`` new keys (``mapping``: old -> new); nothing else re-pointed."""
    _repoint(pg, table, column, mapping)
