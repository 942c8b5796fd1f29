"""Changing rows other tables reference, on whichever backend the connection is.

Upstream Egregora's warehouses give ``documents`` a PRIMARY KEY that ``annotations``,
``document_relations`` and ``entity_aliases`` reference. Each backend changes a
referenced row its own way (:mod:`egregora_pipeline.backends.references_base` says
how); these entry points ask the connection's
:class:`~egregora_pipeline.backends.migration_base.MigrationImpl`, so the ingestion
loader and the revisions never ask which backend they have.

The import path is frozen: a revision file is checksummed byte for byte (``db check``
refuses a changed one), and revision 0002 imports :func:`lifted_references` from here,
as Alembic's revisions import ``alembic.op``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from egregora_pipeline.backends import impl_for, registered
from egregora_pipeline.backends.references_base import (
    ForeignKey,
    Lift,
    ReferencedRowsError,
    ReferencesBrokenError,
    tables_holding,
)

__all__ = [
    "ForeignKey",
    "Lift",
    "ReferencedRowsError",
    "ReferencesBrokenError",
    "foreign_keys_to",
    "is_fk_refusal",
    "lifted_references",
    "referenced",
    "referencing_tables",
    "rekey",
]


def foreign_keys_to(conn: Any, table: str) -> tuple[ForeignKey, ...]:
    """Every FOREIGN KEY referencing ``table`` (its own self-references included)."""
    return impl_for(conn).foreign_keys_to(conn, table)


def referencing_tables(conn: Any, table: str) -> list[str]:
    """Tables other than ``table`` with a FOREIGN KEY referencing it, oldest first."""
    return tables_holding(foreign_keys_to(conn, table), table)


def referenced(conn: Any, table: str, column: str, keys: Sequence[str]) -> dict[str, list[str]]:
    """Which of ``keys`` (values of ``table.column``) rows of other tables reference.

    Referencing table -> the referenced keys, as :meth:`.MigrationImpl.referenced` reads them.
    """
    return impl_for(conn).referenced(conn, table, column, keys)


def is_fk_refusal(error: BaseException) -> bool:
    """Whether ``error`` is a backend refusing to rewrite a row a FOREIGN KEY references
    (DuckDB's; PostgreSQL rewrites such rows in place)."""
    return any(backend.is_fk_refusal(error) for backend in registered())


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
    return impl_for(conn).lifted_references(conn, table, only=only)


def rekey(conn: Any, table: str, mapping: Mapping[str, str], *, column: str = "id") -> int:
    """Give rows of ``table`` new keys (``mapping``: old -> new) and re-point every
    FOREIGN KEY reference to them, in one transaction (the caller's, if open).

    Returns how many references were re-pointed. A new key that already exists is
    refused by the table's own key (the transaction rolls back).
    """
    if not mapping:
        return 0
    impl = impl_for(conn)
    with impl.lifted_references(conn, table) as lift:
        impl.rekey_rows(conn, table, mapping, column=column)
        return lift.rekey(mapping, column=column)
