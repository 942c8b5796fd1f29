"""Read the live schema through the backend's catalog (metadata only).

Every function delegates to the connection's implementation
(:mod:`egregora_pipeline.migrations.impl`): DuckDB's ``duckdb_columns()``,
PostgreSQL's ``pg_catalog`` read the way Ibis's ``get_schema`` reads it. None
reads table data, so each costs the same on a 1k-row and a 3M-row warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.datatypes as dt

    from egregora_pipeline.migrations.impl.base import Connection


@dataclass(frozen=True)
class LiveColumn:
    """One column as the catalog reports it."""

    name: str
    type: str
    """DuckDB: the normalized DuckDB type (``VARCHAR[]``); PostgreSQL: the Ibis type
    string Ibis's ``PostgresType`` reads the catalog's type as (``array<string>``).
    Either is a valid revision type (:mod:`egregora_pipeline.schema.types`)."""
    nullable: bool

    @property
    def dtype(self) -> dt.DataType:
        """The column's Ibis dtype (nullable as it is)."""
        from egregora_pipeline.schema.types import to_dtype

        return to_dtype(self.type).copy(nullable=self.nullable)


def table_names(conn: Connection) -> set[str]:
    """Names of the base tables in the current schema."""
    from egregora_pipeline.migrations.impl import impl_for

    return impl_for(conn).table_names(conn)


def table_exists(conn: Connection, table: str) -> bool:
    """True when ``table`` is a base table in the current schema."""
    from egregora_pipeline.migrations.impl import impl_for

    return impl_for(conn).table_exists(conn, table)


def columns(conn: Connection, table: str) -> dict[str, LiveColumn]:
    """The columns of ``table`` in table order (empty when the table does not exist)."""
    from egregora_pipeline.migrations.impl import impl_for

    return impl_for(conn).columns(conn, table)


def all_columns(conn: Connection) -> dict[str, dict[str, LiveColumn]]:
    """Every base table's columns, in one catalog query."""
    from egregora_pipeline.migrations.impl import impl_for

    return impl_for(conn).all_columns(conn)


def schema_ddl(conn: Connection) -> list[str]:
    """The ``CREATE`` statements that rebuild a DuckDB warehouse's schema (no data)."""
    from egregora_pipeline.migrations.impl.duckdb import DuckDBImpl

    return DuckDBImpl().schema_ddl(conn)
