"""File-level backups of the DuckDB warehouse: checkpoint, copy, verify the copy.

A backup is a plain, checkpointed DuckDB file (open it with any DuckDB of the
same storage version) plus a small JSON manifest beside it (``<file>.json``:
warehouse, revision, UTC time, size, SHA-256, kind, reason). By default they go
to a ``backups/`` folder beside the warehouse, named
``<stem>-<UTC time>-<revision>[-<kind>].duckdb``.

Consistency comes from DuckDB's own single-writer lock: a backup is taken
through a read-write connection (so no other process can write), after a
``CHECKPOINT`` (so the file alone holds every committed change and the WAL is
empty). The bytes are then copied by a child process (:mod:`.copy_file`):
DuckDB's lock is a POSIX record lock, which the *holding* process loses the
moment it closes any descriptor of the file, so this process must never open
the warehouse file itself while its connection is open.

Listing and pruning are :mod:`.listing`; restoring is :mod:`.restore`.

No Dagster here: the CLI and the migration engine both call this module.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import duckdb

from egregora_pipeline.backends.backup_base import (
    BOOKKEEPING_TABLE,
    BackupInfo,
    BackupKind,
    fsync_dir,
    make_folder,
    write_manifest,
)
from egregora_pipeline.backends.duckdb.connection import check_warehouse_path, connect_warehouse
from egregora_pipeline.backends.duckdb.listing import backup_name, default_folder, wal_of
from egregora_pipeline.backends.urls import refuse_non_file
from egregora_pipeline.compute_engine import disk_full
from egregora_pipeline.defaults import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.errors import BackupError, NotEnoughSpaceError, WarehouseNotFoundError
from egregora_pipeline.sql import quote_ident

_SPACE_MARGIN: Final = 1024 * 1024
"""Head room left on the disk after a copy (manifest, directory entries)."""
_COPIER: Final = Path(__file__).with_name("copy_file.py")


def current_revision(conn: duckdb.DuckDBPyConnection) -> str:
    """The newest applied revision (the one no other row names as parent)."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
        "AND database_name = current_database()",
        [BOOKKEEPING_TABLE],
    ).fetchone()
    if not exists or not exists[0]:
        return "unversioned"
    table = quote_ident(BOOKKEEPING_TABLE)
    row = conn.execute(
        f"SELECT revision_id FROM {table} WHERE revision_id NOT IN "
        f"(SELECT parent_id FROM {table} WHERE parent_id IS NOT NULL) "
        "ORDER BY revision_id DESC LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else "base"


_INSTEAD: Final[dict[BackupKind, str]] = {
    "manual": ", or put the backup elsewhere with --to PATH",
    "automatic": (
        ", or skip the automatic backup with --no-backup (or EGREGORA_BACKUP=off) "
        "if you have another copy"
    ),
    "pre-restore": "",
    "pre-storage-upgrade": "",
}
"""What else each kind of copy can do when it does not fit (only ``db backup`` has --to)."""


def ensure_space(folder: Path, needed: int, what: str, instead: str = "") -> None:
    """Refuse before copying when ``needed`` bytes (plus a margin) will not fit in ``folder``."""
    free = shutil.disk_usage(folder).free
    if needed + _SPACE_MARGIN > free:
        raise NotEnoughSpaceError(str(folder), needed + _SPACE_MARGIN, free, what, instead)


def copy_file(source: Path, destination: Path) -> tuple[str, int]:
    """Copy ``source`` to a new file ``destination`` (fsynced) in a child process.

    Returns ``(sha256, size)``. On failure the partial destination is removed.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(_COPIER), str(source), str(destination)],
            capture_output=True,
            text=True,
            check=False,
        )
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    if done.returncode != 0:
        destination.unlink(missing_ok=True)
        why = done.stderr.strip() or f"exit code {done.returncode}"
        if done.returncode == errno.ENOSPC:
            raise BackupError(
                f"the disk filled up while copying {source} to {destination.parent} ({why}); "
                "the partial copy was removed and nothing else changed. Free some space and "
                "run the command again."
            )
        raise BackupError(f"could not copy {source} to {destination}: {why}")
    digest, printed = done.stdout.split()
    # Never trust a copy on the child's word alone: a short copy whose hash was
    # taken from the source would pass every later check and install a stub.
    size, expected = _size_of(destination), _size_of(source)
    if not size == int(printed) == expected:
        destination.unlink(missing_ok=True)
        raise BackupError(
            f"the copy of {source} came out {size} bytes long instead of {expected}; the "
            "copy was removed and nothing else changed. Check the disk (and that nothing "
            "else writes to the file), then run the command again."
        )
    return digest, size


def _size_of(path: Path) -> int | None:
    """``stat``, not ``open``: the warehouse's own lock must not be touched (module docstring)."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (never of the live warehouse: see the module docstring)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _destination(database: Path, to: Path | None, name: str) -> Path:
    if to is None:
        return default_folder(database) / name
    if to.is_dir():  # a Path has no trailing slash: the CLI refuses ``--to missing/``
        return to / name
    return to


def place_copy(
    source: Path,
    target: Path,
    *,
    database: Path,
    revision: str,
    kind: BackupKind,
    reason: str | None,
    taken_at: datetime,
) -> BackupInfo:
    """Copy ``source`` to ``target`` under a temporary name, then rename it into place."""
    if target.exists():
        raise BackupError(f"{target} already exists; choose another --to path")
    make_folder(target.parent, f"a copy of {source}")
    size = source.stat().st_size
    wal = wal_of(source)
    wal_size = wal.stat().st_size if wal.exists() else 0
    ensure_space(target.parent, size + wal_size, f"a copy of {source}", _INSTEAD[kind])
    scratch = target.with_name(f".{target.name}.{os.getpid()}.partial")
    scratch.unlink(missing_ok=True)
    digest, copied = copy_file(source, scratch)
    if wal_size:
        wal_scratch = wal_of(scratch)
        wal_scratch.unlink(missing_ok=True)
        try:
            copy_file(wal, wal_scratch)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise
        os.replace(wal_scratch, wal_of(target))
    os.replace(scratch, target)
    fsync_dir(target.parent)
    info = BackupInfo(
        path=target,
        size=copied,
        revision=revision,
        sha256=digest,
        taken_at=taken_at,
        kind=kind,
        database=database.name,
        reason=reason,
    )
    write_manifest(info)
    return info


def take_backup(
    conn: duckdb.DuckDBPyConnection,
    database: Path,
    *,
    to: Path | None = None,
    kind: BackupKind = "manual",
    reason: str | None = None,
) -> BackupInfo:
    """Back up the warehouse ``conn`` has open read-write (so it holds the writer's lock).

    ``CHECKPOINT`` first, so the file alone is the whole database, then a copy by
    a child process. ``to`` is a file path or an existing folder; default:
    ``backups/`` beside the warehouse.
    """
    try:
        conn.execute("CHECKPOINT")
    except duckdb.Error as error:
        full = disk_full(error)
        if full is not None:
            raise full from None
        raise BackupError(
            f"could not checkpoint {database} before backing it up: {error}"
        ) from None
    revision = current_revision(conn)
    taken_at = datetime.now(UTC)
    target = _destination(database, to, backup_name(database, taken_at, revision, kind))
    return place_copy(
        database,
        target,
        database=database,
        revision=revision,
        kind=kind,
        reason=reason,
        taken_at=taken_at,
    )


def backup_warehouse(
    database: Path,
    *,
    to: Path | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> BackupInfo:
    """``db backup``: wait for the writer's lock, then :func:`take_backup`."""
    refuse_non_file(database)
    check_warehouse_path(database)
    if not database.exists():
        raise WarehouseNotFoundError(str(database))
    conn = connect_warehouse(database, lock_timeout=lock_timeout)
    try:
        return take_backup(conn, database, to=to)
    finally:
        conn.close()
