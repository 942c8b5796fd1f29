"""The DuckDB sink's ``messages`` write: the parsed rows whose ``event_id`` is new.

A chat is parsed into rows by DuckDB SQL (the WhatsApp parser's compute engine,
:mod:`egregora_pipeline.ingestion.whatsapp`); on a DuckDB warehouse it is parsed
on the warehouse connection itself, so the rows go into ``messages`` in the same
statement that computes them: no copy in between. This is the
:class:`~egregora_pipeline.backends.sink_base.MessageWriter` of that case (and of
the PostgreSQL sink's private DuckDB, which fills an empty ``messages`` table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from egregora_pipeline.sql import quote_ident


def insert_new_messages(
    engine: duckdb.DuckDBPyConnection,
    rows_sql: str,
    params: Mapping[str, Any],
    columns: Sequence[str],
    *,
    table: str = "messages",
) -> int:
    """``INSERT INTO table`` of ``engine`` the rows of ``rows_sql`` whose ``event_id`` is
    not there yet (``engine`` is the warehouse, or the PostgreSQL sink's scratch)."""
    target = quote_ident(table)
    names = ", ".join(quote_ident(c) for c in columns)
    row = engine.execute(
        f"INSERT INTO {target} ({names})\nSELECT * FROM (\n{rows_sql}\n) AS r\n"
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} m WHERE m.event_id = r.event_id)",
        dict(params),
    ).fetchone()
    return int(row[0]) if row else 0
