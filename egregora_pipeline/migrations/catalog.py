"""Read the live schema through the backend's catalog (metadata only).

Every function delegates to the connection's implementation
(:func:`egregora_pipeline.backends.impl_for`): DuckDB's ``duckdb_columns()``,
PostgreSQL's ``pg_catalog`` read the way Ibis's ``get_schema`` reads it. None
reads table data, so each costs the same on a 1k-row and a 3M-row warehouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egregora_pipeline.backends import impl_for
from egregora_pipeline.backends.migration_base import LiveColumn

if TYPE_CHECKING:
    from egregora_pipeline.backends.migration_base import Connection

__all__ = ["LiveColumn", "all_columns", "columns", "table_exists", "table_names"]


def table_names(conn: Connection) -> set[str]:
    """Names of the base tables in the current schema."""
    return impl_for(conn).table_names(conn)


def table_exists(conn: Connection, table: str) -> bool:
    """True when ``table`` is a base table in the current schema."""
    return impl_for(conn).table_exists(conn, table)


def columns(conn: Connection, table: str) -> dict[str, LiveColumn]:
    """The columns of ``table`` in table order (empty when the table does not exist)."""
    return impl_for(conn).columns(conn, table)


def all_columns(conn: Connection) -> dict[str, dict[str, LiveColumn]]:
    """Every base table's columns, in one catalog query."""
    return impl_for(conn).all_columns(conn)
