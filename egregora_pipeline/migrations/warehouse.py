"""Open a warehouse by what ``--database`` / ``EGREGORA_DATABASE`` hold: a DuckDB path or a
PostgreSQL URL. The public door for the CLI and the Dagster layer.

Typical use (``upgrade_connection`` takes the lock itself)::

    with open_warehouse("postgresql://egregora@db/egregora") as wh:
        report = check_connection(wh.conn)
        result = upgrade_connection(wh.conn)

:meth:`Warehouse.migration_lock` serializes migrators: on DuckDB the read-write file
lock taken at open already does (a no-op); on PostgreSQL it is the advisory lock of
:mod:`.impl.postgres`. ``upgrade_connection`` takes it itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from egregora_pipeline.migrations.impl.base import Connection, MigrationImpl, impl_for
from egregora_pipeline.settings import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.warehouse_url import (
    DuckDBTarget,
    PostgresTarget,
    is_postgres_url,
    parse_warehouse,
)


@dataclass
class Warehouse:
    """An open warehouse: its connection, its backend implementation, its display name."""

    target: DuckDBTarget | PostgresTarget
    conn: Connection
    impl: MigrationImpl
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS

    @property
    def display(self) -> str:
        """The path, or the URL without its password."""
        return self.target.display

    @property
    def backend(self) -> str:
        return self.impl.name

    @contextlib.contextmanager
    def migration_lock(self) -> Iterator[None]:
        """Hold the migrators' lock (PostgreSQL advisory lock; DuckDB: the file lock)."""
        with migration_lock(self.conn, self.lock_timeout):
            yield

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def migration_lock(conn: Connection, timeout: float) -> Iterator[None]:
    """The migrators' lock for ``conn``'s backend (nothing to take on DuckDB)."""
    from egregora_pipeline.migrations.impl.postgres import PgConnection
    from egregora_pipeline.migrations.impl.postgres import migration_lock as pg_lock

    if isinstance(conn, PgConnection):
        with pg_lock(conn, timeout):
            yield
    else:
        yield


def open_warehouse(
    value: str | Path | DuckDBTarget | PostgresTarget,
    *,
    read_only: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    purpose: str = "migrate",
) -> Warehouse:
    """Connect to a DuckDB file (waiting for its writer lock) or a PostgreSQL database.

    ``read_only`` opens DuckDB read-only (a missing file is an error, never created)
    and makes a PostgreSQL session refuse writes. ``purpose`` names the session in
    ``pg_stat_activity`` (``application_name``).
    """
    if isinstance(value, DuckDBTarget | PostgresTarget):
        target: DuckDBTarget | PostgresTarget = value
    elif is_postgres_url(value):
        target = parse_warehouse(value)
    else:  # a path: no libpq needed
        target = DuckDBTarget(Path(value))
    if isinstance(target, PostgresTarget):
        from egregora_pipeline.migrations.impl import postgres

        conn: Connection = postgres.connect(
            target, read_only=read_only, lock_timeout=lock_timeout, purpose=purpose
        )
    else:
        from egregora_pipeline.connection import connect_warehouse

        conn = connect_warehouse(target.path, read_only=read_only, lock_timeout=lock_timeout)
    return Warehouse(target, conn, impl_for(conn), lock_timeout)
