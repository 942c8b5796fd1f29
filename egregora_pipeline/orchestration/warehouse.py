"""What each Dagster step does on each warehouse backend, chosen from the URL.

``EGREGORA_DATABASE`` / ``--database`` name a DuckDB file or a PostgreSQL server
(:func:`egregora_pipeline.warehouse_url.parse_warehouse`). The Dagster layer
serves both through two resources (:mod:`.resources`) and two kinds of access:

- **The engine connection** (:func:`engine_connection`), for the migration
  engine, the blocking schema checks (the same catalog read and type rule as
  ``db check``: by Ibis dtype, so ``VARCHAR`` / ``character varying`` or
  ``TIMESTAMPTZ`` / ``timestamp with time zone`` are never drift, while a type
  Ibis only reads loosely, such as PostgreSQL's 63-byte ``name``, is), the in-asset
  schema gate and the data checks: the resource's DuckDB
  connection, or a session opened by
  :func:`egregora_pipeline.migrations.open_warehouse` on PostgreSQL. Both answer
  ``execute(sql, params)`` and the engine picks its implementation from the type.
- **The loader's sink** (:func:`loader_sink`), for the ingestion op: the DuckDB
  sink over that same connection, or a
  :class:`~egregora_pipeline.ingestion.postgres_load.PostgresSink` on its own
  session (COPY and anti-join upserts under per-table advisory locks).

The pool that serializes warehouse steps exists for DuckDB's single writer;
:func:`warehouse_pool` gives PostgreSQL none, so runs may write concurrently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from egregora_pipeline.warehouse_url import DuckDBTarget, PostgresTarget, WarehouseTarget

if TYPE_CHECKING:
    from egregora_pipeline.ingestion.sinks import Sink
    from egregora_pipeline.migrations.impl.base import Connection
    from egregora_pipeline.orchestration.resources import Warehouse
    from egregora_pipeline.settings import Settings

WAREHOUSE_POOL = "egregora_warehouse"
"""The Dagster concurrency pool of every step that opens a DuckDB warehouse.

``dagster.yaml`` gives it a limit of 1, so steps of concurrent runs queue
instead of fighting over DuckDB's file lock."""

WAREHOUSE_TAG = "egregora/warehouse"
"""Run tag naming the warehouse a run writes to, in its display form (no password)."""


def warehouse_pool(target: WarehouseTarget) -> str | None:
    """``egregora_warehouse`` for a DuckDB file (one writer); none for PostgreSQL."""
    return WAREHOUSE_POOL if isinstance(target, DuckDBTarget) else None


def warehouse_kind(target: WarehouseTarget) -> str:
    """The Dagster ``kinds`` tag of the warehouse assets: ``duckdb`` or ``postgres``."""
    return "duckdb" if isinstance(target, DuckDBTarget) else "postgres"


@contextlib.contextmanager
def engine_connection(
    warehouse: Warehouse, *, step: str, read_only: bool = False
) -> Iterator[Connection]:
    """The connection the migration engine, the schema gate and the data checks take.

    DuckDB: the lock-aware connection of :class:`.resources.WarehouseResource`.
    PostgreSQL: a session of :func:`~egregora_pipeline.migrations.open_warehouse`
    (autocommit, lock waits bounded by the resource's ``lock_timeout_seconds``,
    named after ``step`` in ``pg_stat_activity``; read-only refuses every write).
    Closed on exit.
    """
    target = warehouse.target()
    if isinstance(target, PostgresTarget):
        from egregora_pipeline.migrations import open_warehouse

        with open_warehouse(
            target,
            read_only=read_only,
            lock_timeout=warehouse.lock_timeout_seconds,
            purpose=step,
        ) as opened:
            yield opened.conn
        return
    from egregora_pipeline.orchestration.resources import WarehouseResource

    assert isinstance(warehouse, WarehouseResource)
    connection = warehouse.get_read_only_connection() if read_only else warehouse.get_connection()
    with connection as conn:
        yield conn


@contextlib.contextmanager
def loader_sink(warehouse: Warehouse, conn: Connection, *, settings: Settings) -> Iterator[Sink]:
    """Where the ingestion op writes, given the ``conn`` of :func:`engine_connection`.

    DuckDB: the sink over ``conn`` itself (one writer, one connection per step).
    PostgreSQL: a :class:`~egregora_pipeline.ingestion.postgres_load.PostgresSink`
    on its own session, so the loader's transactions never mix with the gate's
    reads; its per-table advisory locks let concurrent runs write safely.
    """
    target = warehouse.target()
    if isinstance(target, PostgresTarget):
        from egregora_pipeline.ingestion.postgres_load import PostgresSink

        with PostgresSink.open(target, lock_timeout=settings.lock_timeout_seconds) as sink:
            yield sink
        return
    import duckdb

    from egregora_pipeline.ingestion.pipeline import DuckDBSink

    assert isinstance(conn, duckdb.DuckDBPyConnection)
    yield DuckDBSink(conn)
