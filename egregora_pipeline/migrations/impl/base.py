"""What every backend implementation provides, and how the engine finds the one in use.

One concern per backend lives in its module (:mod:`.duckdb`, :mod:`.postgres`):
reading the catalog, rendering types, what a transaction and a lock are. The
engine asks :func:`impl_for` (by connection type) and, while it renders
operations to SQL, :func:`current_dialect` (set by :func:`using`), so an
operation renders one revision file for whichever backend runs it.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, Union

if TYPE_CHECKING:
    import duckdb

    from egregora_pipeline.migrations.catalog import LiveColumn
    from egregora_pipeline.migrations.impl.postgres import PgConnection

Connection = Union["duckdb.DuckDBPyConnection", "PgConnection"]
"""An open warehouse connection: DuckDB's own, or the PostgreSQL wrapper."""

_DIALECT: ContextVar[str] = ContextVar("egregora_sql_dialect", default="duckdb")


class MigrationImpl(ABC):
    """The backend-specific half of the migration engine."""

    name: ClassVar[str]
    """``duckdb`` or ``postgres``: also the SQL dialect name (Ibis / sqlglot)."""
    transactional_ddl: ClassVar[bool]
    """DDL rolls back with its transaction (PostgreSQL), so a dry run can really run."""
    legacy_layouts: ClassVar[bool]
    """Adoption of upstream/legacy layouts, batch mode and CHECK widening (DuckDB only)."""

    @property
    @abstractmethod
    def errors(self) -> tuple[type[BaseException], ...]:
        """The driver's error types: a statement failing with one rolls its step back."""

    @abstractmethod
    def table_names(self, conn: Any) -> set[str]:
        """Base tables of the current schema."""

    @abstractmethod
    def all_columns(self, conn: Any) -> dict[str, dict[str, LiveColumn]]:
        """Every base table's columns in table order, in one catalog query."""

    def columns(self, conn: Any, table: str) -> dict[str, LiveColumn]:
        return self.all_columns(conn).get(table, {})

    def table_exists(self, conn: Any, table: str) -> bool:
        return table in self.table_names(conn)

    @abstractmethod
    def database_label(self, conn: Any) -> str:
        """The warehouse behind ``conn``, for messages (never with a password)."""

    def checkpoint_statement(self) -> str | None:
        """A statement to run after each committed step (DuckDB empties its WAL)."""
        return None

    def execute(self, conn: Any, sql: str, params: Sequence[object] | None = None) -> Any:
        """Run one statement with ``?`` parameters; returns a cursor-like result."""
        return conn.execute(sql, list(params)) if params is not None else conn.execute(sql)


def impl_for(conn: object) -> MigrationImpl:
    """The implementation for an open connection (DuckDB's, or :class:`PgConnection`)."""
    import duckdb

    from egregora_pipeline.migrations.impl.duckdb import DuckDBImpl

    if isinstance(conn, duckdb.DuckDBPyConnection):  # no psycopg import for DuckDB users
        return DuckDBImpl()
    from egregora_pipeline.migrations.impl.postgres import PgConnection, PostgresImpl

    if isinstance(conn, PgConnection):
        return PostgresImpl()
    raise TypeError(f"not a warehouse connection: {type(conn).__name__}")


def current_dialect() -> str:
    """The backend operations are being rendered for (``duckdb`` unless :func:`using` says)."""
    return _DIALECT.get()


@contextlib.contextmanager
def using(impl_or_conn: MigrationImpl | object) -> Iterator[MigrationImpl]:
    """Render operations for this backend inside the block."""
    impl = impl_or_conn if isinstance(impl_or_conn, MigrationImpl) else impl_for(impl_or_conn)
    token = _DIALECT.set(impl.name)
    try:
        yield impl
    finally:
        _DIALECT.reset(token)
