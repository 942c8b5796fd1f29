"""Open the warehouse file, waiting politely for DuckDB's single-writer lock.

DuckDB lets one process at a time hold a database file read-write. Dagster
steps, schedules, the CLI and tests all open the same file, so every opener
goes through :func:`connect_warehouse`, which retries lock conflicts with
bounded exponential backoff and then fails with :class:`WarehouseLockedError`
-- never a raw ``IOException`` traceback. Anything else that makes the path
unusable (a directory, a file that is not DuckDB, no permission, a
``:memory:`` or remote URL, which DuckDB would happily open somewhere other
than the one file the warehouse is) is a :class:`WarehouseUnusableError`.

Every warehouse connection takes the project's bounds on DuckDB
(:func:`egregora_pipeline.compute_engine.bounded_config`: a memory limit and a
spill folder), as every DuckDB connection does.
"""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import duckdb

from egregora_pipeline.backends.duckdb.config import duckdb_storage_version
from egregora_pipeline.backends.duckdb.foreign import refuse_url
from egregora_pipeline.backends.duckdb.listing import default_folder, list_backups
from egregora_pipeline.compute_engine import bounded_config
from egregora_pipeline.defaults import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.errors import (
    SettingsError,
    WarehouseDamagedError,
    WarehouseLockedError,
    WarehouseNotFoundError,
    WarehouseUnusableError,
)

_LOCK_MESSAGE = re.compile(r"Could not set lock|Conflicting lock", re.IGNORECASE)
_HOLDER = re.compile(r"Conflicting lock is held in (.*?)(?:\. See also|$)")
_NOT_A_FILE = re.compile(r"^(?::memory:|md:|motherduck:)|^[A-Za-z][A-Za-z0-9+.-]+:/")
"""In-memory databases, MotherDuck and URLs (``s3://``, ``https://``, ...; ``Path``
folds ``//`` into ``/``). A one-letter scheme would be a Windows drive, so it is not one."""
_DUCKDB_MAGIC = b"DUCK"
_MAGIC_OFFSET = 8
_WAL_START = b"d\x00b"
"""A DuckDB WAL opens with its version entry: field 100 (``wal_type``) = 98 (``WAL_VERSION``).
DuckDB silently ignores a WAL that does not, losing what it held; we refuse instead."""
_DAMAGE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"not a valid DuckDB database file"), "is not a valid DuckDB file"),
    (re.compile(r"Could not read enough bytes"), "is truncated"),
    (
        re.compile(r"newer version of DuckDB|storage version", re.IGNORECASE),
        "was written by a newer DuckDB than this one",
    ),
    (
        re.compile(r"replaying WAL|WAL file", re.IGNORECASE),
        "has a write-ahead log that cannot be replayed",
    ),
    (re.compile(r"Corrupt|checksum", re.IGNORECASE), "is corrupt"),
)


def check_warehouse_path(target: Path) -> None:
    """Refuse, with the reason, a path that cannot be the warehouse file.

    The header check keeps DuckDB from treating a SQLite (or any other) file
    as something to attach through an auto-installed extension.
    """
    text = str(target)
    refuse_url(text)
    if _NOT_A_FILE.match(text):
        raise WarehouseUnusableError(text, "is not a file path: the warehouse is one DuckDB file")
    if target.is_dir():
        raise WarehouseUnusableError(text, "is a directory, not a DuckDB file")
    if not target.exists():
        return
    try:
        with target.open("rb") as handle:
            head = handle.read(_MAGIC_OFFSET + len(_DUCKDB_MAGIC))
    except OSError as error:
        raise WarehouseUnusableError(text, f"cannot be read ({error.strerror})") from error
    if head and head[_MAGIC_OFFSET:] != _DUCKDB_MAGIC:
        raise WarehouseDamagedError(text, "is not a DuckDB database file", restore_advice(target))
    if not head:
        raise WarehouseDamagedError(text, "is empty (0 bytes)", restore_advice(target))
    _check_wal(target)


def _check_wal(target: Path) -> None:
    wal = target.with_name(target.name + ".wal")
    try:
        with wal.open("rb") as handle:
            start = handle.read(len(_WAL_START))
    except FileNotFoundError:
        return
    except OSError as error:
        raise WarehouseUnusableError(str(wal), f"cannot be read ({error.strerror})") from error
    if len(start) == len(_WAL_START) and start != _WAL_START:
        raise WarehouseDamagedError(
            str(target),
            f"has a write-ahead log ({wal.name}) that is not one DuckDB wrote, so it cannot "
            "be replayed",
            restore_advice(target),
        )


def restore_advice(target: Path) -> str:
    """What to do about a damaged warehouse: restore the newest backup, naming it."""
    folder = default_folder(target)
    try:
        # the backups of *this* warehouse (wh-test's are not wh's), newest first
        newest = next((info.path for info in list_backups(target)), None)
    except OSError:
        newest = None
    wrong_path = (
        "If it is not your warehouse at all, point --database / EGREGORA_DATABASE at the "
        "right file. Otherwise: "
    )
    if newest is not None:
        return (
            f"{wrong_path}restore the newest backup with `egregora-pipeline db restore "
            f"{newest} --database {target}` (all backups: `egregora-pipeline db backups "
            f"--database {target}`)."
        )
    return (
        f"{wrong_path}restore a backup with `egregora-pipeline db restore BACKUP --database "
        f"{target}` (there is none in {folder}), or open the file with the DuckDB version "
        "that wrote it."
    )


