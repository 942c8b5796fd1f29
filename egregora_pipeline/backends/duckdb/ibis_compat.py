"""Make Ibis 12's DuckDB backend whole on DuckDB 2.0, until an Ibis release does.

Measured on the pinned versions (ibis-framework 12.0.0, duckdb 2.0.0): Ibis runs
filters, aggregates, ``to_pyarrow``, ``create_table``, ``insert``, ``raw_sql`` DDL
and ``get_schema`` against DuckDB 2.0 as they are. Exactly five helpers fail,
``list_tables``, ``list_databases``, ``list_catalogs``, ``con.sql`` and
``to_pyarrow_batches``, because they read a query's result through
``DuckDBPyConnection.fetch_arrow_table`` / ``fetch_record_batch``, which DuckDB
2.0 renamed ``to_arrow_table`` / ``to_arrow_reader`` on connections (relations
keep the old names as deprecated aliases). The fix is merged in Ibis, not
released.

This module puts the two old names back on ``DuckDBPyConnection`` -- nothing
else of DuckDB or Ibis is touched -- and :func:`connect_duckdb` is the one door
through which the project opens an Ibis connection on DuckDB, so the shim is
always in place first. ``tests/test_ibis_compat.py`` fails as soon as Ibis no
longer needs it, saying to delete this module.

A second DuckDB 2.0 trait is not a bug to patch but a rule to follow: a result
left unread on a connection (``con.raw_sql("SELECT ...")`` not fetched) makes the
connection's next query fail with ``ResourceInUseException``. Run statements
through :func:`run_raw_sql`, which reads every row and closes the cursor, on
DuckDB and PostgreSQL alike.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb

if TYPE_CHECKING:
    import ibis.backends.duckdb
    import pyarrow as pa
    from ibis.backends.sql import SQLBackend

_ARROW_COPY_WARNING: Final = "Arrow output on a DB-API result"
"""DuckDB 2.0 warns that ``to_arrow_*`` on a DB-API result copies the rows. Ibis's
helpers read small catalog results this way, so the warning would be noise."""

_SHIM_MARKER: Final = "_egregora_ibis_compat"


def _fetch_arrow_table(self: duckdb.DuckDBPyConnection) -> pa.Table:
    """The DuckDB 1.x name of ``to_arrow_table`` on a connection's pending result."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_ARROW_COPY_WARNING, category=UserWarning)
        return self.to_arrow_table()


def _fetch_record_batch(
    self: duckdb.DuckDBPyConnection, rows_per_batch: int = 1_000_000
) -> pa.RecordBatchReader:
    """The DuckDB 1.x name of ``to_arrow_reader`` on a connection's pending result."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_ARROW_COPY_WARNING, category=UserWarning)
        return self.to_arrow_reader(rows_per_batch)


def apply_duckdb2_shim() -> None:
    """Give ``DuckDBPyConnection`` back ``fetch_arrow_table`` / ``fetch_record_batch``.

    Idempotent, and a no-op on a DuckDB that still has them: only a missing name
    is added, so nothing DuckDB defines is ever replaced.
    """
    connection_type: Any = duckdb.DuckDBPyConnection
    if getattr(connection_type, _SHIM_MARKER, False):
        return
    if not hasattr(connection_type, "fetch_arrow_table"):
        connection_type.fetch_arrow_table = _fetch_arrow_table
    if not hasattr(connection_type, "fetch_record_batch"):
        connection_type.fetch_record_batch = _fetch_record_batch
    setattr(connection_type, _SHIM_MARKER, True)


def connect_duckdb(
    database: duckdb.DuckDBPyConnection | Path | str = ":memory:",
) -> ibis.backends.duckdb.Backend:
    """An Ibis DuckDB backend over ``database``, with the DuckDB 2.0 shim applied.

    ``database`` is an open DuckDB connection (shared: Ibis and the caller then
    see the same transaction state and the same pending results) or a path.
    Every Ibis-on-DuckDB connection of the project is opened here.
    """
    import ibis

    apply_duckdb2_shim()
    if isinstance(database, duckdb.DuckDBPyConnection):
        return ibis.duckdb.from_connection(database)
    from egregora_pipeline.compute_engine import bounded_config

    return ibis.duckdb.connect(
        str(database), **bounded_config(None if str(database) == ":memory:" else Path(database))
    )


def run_raw_sql(backend: SQLBackend, query: str) -> list[tuple[Any, ...]]:
    """Run ``query`` through ``backend.raw_sql`` and read its result to the end.

    Returns the rows (``[]`` for a statement without a result). On DuckDB the
    result is the connection itself, so it is drained, never closed; on
    PostgreSQL (psycopg) it is a cursor, closed here. Either way nothing is left
    pending to block the next query.
    """
    result = backend.raw_sql(query)
    if isinstance(result, duckdb.DuckDBPyConnection):
        return [tuple(row) for row in result.fetchall()]
    try:
        if getattr(result, "description", None) is None:
            return []
        return [tuple(row) for row in result.fetchall()]
    finally:
        result.close()
