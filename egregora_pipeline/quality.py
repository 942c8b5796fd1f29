"""Data-quality queries over the warehouse tables (Dagster-free).

The Dagster asset checks on ``documents`` and ``messages`` are thin wrappers
around these functions, so the same verdicts are available to scripts and
tests without an orchestrator. Only declared table/column names are
interpolated into SQL, and always quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from egregora_pipeline.schema import DECLARED_TABLES, DeclaredTable, violations_sql
from egregora_pipeline.sql import quote_ident

SAMPLE_LIMIT = 20
"""How many offending rows a finding carries: enough to act on, small enough for metadata."""


@dataclass(frozen=True)
class Finding:
    """The outcome of one data-quality rule: how many rows break it, and a sample."""

    rule: str
    offending_rows: int
    sample: list[dict[str, object]]

    @property
    def ok(self) -> bool:
        return self.offending_rows == 0


def row_count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    """Number of rows in a declared table."""
    _declared(table)
    result = conn.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()
    return int(result[0]) if result else 0


def duplicate_keys(conn: duckdb.DuckDBPyConnection, table: str) -> Finding:
    """Rows whose identity key (``id``, ``event_id``, ...) is not unique."""
    key = quote_ident(_declared(table).key)
    source = quote_ident(table)
    query = (
        f"SELECT {key} AS key, count(*) AS copies FROM {source} GROUP BY {key} HAVING count(*) > 1"
    )
    return _finding(conn, f"{_declared(table).key} is unique", query)


def doc_type_rule_violations(conn: duckdb.DuckDBPyConnection, table: str = "documents") -> Finding:
    """Rows of ``documents`` breaking a per-``doc_type`` rule of docs/schema.md."""
    _declared(table)
    return _finding(conn, "per-doc_type rules", violations_sql(table))


CLOCK_CHANGE_SECONDS = 3600
"""How far a message may step back behind the one before it (a daylight-saving
fall-back hour) before its thread counts as out of time order."""


def messages_out_of_order(conn: duckdb.DuckDBPyConnection, table: str = "messages") -> Finding:
    """Messages that go back in time by more than a clock change in file order.

    WhatsApp writes an export in time order, so a step back of hours or days
    means a wrong reading (date order) or a damaged file. File order is
    ``msg_id`` (the ordinal) among the rows one run loaded for a thread; the
    sample lists the thread, the message and, when ingestion flagged it, the
    line of the chat file (``attrs.line``), first offences first.
    """
    _declared(table)
    source = quote_ident(table)
    query = f"""
        SELECT thread_id, msg_id, ts, previous_ts, line, created_by_run FROM (
            SELECT thread_id, msg_id, ts, created_by_run,
                json_extract_string(attrs, '$.line') AS line,
                lag(ts) OVER (PARTITION BY thread_id, created_by_run
                              ORDER BY TRY_CAST(msg_id AS BIGINT)) AS previous_ts
            FROM {source} WHERE source = 'whatsapp')
        WHERE ts < previous_ts - INTERVAL {CLOCK_CHANGE_SECONDS} SECOND
        ORDER BY thread_id, TRY_CAST(msg_id AS BIGINT)
    """
    return _finding(conn, "every thread is chronological in file order", query)


def _finding(conn: duckdb.DuckDBPyConnection, rule: str, query: str) -> Finding:
    total = conn.execute(f"SELECT count(*) FROM ({query})").fetchone()
    relation = conn.execute(f"SELECT * FROM ({query}) LIMIT {SAMPLE_LIMIT}")
    names = [column[0] for column in relation.description or []]
    sample = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    return Finding(rule=rule, offending_rows=int(total[0]) if total else 0, sample=sample)


def _declared(table: str) -> DeclaredTable:
    try:
        return DECLARED_TABLES[table]
    except KeyError:
        raise ValueError(f"{table!r} is not a declared table: {sorted(DECLARED_TABLES)}") from None
