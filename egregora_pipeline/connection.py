"""Open the warehouse file, waiting politely for DuckDB's single-writer lock.

DuckDB lets one process at a time hold a database file read-write. Dagster
steps, schedules, the CLI and tests all open the same file, so every opener
goes through :func:`connect_warehouse`, which retries lock conflicts with
bounded exponential backoff and then fails with :class:`WarehouseLockedError`
-- never a raw ``IOException`` traceback.
"""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import duckdb

from egregora_pipeline.errors import WarehouseLockedError, WarehouseNotFoundError
from egregora_pipeline.settings import DEFAULT_LOCK_TIMEOUT_SECONDS

_LOCK_MESSAGE = re.compile(r"Could not set lock|Conflicting lock", re.IGNORECASE)
_HOLDER = re.compile(r"Conflicting lock is held in (.*?)(?:\. See also|$)")


def create_atomically(path: Path) -> None:
    """Create an empty DuckDB file at ``path`` unless one exists, race-free.

    When several processes open a warehouse that does not exist yet, each would
    otherwise create the file itself and one could open it while another is
    still writing its header ("not a valid DuckDB database file": not a lock
    conflict, so not retried). Here the file is built under a private name and
    hard-linked into place, which either fully succeeds or finds the file there.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.creating")
    scratch.unlink(missing_ok=True)
    duckdb.connect(str(scratch)).close()
    try:
        os.link(scratch, path)
    except FileExistsError:
        pass
    finally:
        scratch.unlink(missing_ok=True)


def is_lock_conflict(error: BaseException) -> bool:
    """True when ``error`` is DuckDB saying another process holds the file lock."""
    return isinstance(error, duckdb.IOException) and bool(_LOCK_MESSAGE.search(str(error)))


def connect_warehouse(
    path: str | Path,
    *,
    read_only: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """Connect to the warehouse at ``path``, retrying while another process holds the lock.

    A read-write open creates missing parent folders (and the file). A read-only
    open of a missing file raises :class:`WarehouseNotFoundError` instead of
    creating anything, so dry runs and checks never change the disk.
    """
    target = Path(path)
    if read_only and not target.exists():
        raise WarehouseNotFoundError(str(target))
    if not read_only:
        create_atomically(target)
    deadline = time.monotonic() + lock_timeout
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(target), read_only=read_only)
        except duckdb.IOException as error:
            if not is_lock_conflict(error):
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                match = _HOLDER.search(str(error))
                holder = match.group(1) if match else "unknown process"
                raise WarehouseLockedError(str(target), lock_timeout, holder) from error
            time.sleep(min(remaining, delay * (0.5 + random.random())))  # noqa: S311 (jitter)
            delay = min(delay * 2, 1.0)
