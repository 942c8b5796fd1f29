"""Local wall-clock times to UTC under one rule: Python's ``zoneinfo`` with ``fold=0``.

An export's times are the phone's wall clock. Twice a year, in zones with
daylight-saving time, a wall-clock time either does not exist (the
spring-forward gap: Berlin 2023-03-26 02:30) or exists twice (the fall-back
hour: Berlin 2023-10-29 02:30). The rule, the same for every input kind:

* **non-existent** (gap): read with the offset *before* the transition, i.e.
  shifted forward by the gap (02:30 CET = 01:30Z, shown after the change as
  03:30 CEST) -- what ``datetime(..., fold=0)`` gives;
* **ambiguous** (repeated hour): the *earlier* instant (02:30 CEST = 00:30Z),
  again ``fold=0``.

Both are flagged in the message's ``attrs`` as ``"local_time": "nonexistent"``
or ``"local_time": "ambiguous"``. DuckDB's own ``timezone()`` resolves a
repeated hour to the *later* instant, so the few local windows around the
transitions are computed here (per year the chat covers) and turned into SQL
that overrides DuckDB there; everywhere else ``timezone()`` is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from egregora_pipeline.sql import quote_literal

_STEP: Final = timedelta(hours=6)
"""Scan step: no zone changes its offset twice within six hours."""


@dataclass(frozen=True)
class ClockChange:
    """One transition, as the local window it affects."""

    local_start: datetime
    local_end: datetime
    """Naive local times ``[start, end)`` that do not exist or exist twice."""
    kind: str
    """``nonexistent`` or ``ambiguous``."""
    offset_before: timedelta
    """The UTC offset before the transition: ``fold=0`` reads the window with it."""


ClockChanges = tuple[ClockChange, ...]


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    return offset if offset is not None else timedelta(0)


def clock_changes(zone_name: str, years: Iterable[int]) -> ClockChanges:
    """Every transition of ``zone_name`` in ``years`` (a few per year at most)."""
    zone = ZoneInfo(zone_name)
    found: list[ClockChange] = []
    for year in sorted({y for y in years if 1 < y < 9999}):
        start = datetime(year, 1, 1, tzinfo=UTC) - timedelta(days=1)
        end = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(days=1)
        at = start
        before = _offset(zone, at)
        while at < end:
            nxt = at + _STEP
            after = _offset(zone, nxt)
            if after != before:
                low, high = int(at.timestamp()), int(nxt.timestamp())  # whole seconds
                while high - low > 1:
                    mid = (low + high) // 2
                    if _offset(zone, datetime.fromtimestamp(mid, UTC)) == before:
                        low = mid
                    else:
                        high = mid
                local = (datetime.fromtimestamp(high, UTC) + before).replace(tzinfo=None)
                shift = after - before
                if shift > timedelta(0):
                    change = ClockChange(local, local + shift, "nonexistent", before)
                else:
                    change = ClockChange(local + shift, local, "ambiguous", before)
                if change not in found:
                    found.append(change)
                before = after
            at = nxt
    return tuple(found)


def _ts(value: datetime) -> str:
    return f"TIMESTAMP {quote_literal(value.isoformat(sep=' '))}"


def utc_sql(local: str, zone_param: str, changes: ClockChanges) -> str:
    """SQL turning the naive local timestamp ``local`` into a ``TIMESTAMPTZ`` (rule above)."""
    plain = f"timezone({zone_param}, {local})"
    if not changes:
        return plain
    branches = " ".join(
        f"WHEN {local} >= {_ts(c.local_start)} AND {local} < {_ts(c.local_end)} "
        f"THEN timezone('UTC', {local} - to_seconds({int(c.offset_before.total_seconds())}))"
        for c in changes
    )
    return f"CASE {_guard(local, changes)} THEN {plain} {branches} ELSE {plain} END"


def flag_sql(local: str, changes: ClockChanges) -> str:
    """SQL: ``'nonexistent'``/``'ambiguous'`` for a local time in a window, else NULL."""
    if not changes:
        return "NULL::VARCHAR"
    branches = " ".join(
        f"WHEN {local} >= {_ts(c.local_start)} AND {local} < {_ts(c.local_end)} "
        f"THEN {quote_literal(c.kind)}"
        for c in changes
    )
    return f"CASE {_guard(local, changes)} THEN NULL {branches} END"


def _guard(local: str, changes: ClockChanges) -> str:
    """``WHEN`` the local time is on none of the transition dates: one ``IN`` per row
    instead of every window's two comparisons."""
    days = sorted({c.local_start.date() for c in changes} | {c.local_end.date() for c in changes})
    listed = ", ".join(f"DATE {quote_literal(d.isoformat())}" for d in days)
    return f"WHEN {local}::DATE NOT IN ({listed})"
