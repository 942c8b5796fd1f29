"""Data-quality queries over the warehouse tables (Dagster-free).

The Dagster asset checks on ``documents`` and ``messages`` are thin wrappers
around these functions, so the same verdicts are available to scripts and
tests without an orchestrator. Only declared table/column names are
interpolated into SQL, and always quoted.

Every function takes a DuckDB connection or the PostgreSQL session of
:func:`egregora_pipeline.migrations.open_warehouse` (both answer
``execute(sql)`` with a cursor). The queries are plain SQL both engines read
alike; the one that is not (JSON access, a lenient cast, an interval) takes its
dialect from the connection's backend (:mod:`egregora_pipeline.backends.checks_base`,
a ``checks.py`` per backend), the only place the backends differ here.

Each check judges a :class:`Scope`: the whole table (:data:`FULL_TABLE`, the
weekly job and ``egregora-pipeline checks``), or only what one ingest run wrote
(:func:`run_scope`, every ingest run): its messages (``created_by_run``) and
the documents its inputs name, each compared with the whole table where the
rule needs it (a new row duplicating an old one is caught). So the 1,000th small
export is checked at the cost of the first, with the verdict a full check gives
on those rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.backends.checks_base import CheckDialect
from egregora_pipeline.schema import DECLARED_TABLES, DeclaredTable, violations_sql
from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    from egregora_pipeline.backends.migration_base import Connection

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


@dataclass(frozen=True)
class Scope:
    """Which rows a check judges: all of them, or those one run wrote.

    ``run_id`` selects the messages whose ``created_by_run`` it is;
    ``document_ids`` the documents the run's inputs name (``documents`` has no
    run column in the upstream schema). ``None`` for either means that table is
    judged whole.
    """

    run_id: str | None = None
    document_ids: tuple[str, ...] | None = None

    def label(self, table: str) -> str:
        """``run`` or ``full table``: what the checks' metadata says of ``table``."""
        return "full table" if self._keys(table) is None else "run"

    def _keys(self, table: str) -> tuple[str, list[object]] | None:
        """A subquery of the keys of ``table`` in scope and its parameters (None: all)."""
        if table == "messages" and self.run_id is not None:
            return (
                f"SELECT {quote_ident('event_id')} FROM {quote_ident(table)} "
                f"WHERE {quote_ident('created_by_run')} = ?",
                [self.run_id],
            )
        if table == "documents" and self.document_ids is not None:
            return "SELECT unnest(CAST(? AS VARCHAR[]))", [list(self.document_ids)]
        return None


PROBE_FLOOR_BYTES: Final = 32 * 2**20
"""What a run-scoped key probe may cache however few keys the run wrote: the scan's
working set (a few 256 KB blocks a thread) with room to spare."""
PROBE_BYTES_PER_KEY: Final = 256
"""And per key the run wrote: its entry in the probe's hash table, with headroom
(a 32-character ``event_id`` and its hash); a 6M-message run gets the whole limit."""

FULL_TABLE = Scope()
"""Every row of every table: the weekly full-table checks."""


def run_scope(run_id: str, document_ids: Sequence[str] | None) -> Scope:
    """What ingest run ``run_id`` wrote (``document_ids`` None: judge ``documents`` whole)."""
    return Scope(run_id=run_id, document_ids=None if document_ids is None else tuple(document_ids))


def row_count(conn: Connection, table: str) -> int:
    """Number of rows in a declared table."""
    _declared(table)
    result = conn.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()
    return int(result[0]) if result else 0


def duplicate_keys(conn: Connection, table: str, scope: Scope = FULL_TABLE) -> Finding:
    """Rows whose identity key (``id``, ``event_id``, ...) is not unique.

    In a run's scope, the keys the run wrote, counted over the whole table: the
    probe of the key column streams, only the run's keys are held in memory, and
    the engine may cache no more than they need (:data:`PROBE_FLOOR_BYTES` plus
    :data:`PROBE_BYTES_PER_KEY` a key): without that bound, a one-message ingest
    into a 5M-message warehouse kept the whole ``event_id`` column cached, about
    80 MB (``benchmarks/bench_incremental_cost.py``).
    """
    key = quote_ident(_declared(table).key)
    source = quote_ident(table)
    keys = scope._keys(table)
    where, params = ("", []) if keys is None else (f" WHERE {key} IN ({keys[0]})", keys[1])
    query = (
        f"SELECT {key} AS key, count(*) AS copies FROM {source}{where} "
        f"GROUP BY {key} HAVING count(*) > 1"
    )
    rule = f"{_declared(table).key} is unique"
    if keys is None:
        return _finding(conn, rule, query, params)
    held = _execute(conn, f"SELECT count(*) FROM ({keys[0]}) AS scoped", keys[1]).fetchone()
    budget = PROBE_FLOOR_BYTES + PROBE_BYTES_PER_KEY * (int(held[0]) if held else 0)
    with _dialect(conn).probe_budget(conn, budget):
        return _finding(conn, rule, query, params)


