"""The evidence of a chat's date order, measured in DuckDB over the staged date parts.

(DuckDB here is the chat parser's private compute engine, not the warehouse.)

Integers only, no timestamp is parsed: :func:`date_stats` takes the parts'
ranges in one pass (enough for most files: a day above 12, a four-digit year),
:func:`add_order_evidence` adds, only for files several orders fit, how often
each part changes and where each reading goes back in time (one sorted pass).
:mod:`.dateorder` decides from these.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb

from egregora_pipeline.ingestion.whatsapp.dateorder import DateOrder, DateStats, PartStats, fits
from egregora_pipeline.sql import quote_ident


def _order_key_sql(order: DateOrder, prefix: str) -> str:
    """SQL: the date as ``yyyymmdd``-like integer for ``order`` (only compared, never shown)."""
    column = {letter: f"{prefix}{i + 1}" for i, letter in enumerate(order.value)}
    return f"({column['Y']} * 10000 + {column['M']} * 100 + {column['D']})"


def _unreadable_sql(order: DateOrder) -> str:
    column = {letter: f"d{i + 1}" for i, letter in enumerate(order.value)}
    return f"NOT ({column['M']} BETWEEN 1 AND 12 AND {column['D']} BETWEEN 1 AND 31)"


def date_stats(conn: duckdb.DuckDBPyConnection, stage: str) -> DateStats:
    """The staged date parts' ranges, for :func:`dateorder.resolve_date_order`.

    One pass over integers, no sort: in most files the ranges alone leave one
    order (a day above 12, a four-digit year); :func:`add_order_evidence` adds
    what a file with several candidates needs. A part reaching 100 was written
    with three or four digits (a year; ``0000``-``0099`` would not count, and
    are rejected anyway). ``changes`` stays 0 here.
    """
    per_part = ", ".join(f"coalesce(max(d{i}), 0), coalesce(min(d{i}), 0)" for i in (1, 2, 3))
    row = conn.execute(f"SELECT count(*), {per_part} FROM {quote_ident(stage)}").fetchone()
    assert row is not None
    values = [int(v) for v in row]
    parts = tuple(
        PartStats(
            max_value=values[1 + 2 * i],
            min_value=values[2 + 2 * i],
            wide=values[1 + 2 * i] >= 100,
            changes=0,
        )
        for i in range(3)
    )
    return DateStats(headers=values[0], parts=(parts[0], parts[1], parts[2]))


def add_order_evidence(conn: duckdb.DuckDBPyConnection, stage: str, stats: DateStats) -> DateStats:
    """What only some files need, computed only for them (one sorted pass): with
    several orders that fit, how often each part changes and the steps where each
    order goes back in time; with none, how many headers each order cannot read
    (for the refusal's advice)."""
    fitting = [o for o in DateOrder if fits(o, stats)]
    if len(fitting) == 1:
        return stats
    if not fitting:
        measure = [f"count(*) FILTER (WHERE {_unreadable_sql(o)})" for o in DateOrder]
        row = conn.execute(f"SELECT {', '.join(measure)} FROM {quote_ident(stage)}").fetchone()
        assert row is not None
        return replace(stats, unreadable={o: int(v) for o, v in zip(DateOrder, row, strict=True)})
    measure = [f"count(*) FILTER (WHERE d{i} <> p{i})" for i in (1, 2, 3)] + [
        f"count(*) FILTER (WHERE {_order_key_sql(o, 'd')} < {_order_key_sql(o, 'p')})"
        for o in fitting
    ]
    row = conn.execute(
        f"""
        SELECT {", ".join(measure)}
        FROM (SELECT d1, d2, d3, lag(d1) OVER w AS p1, lag(d2) OVER w AS p2,
                lag(d3) OVER w AS p3 FROM {quote_ident(stage)} WINDOW w AS (ORDER BY ord))
        """
    ).fetchone()
    assert row is not None
    values = [int(v) for v in row]
    parts = tuple(replace(p, changes=values[i]) for i, p in enumerate(stats.parts))
    return replace(
        stats,
        parts=(parts[0], parts[1], parts[2]),
        backward={o: values[3 + n] for n, o in enumerate(fitting)},
    )