def create_atomically(path: Path) -> None:
    """Create an empty DuckDB file at ``path`` unless one exists, race-free.

    When several processes open a warehouse that does not exist yet, each would
    otherwise create the file itself and one could open it while another is
    still writing its header ("not a valid DuckDB database file": not a lock
    conflict, so not retried). Here the file is built under a private name and
    hard-linked into place, which either fully succeeds or finds the file there.

    The file is created in the storage format ``EGREGORA_DUCKDB_STORAGE_VERSION``
    names (default v1.0.0, what DuckDB 1.4.4 -- Egregora's pin -- writes and reads;
    DuckDB 2.0's own default, v2.0.0+, is one 1.4.4 refuses). DuckDB keeps a file's
    format for its lifetime, so this one choice covers every later write, and every
    backup and restore (byte copies) of it: docs/storage-format.md.
    """
    if path.exists():
        return
    version = duckdb_storage_version()
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.creating")
    scratch.unlink(missing_ok=True)
    try:
        duckdb.connect(
            str(scratch),
            config={**bounded_config(path), "storage_compatibility_version": version},
        ).close()
    except duckdb.InvalidInputException as error:
        scratch.unlink(missing_ok=True)
        known = str(error).partition("valid options are: ")[2] or "v1.0.0, v1.4.0, v2.0.0"
        raise SettingsError(
            "EGREGORA_DUCKDB_STORAGE_VERSION", version, f"a storage version DuckDB knows: {known}"
        ) from None
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
    check_warehouse_path(target)
    if read_only and not target.exists():
        raise WarehouseNotFoundError(str(target))
    if not read_only:
        try:
            create_atomically(target)
        except OSError as error:
            raise WarehouseUnusableError(
                str(target), f"cannot be created ({error.strerror})"
            ) from error
    config = bounded_config(target)
    deadline = time.monotonic() + lock_timeout
    delay = 0.05
    while True:
        try:
            conn = duckdb.connect(str(target), read_only=read_only, config=config)
            try:
                _check_complete(conn, target)
            except BaseException:
                conn.close()
                raise
            return conn
        except duckdb.IOException as error:
            if not is_lock_conflict(error):
                raise _open_failure(target, error) from None  # its message quotes DuckDB
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                match = _HOLDER.search(str(error))
                holder = match.group(1) if match else "unknown process"
                raise WarehouseLockedError(str(target), lock_timeout, holder) from error
            time.sleep(min(remaining, delay * (0.5 + random.random())))  # noqa: S311 (jitter)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as error:  # e.g. a WAL that fails its checksum while replayed
            # from None: Dagster shows a failed step's innermost cause, and this
            # message (which quotes DuckDB's) is the one that says what to do
            raise _open_failure(target, error) from None


_FILE_HEADERS = 3 * 4096
"""The main header and the two database headers that precede the first block."""


def _check_complete(conn: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Refuse a file too short to hold the blocks its own header says are in use.

    DuckDB opens a truncated file when its catalog survived the cut and fails
    later, on the first query that reads a missing block. The header's count of
    used blocks, against the size on disk (``stat``: no descriptor is opened,
    which would release DuckDB's lock), catches that at open time. Skipped
    while a WAL is pending: blocks it allocates are not on disk yet.
    """
    wal = target.with_name(target.name + ".wal")
    if wal.exists() and wal.stat().st_size:
        return
    row = conn.execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        return
    block_size, used = int(row[0]), int(row[1])
    size = target.stat().st_size
    if size < _FILE_HEADERS or (size - _FILE_HEADERS) // block_size < used:
        needed = _FILE_HEADERS + used * block_size
        raise WarehouseDamagedError(
            str(target),
            f"is truncated: {size} bytes on disk, but its header says {used} block(s) of "
            f"{block_size} bytes are in use (at least {needed} bytes)",
            restore_advice(target),
        )


def _open_failure(target: Path, error: duckdb.Error) -> WarehouseUnusableError:
    """DuckDB's reason for refusing to open a file, in the words a user can act on."""
    message = str(error)
    if "Permission denied" in message or "Read-only file system" in message:
        return WarehouseUnusableError(
            str(target),
            "cannot be opened for writing (permission denied); commands that only read "
            "(db check, current, history, plan) still work",
        )
    first_line = message.splitlines()[0] if message else type(error).__name__
    for pattern, reason in _DAMAGE:
        if pattern.search(message):
            return WarehouseDamagedError(
                str(target), f"{reason} (DuckDB: {first_line})", restore_advice(target)
            )
    return WarehouseUnusableError(str(target), f"could not be opened: {first_line}")
