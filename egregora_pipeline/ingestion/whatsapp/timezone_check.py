"""``EGREGORA_TIMEZONE`` is checked against both engines that read times with it.

Chats are converted to UTC by DuckDB, the chat parser's compute engine (ICU's
time-zone names), Markdown times by Python's ``zoneinfo`` (the system's tz database).
The two lists differ:
``posixrules``, ``right/UTC``, ``posix/Europe/Lisbon`` and ``localtime`` are
files Python opens but names DuckDB does not know. Accepted by the settings
alone, such a zone let the run start and then failed every chat with a raw
DuckDB error, recorded in ``ingest_rejections`` as if the inputs were at fault.
A zone is therefore usable only when both accept it, and it is checked before
any input is read (the command exits 2, see docs/ingestion.md).
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from egregora_pipeline.ingestion.errors import InvalidSettingError

_EXPECTED = "an IANA time zone such as Europe/Lisbon"


@cache
def _duckdb_refusal(name: str) -> str | None:
    """DuckDB's first line of refusal for ``name``, or ``None`` when it reads times in it."""
    from egregora_pipeline.compute_engine import connect_bounded

    with connect_bounded() as conn:
        try:
            conn.execute("SELECT TIMESTAMP '2000-01-01 00:00' AT TIME ZONE ?", [name]).fetchall()
        except duckdb.Error as error:
            return str(error).splitlines()[0]
    return None


def check_timezone(name: str) -> None:
    """Raise :class:`InvalidSettingError` unless both Python and DuckDB know zone ``name``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSettingError("EGREGORA_TIMEZONE", name, _EXPECTED) from None
    refusal = _duckdb_refusal(name)
    if refusal is not None:
        raise InvalidSettingError(
            "EGREGORA_TIMEZONE",
            name,
            f"{_EXPECTED} that DuckDB, which converts chat times, knows too "
            f"(Python's zoneinfo reads {name!r}, DuckDB does not: {refusal}); "
            "use the zone's IANA name, e.g. Etc/UTC for right/UTC",
        )


__all__ = ["check_timezone"]
