"""DuckDB as this project's compute engine: every DuckDB connection it opens is bounded.

DuckDB is two things here. It is one warehouse backend (:mod:`egregora_pipeline.backends.duckdb`),
and it is the engine the WhatsApp parser runs its SQL on, whatever the warehouse (the
PostgreSQL sink parses in a private DuckDB too). Either way a connection takes
:func:`bounded_config`: a ``memory_limit`` (DuckDB's default is 80 % of the RAM, so a scan
of a big warehouse grew the process to GBs) and a ``temp_directory`` to spill to beyond
it, so memory stays bounded whatever the warehouse or the chat holds.

Its errors are classified here too (an interruption, a full disk, memory), since the
same DuckDB error means the same thing whichever role the connection plays.

Below every layer (it knows no warehouse, schema or settings): the warehouse backend,
the parser and the scratch engines all open DuckDB through it.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import duckdb

from egregora_pipeline.errors import DiskFullError, EgregoraError

MEMORY_LIMIT_ENV: Final = "EGREGORA_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT: Final = "1GB"
"""``memory_limit`` of every DuckDB connection: beyond it DuckDB spills to the
connection's ``temp_directory``. With Python, Dagster and the parser around it, a
run then peaks well under 1.5 GB. Any DuckDB size (``512MB``, ``2GB``) in
``EGREGORA_DUCKDB_MEMORY_LIMIT``. A big chat loads under its own limit
(``EGREGORA_CHAT_MEMORY_LIMIT``, :mod:`egregora_pipeline.ingestion.whatsapp.budget`)."""
_SIZE: Final = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)


class InvalidMemoryLimitError(EgregoraError):
    """``EGREGORA_DUCKDB_MEMORY_LIMIT`` is not a size DuckDB reads."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"{MEMORY_LIMIT_ENV}={value!r} is not usable: expected a DuckDB size such as "
            f"1GB or 512MB (default {DEFAULT_MEMORY_LIMIT})"
        )


def memory_limit(environ: Mapping[str, str] | None = None) -> str:
    """``EGREGORA_DUCKDB_MEMORY_LIMIT``, else the default; refused if DuckDB cannot read it."""
    env = os.environ if environ is None else environ
    limit = env.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
    if not _SIZE.match(limit):
        raise InvalidMemoryLimitError(limit)
    return limit


def spill_folder(database: Path | None) -> Path:
    """Where a connection spills beyond its memory limit.

    Beside a warehouse file (``<file>.tmp``, DuckDB's own default, so backups and
    the lock stay in one folder); for an in-memory database, a folder of this
    user in the system's temporary directory. DuckDB creates it only when it
    spills and removes its files when the connection closes.
    """
    if database is not None:
        return database.with_name(database.name + ".tmp")
    return Path(tempfile.gettempdir()) / f"egregora-duckdb-spill-{os.getuid()}"


def bounded_config(
    database: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str | bool | int | float | list[str]]:
    """The ``config`` of every DuckDB connection: a memory limit and a spill folder."""
    limit = memory_limit(environ)
    return {"memory_limit": limit, "temp_directory": str(spill_folder(database))}


def connect_bounded(
    database: Path | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` under :func:`bounded_config` (``None``: in memory), no lock retry."""
    return duckdb.connect(
        ":memory:" if database is None else str(database),
        read_only=read_only,
        config=bounded_config(database),
    )


_INTERRUPTED = re.compile(r"Query interrupted|INTERRUPT Error")


def is_interruption(error: BaseException) -> bool:
    """True when ``error`` is DuckDB reporting that Ctrl-C / SIGINT interrupted a query.

    DuckDB swallows the ``KeyboardInterrupt`` and raises its own error instead;
    callers that keep going after a failed input must not mistake it for one.
    """
    return isinstance(error, duckdb.InterruptException) or (
        isinstance(error, RuntimeError | duckdb.Error) and bool(_INTERRUPTED.search(str(error)))
    )


_DISK_FULL = re.compile(r"No space left on device|Disk quota exceeded")


def disk_full(error: BaseException) -> DiskFullError | None:
    """A :class:`DiskFullError` when ``error`` is the disk filling up, else None.

    Both shapes count: Python's ``OSError`` (ENOSPC, EDQUOT) from writing a
    media file, and DuckDB's own error when a WAL or checkpoint write fails.
    """
    if isinstance(error, DiskFullError):
        return error
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(str(error))
    if isinstance(error, RuntimeError | duckdb.Error) and _DISK_FULL.search(str(error)):
        return DiskFullError(str(error).splitlines()[0])
    return None


def fatal_engine_error(error: BaseException) -> BaseException | None:
    """What must stop the run when DuckDB (warehouse or compute engine) raised ``error``.

    DuckDB turns a ``KeyboardInterrupt`` into its own error: recording that as a
    rejection would blame the input and carry on with the next one. A full disk
    would fail every later input too.
    """
    if is_interruption(error):
        return KeyboardInterrupt(str(error))
    return disk_full(error)


def describe_engine_error(error: BaseException) -> str | None:
    """DuckDB's errors a person can act on, in words."""
    if isinstance(error, duckdb.OutOfMemoryException):
        return "the warehouse ran out of memory while loading this input"
    return None
