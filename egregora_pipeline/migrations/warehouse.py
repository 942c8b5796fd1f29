"""Open a warehouse by what ``--database`` / ``EGREGORA_DATABASE`` hold: a DuckDB path or a
PostgreSQL URL. The public door for the CLI and the Dagster layer.

Typical use (``upgrade_connection`` takes the lock itself)::

    with open_warehouse("postgresql://egregora@db/egregora") as wh:
        report = check_connection(wh.conn)
        result = upgrade_connection(wh.conn)

The value is parsed by the backends' registry (:func:`~egregora_pipeline.backends.parse_warehouse`)
and opened by its backend; :meth:`Warehouse.migration_lock` is the backend impl's lock
(on DuckDB the read-write file lock taken at open already serializes migrators: a
no-op; on PostgreSQL an advisory lock). ``upgrade_connection`` takes it itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from egregora_pipeline.backends import WarehouseTarget, backend_of, parse_warehouse
from egregora_pipeline.backends.base import ConnectOptions
from egregora_pipeline.backends.migration_base import Connection, MigrationImpl
from egregora_pipeline.defaults import DEFAULT_LOCK_TIMEOUT_SECONDS


@dataclass
class Warehouse:
    """An open warehouse: its connection, its backend implementation, its display name."""

    target: WarehouseTarget
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
        with self.impl.migration_lock(self.conn, self.lock_timeout):
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


def open_warehouse(
    value: str | Path | WarehouseTarget,
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
    target = parse_warehouse(value)
    backend = backend_of(target)
    options = ConnectOptions(read_only=read_only, lock_timeout=lock_timeout, purpose=purpose)
    conn = backend.connect(target, options)
    return Warehouse(target, conn, backend.migration_impl(), lock_timeout)
