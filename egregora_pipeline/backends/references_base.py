"""Tables whose FOREIGN KEYs reference a table, and changing the referenced rows anyway.

Upstream Egregora's ``initialize_database`` (``database/init.py``, run on every
``egregora write``) gives ``documents`` a PRIMARY KEY and creates ``annotations``,
``document_relations`` and ``entity_aliases`` with FOREIGN KEYs to ``documents(id)``.
Each backend then needs its own way to change a referenced ``documents`` row:

* DuckDB refuses to change a referenced row in any way it runs as a delete and an
  insert (:mod:`egregora_pipeline.backends.duckdb.references`), so
  :func:`lifted_references` *lifts* the referencing tables around the change: copies
  them aside, drops them, and recreates them with every row afterwards.
* PostgreSQL updates non-key columns in place; lifting there drops the FOREIGN KEY
  constraints and adds them back (:mod:`egregora_pipeline.backends.postgres.references`).

Either way a reference the change broke raises :class:`ReferencesBrokenError`, and the
caller's transaction rolls back. :meth:`Lift.rekey` re-points references to re-keyed
rows while they are lifted; :func:`rekey` does both halves (rows and references) in one
call.

This module holds what is the same on every backend -- the errors, the records, and
the public entry points, which dispatch to the connection's
:class:`~egregora_pipeline.backends.migration_base.MigrationImpl` -- so that callers
(the ingestion loader, revision ``0002``) never ask which backend they have.
Layer-neutral: no Dagster, Ibis or migration-engine import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from egregora_pipeline.errors import EgregoraError
from egregora_pipeline.sql import quote_ident as q

if TYPE_CHECKING:
    from egregora_pipeline.backends.migration_base import MigrationImpl


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
    """DuckDB: the referencing tables lifted (dropped, their rows saved aside)."""
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
        changed = _impl(self.conn).repoint_lifted(self, mapping, column=column)
        self.rekeyed += changed
        return changed


def _impl(conn: Any) -> MigrationImpl:
    """The migration impl of ``conn``'s backend (what each entry point dispatches to)."""
    from egregora_pipeline.backends import impl_for

    return impl_for(conn)


# --- what references a table -------------------------------------------------------------


def foreign_keys_to(conn: Any, table: str) -> tuple[ForeignKey, ...]:
    """Every FOREIGN KEY referencing ``table`` (its own self-references included)."""
    return _impl(conn).foreign_keys_to(conn, table)


def tables_holding(keys: Sequence[ForeignKey], table: str) -> list[str]:
    """The tables other than ``table`` holding one of ``keys``, in the order of ``keys``."""
    out: list[str] = []
    for key in keys:
        if key.table != table and key.table not in out:
            out.append(key.table)
    return out


def referencing_tables(conn: Any, table: str) -> list[str]:
    """Tables other than ``table`` with a FOREIGN KEY referencing it, oldest first."""
    return tables_holding(foreign_keys_to(conn, table), table)


def referenced_sql(key: ForeignKey, column: str, array: str) -> str:
    """The query of the values of ``key.referenced_table.column`` among the ``array``
    parameter (a backend's placeholder, cast to a text array) that rows of ``key.table``
    reference through ``key``."""
    table = key.referenced_table
    join = " AND ".join(
        f"x.{q(c)} = d.{q(r)}" for c, r in zip(key.columns, key.referenced_columns, strict=True)
    )
    return (
        f"SELECT DISTINCT d.{q(column)} FROM {q(key.table)} x JOIN {q(table)} d ON {join} "
        f"WHERE d.{q(column)} = ANY({array})"
    )


def referenced(conn: Any, table: str, column: str, keys: Sequence[str]) -> dict[str, list[str]]:
    """Which of ``keys`` (values of ``table.column``) rows of other tables reference.

    Returns referencing table -> the referenced keys (sorted); a FOREIGN KEY on
    another column of ``table`` counts when its referenced column's value belongs to
    a row with one of ``keys``. Tables that reference none are left out.
    """
    if not keys:
        return {}
    impl = _impl(conn)
    out: dict[str, set[str]] = {}
    for key in impl.foreign_keys_to(conn, table):
        found = impl.referenced_keys(conn, key, column, keys)
        if found:
            out.setdefault(key.table, set()).update(found)
    return {name: sorted(found) for name, found in out.items()}


def is_fk_refusal(error: BaseException) -> bool:
    """Whether ``error`` is a backend refusing to rewrite a row a FOREIGN KEY references
    (DuckDB's; PostgreSQL rewrites such rows in place)."""
    from egregora_pipeline.backends import registered

    return any(backend.is_fk_refusal(error) for backend in registered())


# --- changing referenced rows -------------------------------------------------------------


def lifted_references(
    conn: Any, table: str = "documents", *, only: Sequence[str] | None = None
) -> contextlib.AbstractContextManager[Lift]:
    """Inside the block, nothing references ``table``: change its rows as the backend allows.

    ``only`` (DuckDB) lifts just those referencing tables (and the tables referencing
    them): DuckDB refuses a rewrite only for a table that holds a reference to the
    rewritten row, so a caller that knows which do (:func:`referenced`) copies less.

    On exit every lifted table is back with every row, index and comment (counts
    verified) and its FOREIGN KEYs checked again; a reference the block broke raises
    :class:`ReferencesBrokenError`. Runs in the caller's transaction (or one of its
    own, when none is open), so an error leaves everything as it was.
    """
    return _impl(conn).lifted_references(conn, table, only=only)


def rekey(conn: Any, table: str, mapping: Mapping[str, str], *, column: str = "id") -> int:
    """Give rows of ``table`` new keys (``mapping``: old -> new) and re-point every
    FOREIGN KEY reference to them, in one transaction (the caller's, if open).

    Returns how many references were re-pointed. A new key that already exists is
    refused by the table's own key (the transaction rolls back).
    """
    if not mapping:
        return 0
    impl = _impl(conn)
    with impl.lifted_references(conn, table) as lift:
        impl.rekey_rows(conn, table, mapping, column=column)
        return lift.rekey(mapping, column=column)
