"""Header dates and times to timestamps, and what is checked on them.

The stage keeps each message's header text; once the date order is decided
(:mod:`.dateorder`), :func:`local_ts_sql` parses it with ``strptime`` formats
built from the file's shape. Every check here is one set-based pass over the
staged rows: headers that are no valid date (or whose year leaves 0001-9999 once
in UTC), messages that go back in time by more than a clock change, and the
years the chat covers (for the daylight-saving windows of :mod:`.localtime`).
All of it runs on the chat parser's compute engine (DuckDB).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import duckdb

from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.ingestion.whatsapp.dateorder import (
    DateOrder,
    DateStats,
    OrderDecision,
    chronology_may_overturn,
)
from egregora_pipeline.ingestion.whatsapp.formats import (
    INVISIBLE_MARKS,
    HeaderShape,
    diagnose_header,
    move_ampm_words_sql,
    strptime_formats,
)
from egregora_pipeline.ingestion.whatsapp.pages import pages
from egregora_pipeline.sql import quote_ident, quote_literal


def _trim_header_sql(column: str) -> str:
    """``column`` without leading invisible marks and ``[``.

    Leading marks or ``[`` are rare on Android: trim only when the first
    character is not ASCII or is a bracket (``ltrim`` with a character set
    costs about as much as the rest of the stage step together).
    """
    return (
        f"CASE WHEN ascii({column}) > 127 OR starts_with({column}, '[') "
        f"THEN ltrim({column}, {quote_literal(INVISIBLE_MARKS + '[')}) ELSE {column} END"
    )


_AMPM_SPELLINGS: Final = (
    ("\u202f", " "),
    ("\u00a0", " "),
    ("_", " "),
    ("P. M.", "PM"),
    ("A. M.", "AM"),
    ("P.M.", "PM"),
    ("A.M.", "AM"),
    ("PM", " PM"),
    ("AM", " AM"),
    ("  ", " "),
)


def local_ts_sql(shape: HeaderShape, order: DateOrder, *, trim: bool = True) -> str:
    """The local (naive) timestamp of a staged row, NULL when the date is impossible.

    ``strptime`` with formats built from the detected shape and the decided
    order (:func:`formats.strptime_formats`); 12-hour headers with unusual
    AM/PM spellings (``p. m.``, U+202F, ...) are first upper-cased and unified.
    ``trim=False`` when the splitter saw every header start with a digit: the
    trimming expression costs about as much as the parsing.
    """
    header = _trim_header_sql("header") if trim else "header"
    if shape.ampm_before:
        header = move_ampm_words_sql(header)
    if shape.normalize_ampm:
        header = f"upper({header})"
        for old, new in _AMPM_SPELLINGS:
            header = f"replace({header}, {quote_literal(old)}, {quote_literal(new)})"
    formats = ", ".join(quote_literal(f) for f in strptime_formats(shape, order))
    parsed = f"try_strptime({header}, [{formats}])"
    if not shape.twelve_hour:
        return parsed
    # Some 12-hour locales write the first hour after midnight as 00 (``00:08 a. m.``),
    # which %I refuses: read it as 12. COALESCE only evaluates this for the rows
    # the plain parse left NULL, so common headers pay nothing.
    midnight = shape.date_time_sep + "00" + shape.time_sep
    noon = shape.date_time_sep + "12" + shape.time_sep
    if shape.normalize_ampm:
        midnight, noon = midnight.upper(), noon.upper()
    as_noon = f"replace({header}, {quote_literal(midnight)}, {quote_literal(noon)})"
    again = f"try_strptime({as_noon}, [{formats}])"
    return f"coalesce({parsed}, {again})"


CLOCK_CHANGE_TOLERANCE: Final = 3600
"""Seconds a message may step back behind the one before it in file order without
the file counting as out of time order: the largest clock change (a daylight-saving
fall-back hour) can do that much; a wrong date order jumps days."""

VALID_RANGE: Final = (
    "TIMESTAMPTZ '0001-01-01 00:00:00+00'",
    "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'",
)
"""Instants the warehouse and its clients read as datetimes (year 1-9999 in UTC)."""


@dataclass(frozen=True)
class Times:
    """One parsing pass over the staged headers in a given order."""

    bad: int
    out_of_order: int
    first_out_of_order_line: int | None
    years: tuple[int, ...]


def valid_sql(local: str) -> str:
    """SQL: ``local`` is a date the warehouse keeps (year 1-9999 once in UTC).

    Only local times within a day of the ends need the time-zone conversion."""
    low, high = VALID_RANGE
    return (
        f"CASE WHEN {local} IS NULL THEN FALSE "
        f"WHEN {local} BETWEEN TIMESTAMP '0001-01-02' AND TIMESTAMP '9999-12-30' THEN TRUE "
        f"ELSE timezone($tz, {local}) BETWEEN {low} AND {high} END"
    )


def check_times(
    conn: duckdb.DuckDBPyConnection,
    stage: str,
    shape: HeaderShape,
    order: DateOrder,
    timezone: str,
    *,
    trim: bool,
) -> Times:
    """Parse every header once in ``order``: how many are impossible, how many step
    back in time by more than a clock change, and which years the chat covers."""
    row = conn.execute(
        f"""
        WITH t AS (
            SELECT ord, line_no, lts, {valid_sql("lts")} AS ok
            FROM (SELECT ord, line_no, {local_ts_sql(shape, order, trim=trim)} AS lts
                  FROM {quote_ident(stage)})
        ), w AS (
            SELECT line_no, ok, lts,
                lag(CASE WHEN ok THEN lts END IGNORE NULLS) OVER (ORDER BY ord) AS prev
            FROM t
        )
        SELECT count(*) FILTER (WHERE NOT ok),
            count(*) FILTER (WHERE {_steps_back_sql()}),
            min(line_no) FILTER (WHERE {_steps_back_sql()}),
            min(year(lts)) FILTER (WHERE ok), max(year(lts)) FILTER (WHERE ok)
        FROM w
        """,
        {"tz": timezone},
    ).fetchone()
    assert row is not None
    return Times(
        bad=int(row[0]),
        out_of_order=int(row[1]),
        first_out_of_order_line=int(row[2]) if row[2] is not None else None,
        years=_years(conn, stage, shape, order, timezone, row[3], row[4], trim=trim),
    )


def _years(
    conn: duckdb.DuckDBPyConnection,
    stage: str,
    shape: HeaderShape,
    order: DateOrder,
    timezone: str,
    first: int | None,
    last: int | None,
    *,
    trim: bool,
) -> tuple[int, ...]:
    """The years a chat covers (for its clock changes): the span, unless a stray year
    makes it absurd, then only the years present."""
    if first is None or last is None:
        return ()
    if last - first <= 200:
        return tuple(range(first, last + 1))
    rows = conn.execute(
        f"SELECT DISTINCT year(lts) FROM (SELECT {local_ts_sql(shape, order, trim=trim)} AS lts "
        f"FROM {quote_ident(stage)}) WHERE {valid_sql('lts')}",
        {"tz": timezone},
    ).fetchall()
    return tuple(int(r[0]) for r in rows)


def _steps_back_sql() -> str:
    return f"ok AND lts < prev - INTERVAL {CLOCK_CHANGE_TOLERANCE} SECOND"


def try_other_orders(
    conn: duckdb.DuckDBPyConnection,
    stage: str,
    shape: HeaderShape,
    decision: OrderDecision,
    times: Times,
    timezone: str,
    trim: bool,
    stats: DateStats,
) -> tuple[OrderDecision, Times]:
    """The chosen reading runs backwards: a wrong order is a likely cause, so every
    other order that reads all headers, and that the change evidence does not
    decisively rule out (:func:`chronology_may_overturn`), is tried; the first that
    keeps the file in time order (and reads no fewer dates) wins. Otherwise keep
    the choice: the messages that go back are flagged by the caller."""
    for other in decision.plausible:
        if other is decision.order or not chronology_may_overturn(decision.order, other, stats):
            continue
        again = check_times(conn, stage, shape, other, timezone, trim=trim)
        if again.out_of_order == 0 and again.bad <= times.bad:
            reason = (
                f"{other.value}: read as {decision.order.value} ({decision.reason}), "
                f"{times.out_of_order} messages went back in time (first at line "
                f"{times.first_out_of_order_line}); read as {other.value} none do"
            )
            return OrderDecision(other, reason, decision.plausible), again
    return decision, times


def record_out_of_order(
    conn: duckdb.DuckDBPyConnection,
    stage: str,
    target: str,
    shape: HeaderShape,
    order: DateOrder,
    timezone: str,
    *,
    trim: bool,
) -> None:
    """A temp table of the messages that step back in time, flagged by the insert."""
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(target)} AS
        SELECT ord, line_no FROM (
            SELECT ord, line_no, lts, ok,
                lag(CASE WHEN ok THEN lts END IGNORE NULLS) OVER (ORDER BY ord) AS prev
            FROM (SELECT ord, line_no, lts, {valid_sql("lts")} AS ok
                  FROM (SELECT ord, line_no, {local_ts_sql(shape, order, trim=trim)} AS lts
                        FROM {quote_ident(stage)})))
        WHERE {_steps_back_sql()}
        """,
        {"tz": timezone},
    )


def bad_dates(
    conn: duckdb.DuckDBPyConnection,
    stage: str,
    shape: HeaderShape,
    order: DateOrder,
    source_path: str,
    timezone: str,
    *,
    trim: bool,
) -> Iterator[list[Rejection]]:
    """The rejections of headers whose date or time cannot be stored, in line order,
    a page at a time (:mod:`.pages`): a chat may have a million of them."""
    query = (
        f"SELECT ord, line_no, header, lts IS NULL AS impossible FROM "
        f"(SELECT ord, line_no, header, {local_ts_sql(shape, order, trim=trim)} AS lts "
        f"FROM {quote_ident(stage)}) WHERE NOT ({valid_sql('lts')})"
    )
    for page in pages(conn, query, order_by="ord", params={"tz": timezone}):
        rejections = []
        for _ord, line, header, impossible in page:
            column, why = diagnose_header(str(header), shape)
            if not impossible:
                column, why = 1, "the year is outside 0001-9999 (once converted to UTC)"
            elif why.startswith(("hour", "minute", "second")):
                why = f"the time cannot be read: {why}"
            else:
                column, why = 1, f"the date is not a valid {order.value} date"
            rejections.append(
                Rejection(
                    source_path,
                    int(line),
                    column,
                    f"{why}; expected a header like {shape.example(order)!r}",
                    str(header),
                )
            )
        yield rejections
