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

This module holds what is the same on every backend -- the errors, the records and
the shared SQL -- for the backends' own modules. Callers outside the backends (the
ingestion loader, revision ``0002``) use the entry points in
:mod:`egregora_pipeline.references`, which dispatch to the connection's
:class:`~egregora_pipeline.backends.migration_base.MigrationImpl`, so they never ask
which backend they have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from egregora_pipeline.errors import EgregoraError
from egregora_pipeline.sql import quote_ident as q


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
    repoint: Callable[..., int]
    """The lifting backend's ``repoint_lifted(lift, mapping, *, column)``: how it
    re-points the references it lifted (it alone knows where they are kept)."""
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
        changed = self.repoint(self, mapping, column=column)
        self.rekeyed += changed
        return changed


# --- what references a table -------------------------------------------------------------


def tables_holding(keys: Sequence[ForeignKey], table: str) -> list[str]:
    """The tables other than ``table`` holding one of ``keys``, in the order of ``keys``."""
    out: list[str] = []
    for key in keys:
        if key.table != table and key.table not in out:
            out.append(key.table)
    return out


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


# --- changing referenced rows -------------------------------------------------------------
