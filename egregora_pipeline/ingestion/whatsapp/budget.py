"""The memory a chat load may use: DuckDB's ``memory_limit`` while it runs.

DuckDB is the chat parser's compute engine (the warehouse itself, when that is
a DuckDB file).

DuckDB's default is 80 % of the RAM, so a big chat grew its process to
several GB; under a limit DuckDB spills the staged messages and the final
``INSERT`` to its temporary directory instead (see docs/ingestion.md, *Memory*).
Only chats bigger than one read block (64 MiB, about 650k messages) are loaded
under it: the limit alone costs CPU even when it is never reached.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Final

import duckdb

from egregora_pipeline.ingestion.errors import InvalidSettingError

MEMORY_LIMIT_ENV: Final = "EGREGORA_CHAT_MEMORY_LIMIT"

DEFAULT_CHAT_MEMORY_LIMIT: Final = "1GB"
"""DuckDB's ``memory_limit`` while a chat loads (its default is 80 % of the RAM): the
staged messages and the final ``INSERT`` spill to DuckDB's temporary directory
beyond it, so a chat's peak memory no longer grows with its size. Any DuckDB size
(``512MB``, ``2GB``) in ``EGREGORA_CHAT_MEMORY_LIMIT``; ``default`` keeps DuckDB's."""


@contextlib.contextmanager
def chat_memory_budget(
    conn: duckdb.DuckDBPyConnection, environ: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Apply the chat memory limit for the duration of one chat, then restore the
    connection's own (it may be shared with other steps)."""
    env = os.environ if environ is None else environ
    wanted = env.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_CHAT_MEMORY_LIMIT
    if wanted.lower() == "default":
        yield
        return
    row = conn.execute("SELECT current_setting('memory_limit')").fetchone()
    previous = str(row[0]) if row else None
    try:
        conn.execute("SET memory_limit = $1", [wanted])
    except duckdb.Error as error:
        raise InvalidSettingError(MEMORY_LIMIT_ENV, wanted, "a DuckDB size such as 1GB") from error
    try:
        yield
    finally:
        # Never mask the error that got us here (an aborted transaction refuses even this).
        with contextlib.suppress(duckdb.Error):
            conn.execute("RESET memory_limit")  # exact when it was DuckDB's default
            row = conn.execute("SELECT current_setting('memory_limit')").fetchone()
            if previous is not None and row is not None and str(row[0]) != previous:
                # a value set by someone else, as DuckDB prints it (to 0.1 GiB)
                conn.execute("SET memory_limit = $1", [previous])
