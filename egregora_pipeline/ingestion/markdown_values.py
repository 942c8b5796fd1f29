"""Front-matter values as ``documents`` columns: dates, timestamps, lists, JSON.

Each conversion says what it expected and names the line of a bad value (a
:class:`.front_matter.Rejected`), so the author can fix the file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from egregora_pipeline.ingestion.front_matter import Rejected
from egregora_pipeline.ingestion.report import shorten


def key_line(front: str, key: str, first_line: int) -> int | None:
    """File line of a top-level front-matter key (``first_line`` is the front matter's first)."""
    for number, line in enumerate(front.split("\n"), start=first_line):
        if line.startswith(key) and line[len(key) :].lstrip(" \t").startswith(":"):
            return number
    return None


def is_unicode_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _year_problem(text: str) -> str | None:
    """Why an ISO date's year cannot be stored (DuckDB's clients read years 0001-9999)."""
    head = text.strip()
    digits = head[1:] if head[:1] in "+-" else head
    year = digits.split("-", 1)[0]
    if head[:1] == "-" or (year.isdigit() and (len(year) > 4 or int(year) == 0)):
        return f"year {shorten(head[: len(year) + 1])} is outside 0001-9999"
    return None


def as_date(value: Any, key: str, line: int | None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        problem = _year_problem(value)
        if problem:
            raise Rejected(f"{key}: {problem}", line)
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Rejected(f"{key}: expected a date like 2024-01-31, got {shorten(value)}", line)


def local_time_kind(naive: datetime, tz: ZoneInfo) -> str | None:
    """``"nonexistent"`` (in a spring-forward gap), ``"ambiguous"`` (a repeated hour) or None.

    The rule shared with the chat reader is Python's ``fold=0``: a time in a
    gap is read with the offset before the transition (so it lands after the
    gap, shifted forward by its length); a repeated time is its first, earlier
    occurrence. The caller flags either in ``extensions.local_time``.
    """
    early = naive.replace(tzinfo=tz, fold=0)
    late = naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return None
    back = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return "nonexistent" if back != naive else "ambiguous"


def as_timestamp(
    value: Any, key: str, line: int | None, tz: ZoneInfo
) -> tuple[datetime, str | None]:
    """The UTC instant of ``value`` and its local-time flag (naive values are read in ``tz``)."""
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        problem = _year_problem(value)
        if problem:
            raise Rejected(f"{key}: {problem}", line)
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise Rejected(
            f"{key}: expected a timestamp like 2024-01-31T09:00:00Z, got {shorten(value)}", line
        )
    flag: str | None = None
    if parsed.tzinfo is None:
        flag = local_time_kind(parsed, tz)
        parsed = parsed.replace(tzinfo=tz, fold=0)
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or not 1 <= instant.year <= 9999:
        raise Rejected(
            f"{key}: {parsed.isoformat()} falls outside the years 0001-9999 in UTC", line
        )
    return instant, flag


def as_list(value: Any, key: str, line: int | None) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return [str(item) for item in value]
    raise Rejected(f"{key}: expected a list of strings, got {shorten(value)}", line)


def json_default(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
