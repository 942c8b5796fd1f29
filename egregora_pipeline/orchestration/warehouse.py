"""What each Dagster step opens on the warehouse, whatever its backend.

``EGREGORA_DATABASE`` / ``--database`` is parsed once (:class:`.settings.Settings`)
into a :class:`~egregora_pipeline.backends.WarehouseTarget`; the ``warehouse``
resource (:mod:`.resources`) holds it and the steps ask its backend
(:func:`~egregora_pipeline.backends.backend_of`) for two kinds of access:

- **The engine connection** (:func:`engine_connection`), for the migration
  engine, the blocking schema checks (the same catalog read and type rule as
  ``db check``: by Ibis dtype, so ``VARCHAR`` / ``character varying`` or
  ``TIMESTAMPTZ`` / ``timestamp with time zone`` are never drift, while a type
  Ibis only reads loosely, such as PostgreSQL's 63-byte ``name``, is), the in-asset
  schema gate and the data checks: :meth:`Backend.connect` with the resource's
  lock timeout, named after the step where the server shows sessions.
- **The loader's sink** (:func:`loader_sink`), for the ingestion op:
  :meth:`Backend.sink_for_step` -- over that same connection for a single-writer
  file (DuckDB), or on a session of its own (PostgreSQL: COPY and anti-join
  upserts under per-table advisory locks, never mixed with the gate's reads).

The pool that serializes warehouse steps (:mod:`.pool`) exists for a
single-writer backend; others get none, so runs may write concurrently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from egregora_pipeline.backends import ConnectOptions, backend_of
from egregora_pipeline.orchestration.pool import (
    WAREHOUSE_POOL,
    WAREHOUSE_TAG,
    warehouse_kind,
    warehouse_pool,
)

if TYPE_CHECKING:
    from egregora_pipeline.backends.migration_base import Connection
    from egregora_pipeline.backends.sink_base import Sink
    from egregora_pipeline.orchestration.resources import Warehouse
    from egregora_pipeline.settings import Settings

__all__ = [
    "WAREHOUSE_POOL",
    "WAREHOUSE_TAG",
    "engine_connection",
    "loader_sink",
    "warehouse_kind",
    "warehouse_pool",
]


@contextlib.contextmanager
def engine_connection(
    warehouse: Warehouse, *, step: str, read_only: bool = False
) -> Iterator[Connection]:
    """The connection the migration engine, the schema gate and the data checks take.

    Opened by the backend with the resource's ``lock_timeout_seconds`` (DuckDB:
    waiting for the file's writer lock; PostgreSQL: autocommit, lock waits bounded,
    named after ``step`` in ``pg_stat_activity``); read-only refuses every write.
    Closed on exit.
    """
    target = warehouse.target()
    options = ConnectOptions(
        read_only=read_only, lock_timeout=warehouse.lock_timeout_seconds, purpose=step
    )
    conn = backend_of(target).connect(target, options)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def loader_sink(warehouse: Warehouse, conn: Connection, *, settings: Settings) -> Iterator[Sink]:
    """Where the ingestion op writes, given the ``conn`` of :func:`engine_connection`."""
    target = warehouse.target()
    with backend_of(target).sink_for_step(
        target, conn, lock_timeout=settings.lock_timeout_seconds
    ) as sink:
        yield sink
