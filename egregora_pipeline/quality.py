"""Data-quality queries over the warehouse tables (Dagster-free).

The Dagster asset checks on ``documents`` and ``messages`` are thin wrappers
around these functions, so the same verdicts are available to scripts and
tests without an orchestrator. Only declared table/column names are
interpolated into SQL, and always quoted.

Every function takes a DuckDB connection or the PostgreSQL session of
:func:`egregora_pipeline.migrations.open_warehouse` (both answer
``execute(sql)`` with a cursor). The queries are plain SQL both engines read
alike; the one that is not (JSON access, a lenient cast, an interval) takes its
dialect from :func:`_dialect`, the only place the backends differ here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from egregora_pipeline.schema import DECLARED_TABLES, DeclaredTable, violations_sql
from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    from egregora_pipeline.migrations.impl.base import Connection

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


def row_count(conn: Connection, table: str) -> int:
    """Number of rows in a declared table."""
    _declared(table)
    result = conn.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()
    return int(result[0]) if result else 0


def duplicate_keys(conn: Connection, table: str) -> Finding:
    """Rows whose identity key (``id``, ``event_id``, ...) is not unique."""
    key = quote_ident(_declared(table).key)
    source = quote_ident(table)
    query = (
        f"SELECT {key} AS key, count(*) AS copies FROM {source} GROUP BY {key} HAVING count(*) > 1"
    )
    return _finding(conn, f"{_declared(table).key} is unique", query)


def doc_type_rule_violations(conn: Connection, table: str = "documents") -> Finding:
    """Rows of ``documents`` breaking a per-``doc_type`` rule of docs/schema.md."""
    _declared(table)
    return _finding(conn, "per-doc_type rules", violations_sql(table))


CLOCK_CHANGE_SECONDS = 3600
"""How far a message may step back behind the one before it (a daylight-saving
fall-back hour) before its thread counts as out of time order."""


def messages_out_of_order(conn: Connection, table: str = "messages") -> Finding:
    """Messages that go back in time by more than a clock change in file order.

    WhatsApp writes an export in time order, so a step back of hours or days
    means a wrong reading (date order) or a damaged file. File order is
    ``msg_id`` (the ordinal) among the rows one run loaded for a thread; the
    sample lists the thread, the message and, when ingestion flagged it, the
    line of the chat file (``attrs.line``), first offences first.
    """
    _declared(table)
    source = quote_ident(table)
    sql = _dialect(conn)
    ordinal = sql.ordinal("msg_id")
    query = f"""
        SELECT thread_id, msg_id, ts, previous_ts, line, created_by_run FROM (
            SELECT thread_id, msg_id, ts, created_by_run, {ordinal} AS ordinal,
                {sql.json_text("attrs", "line")} AS line,
                lag(ts) OVER (PARTITION BY thread_id, created_by_run
                              ORDER BY {ordinal}) AS previous_ts
            FROM {source} WHERE source = 'whatsapp') AS ordered
        WHERE ts < previous_ts - {sql.seconds(CLOCK_CHANGE_SECONDS)}
        ORDER BY thread_id, ordinal
    """
    return _finding(conn, "every thread is chronological in file order", query)


@dataclass(frozen=True)
class _Dialect:
    """The few SQL spellings DuckDB and PostgreSQL do not share."""

    postgres: bool

    def json_text(self, column: str, key: str) -> str:
        """``column``'s top-level ``key`` as text (NULL when absent)."""
        if self.postgres:
            return f"({quote_ident(column)} ->> '{key}')"
        return f"json_extract_string({quote_ident(column)}, '$.{key}')"

    def ordinal(self, column: str) -> str:
        """``column`` as a BIGINT, NULL when it is not a whole number."""
        if self.postgres:
            quoted = quote_ident(column)
            return f"(CASE WHEN {quoted} ~ '^[0-9]{{1,18}}$' THEN {quoted}::BIGINT END)"
        return f"TRY_CAST({quote_ident(column)} AS BIGINT)"

    def seconds(self, count: int) -> str:
        return f"INTERVAL '{int(count)} seconds'"


def _dialect(conn: Connection) -> _Dialect:
    import duckdb

    return _Dialect(postgres=not isinstance(conn, duckdb.DuckDBPyConnection))


def _finding(conn: Connection, rule: str, query: str) -> Finding:
    total = conn.execute(f"SELECT count(*) FROM ({query}) AS findings").fetchone()
    relation: Any = conn.execute(f"SELECT * FROM ({query}) AS findings LIMIT {SAMPLE_LIMIT}")
    names = [column[0] for column in relation.description or []]
    sample = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    return Finding(rule=rule, offending_rows=int(total[0]) if total else 0, sample=sample)


def _declared(table: str) -> DeclaredTable:
    try:
        return DECLARED_TABLES[table]
    except KeyError:
        raise ValueError(f"{table!r} is not a declared table: {sorted(DECLARED_TABLES)}") from None