def doc_type_rule_violations(
    conn: Connection, table: str = "documents", scope: Scope = FULL_TABLE
) -> Finding:
    """Rows of ``documents`` breaking a per-``doc_type`` rule of docs/schema.md."""
    _declared(table)
    keys = scope._keys(table)
    if keys is None:
        return _finding(conn, "per-doc_type rules", violations_sql(table))
    query = (
        f"SELECT * FROM ({violations_sql(table)}) AS v WHERE v.{quote_ident('id')} IN ({keys[0]})"
    )
    return _finding(conn, "per-doc_type rules", query, keys[1])


CLOCK_CHANGE_SECONDS = 3600
"""How far a message may step back behind the one before it (a daylight-saving
fall-back hour) before its thread counts as out of time order."""


def messages_out_of_order(
    conn: Connection, table: str = "messages", scope: Scope = FULL_TABLE
) -> Finding:
    """Messages that go back in time by more than a clock change in file order.

    WhatsApp writes an export in time order, so a step back of hours or days
    means a wrong reading (date order) or a damaged file. File order is
    ``msg_id`` (the ordinal) among the rows one run loaded for a thread; the
    sample lists the thread, the message and, when ingestion flagged it, the
    line of the chat file (``attrs.line``), first offences first. A thread is
    judged within one run's rows, so a run's scope gives the same verdict on them.
    """
    _declared(table)
    params: list[object] = []
    where = "source = 'whatsapp'"
    if table == "messages" and scope.run_id is not None:
        where += f" AND {quote_ident('created_by_run')} = ?"
        params.append(scope.run_id)
    source = quote_ident(table)
    sql = _dialect(conn)
    ordinal = sql.ordinal("msg_id")
    query = f"""
        SELECT thread_id, msg_id, ts, previous_ts, line, created_by_run FROM (
            SELECT thread_id, msg_id, ts, created_by_run, {ordinal} AS ordinal,
                {sql.json_text("attrs", "line")} AS line,
                lag(ts) OVER (PARTITION BY thread_id, created_by_run
                              ORDER BY {ordinal}) AS previous_ts
            FROM {source} WHERE {where}) AS ordered
        WHERE ts < previous_ts - {sql.seconds(CLOCK_CHANGE_SECONDS)}
        ORDER BY thread_id, ordinal
    """
    return _finding(conn, "every thread is chronological in file order", query, params)


DOC_TYPE_RULES_CHECK = "doc_type_rules_hold"
UNIQUE_ID_CHECK = "id_is_unique"
UNIQUE_EVENT_ID_CHECK = "event_id_is_unique"
CHRONOLOGICAL_CHECK = "threads_are_chronological"


@dataclass(frozen=True)
class CheckVerdict:
    """One data check's verdict: the asset check of an ingest run, or a row of
    ``egregora-pipeline checks``."""

    table: str
    name: str
    finding: Finding
    warning_only: bool
    """WARN (threads out of time order are loaded and flagged): it does not fail a run."""
    scope: str
    """``run`` or ``full table``: what was judged."""


def data_checks(
    conn: Connection, scope: Scope = FULL_TABLE, selected: frozenset[str] | None = None
) -> Iterator[CheckVerdict]:
    """Every data check (or the ``selected`` names) over ``scope``, one query each."""
    plan = (
        ("documents", DOC_TYPE_RULES_CHECK, False, doc_type_rule_violations),
        ("documents", UNIQUE_ID_CHECK, False, duplicate_keys),
        ("messages", UNIQUE_EVENT_ID_CHECK, False, duplicate_keys),
        ("messages", CHRONOLOGICAL_CHECK, True, messages_out_of_order),
    )
    for table, name, warning_only, check in plan:
        if selected is None or name in selected:
            yield CheckVerdict(
                table, name, check(conn, table, scope), warning_only, scope.label(table)
            )


def _dialect(conn: Connection) -> CheckDialect:
    """The check dialect of ``conn``'s backend (asked of the registry)."""
    from egregora_pipeline.backends import connection_backend

    return connection_backend(conn).check_dialect()


def _finding(
    conn: Connection, rule: str, query: str, params: Sequence[object] | None = None
) -> Finding:
    """The check's verdict: its sample, and how many rows offend.

    The sample is read first, one row beyond its size: a healthy warehouse (no
    offending row, or a few) is then judged in one pass, and only a check with
    more offences than the sample holds runs the query again to count them (on a
    5M-message run, ``threads_are_chronological`` alone takes about 3 s a pass).
    """
    bound = list(params) if params else None
    relation: Any = _execute(
        conn, f"SELECT * FROM ({query}) AS findings LIMIT {SAMPLE_LIMIT + 1}", bound
    )
    names = [column[0] for column in relation.description or []]
    rows = relation.fetchall()
    sample = [dict(zip(names, row, strict=True)) for row in rows[:SAMPLE_LIMIT]]
    if len(rows) <= SAMPLE_LIMIT:
        return Finding(rule=rule, offending_rows=len(rows), sample=sample)
    total = _execute(conn, f"SELECT count(*) FROM ({query}) AS findings", bound).fetchone()
    return Finding(rule=rule, offending_rows=int(total[0]) if total else 0, sample=sample)


def _execute(conn: Connection, sql: str, params: list[object] | None) -> Any:
    return conn.execute(sql) if params is None else conn.execute(sql, params)


def _declared(table: str) -> DeclaredTable:
    try:
        return DECLARED_TABLES[table]
    except KeyError:
        raise ValueError(f"{table!r} is not a declared table: {sorted(DECLARED_TABLES)}") from None
