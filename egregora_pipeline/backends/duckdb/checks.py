"""DuckDB's spelling of the data checks' JSON access and lenient cast, and its probe budget."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, ClassVar, Final

from egregora_pipeline.backends.checks_base import CheckDialect
from egregora_pipeline.sql import quote_ident, quote_literal

_SIZE: Final = re.compile(r"^\s*([\d.]+)\s*([KMGT]i?B|B|bytes)?\s*$", re.IGNORECASE)
_UNITS: Final = {
    "": 1,
    "B": 1,
    "BYTES": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def _bytes(setting: str, *, midpoint: bool = False) -> int | None:
    """DuckDB's ``memory_limit`` as it shows it (``953.6 MiB``), in bytes; None if unread.

    DuckDB shows one decimal, cut rather than rounded, so the value it holds lies in
    the shown tenth; ``midpoint`` gives the middle of that tenth, which DuckDB shows
    as the same text again (putting back the shown text itself would lose a tenth).
    """
    match = _SIZE.match(setting)
    if match is None:
        return None
    number = float(match.group(1)) + (0.05 if midpoint and "." in match.group(1) else 0.0)
    return int(number * _UNITS[(match.group(2) or "").upper()])


class DuckDBChecks(CheckDialect):
    name: ClassVar[str] = "duckdb"

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract_string({quote_ident(column)}, '$.{key}')"

    def ordinal(self, column: str) -> str:
        return f"TRY_CAST({quote_ident(column)} AS BIGINT)"

    @contextlib.contextmanager
    def probe_budget(self, conn: Any, budget_bytes: int) -> Iterator[None]:
        """The connection's memory limit lowered to ``budget_bytes`` for the block, then
        put back (to the tenth of a unit DuckDB shows): blocks a scan read are evicted as
        it goes instead of staying cached. Never raised: a lower limit already set stays."""
        row = conn.execute("SELECT current_setting('memory_limit')").fetchone()
        current = str(row[0]) if row else ""
        limit = _bytes(current)
        if limit is None or limit <= budget_bytes:
            yield
            return
        conn.execute(f"SET memory_limit = {quote_literal(f'{int(budget_bytes)}B')}")
        try:
            yield
        finally:
            restored = _bytes(current, midpoint=True)
            conn.execute(f"SET memory_limit = {quote_literal(f'{restored}B')}")
