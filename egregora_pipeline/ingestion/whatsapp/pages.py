"""Rows of a query, fetched into Python a page at a time.

Per-row Python work over a chat (the reason of each rejected line) must not
hold every row at once: a chat can have a million of them. A DuckDB result
cannot stay open while the caller writes (any statement on the connection
closes it), so the rows are numbered once into a session-local temp table
and each page is a separate query over a range of numbers. The connection is
the chat parser's compute engine (DuckDB), not necessarily the warehouse.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from typing import Any, Final

import duckdb

from egregora_pipeline.sql import quote_ident

PAGE_ROWS: Final = 10_000
"""Rows per page: as many as a batch of :mod:`..rejection_log` writes."""

_names = itertools.count()


def pages(
    conn: duckdb.DuckDBPyConnection,
    query: str,
    *,
    order_by: str,
    params: Mapping[str, Any] | None = None,
    page_rows: int = PAGE_ROWS,
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``query`` sorted by ``order_by`` (an expression over its columns),
    in lists of at most ``page_rows``; nothing is fetched for an empty result."""
    table = quote_ident(f"_egregora_pages_{next(_names)}")
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT row_number() OVER (ORDER BY {order_by}) AS _n, * FROM ({query})",
        dict(params) if params else None,
    )
    try:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        total = int(row[0]) if row else 0
        for start in range(0, total, page_rows):
            yield conn.execute(
                f"SELECT * EXCLUDE (_n) FROM {table} WHERE _n > $1 AND _n <= $2 ORDER BY _n",
                [start, start + page_rows],
            ).fetchall()
    finally:
        # An aborted transaction refuses even this; its ROLLBACK drops the table anyway.
        with contextlib.suppress(duckdb.Error):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
