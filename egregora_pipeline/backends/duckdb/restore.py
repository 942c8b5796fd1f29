"""``db restore``: put a backup back in place of the warehouse, atomically.

A restore never goes through DuckDB on the warehouse it replaces (the file is
often unreadable: that is why it is being restored). It takes the same POSIX
lock DuckDB takes, so it refuses while any DuckDB process holds the file
(naming it), keeps the file it replaces (and its WAL) as a ``pre-restore``
backup, and swaps the backup in with an atomic rename. The backup is verified
(SHA-256 against its manifest, opens read-only, has the bookkeeping table)
before anything is touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from egregora_pipeline.backends.backup_base import (
    BOOKKEEPING_TABLE,
    BackupInfo,
    fsync_dir,
    make_folder,
    manifest_of,
    write_manifest,
)
from egregora_pipeline.backends.duckdb.backup import (
    copy_file,
    current_revision,
    ensure_space,
    file_sha256,
    place_copy,
)
from egregora_pipeline.backends.duckdb.connection import check_warehouse_path
from egregora_pipeline.backends.duckdb.listing import (
    backup_name,
    default_folder,
    read_backup,
    wal_of,
)
from egregora_pipeline.backends.urls import refuse_non_file
from egregora_pipeline.compute_engine import connect_bounded
from egregora_pipeline.errors import BackupError, WarehouseInUseError


@dataclass(frozen=True)
class RestoreResult:
    """What ``restore`` put in place, and where the file it replaced went."""

    database: Path
    restored: BackupInfo
    previous: BackupInfo | None


def verify_backup(path: Path) -> BackupInfo:
    """Refuse a backup that is not a usable warehouse, before anything is touched.

    The file must match the SHA-256 its manifest recorded (when there is one),
    open read-only in DuckDB, and hold the bookkeeping table.
    """
    if not path.is_file():
        raise BackupError(
            f"no backup file at {path}; list them with `egregora-pipeline db backups`"
        )
    info = read_backup(path)
    if info.backend != "duckdb":
        raise BackupError(
            f"backup {path} is a {info.backend} backup (of {info.database or 'another warehouse'}"
            "), not a DuckDB file; nothing was restored. Restore it with --database set to "
            "that warehouse's URL."
        )
    if info.sha256 is not None:
        actual = file_sha256(path)
        if actual != info.sha256:
            raise BackupError(
                f"backup {path} is damaged: its SHA-256 is {actual}, the manifest recorded "
                f"{info.sha256}; nothing was restored: choose another backup "
                "(`egregora-pipeline db backups`)."
            )
    check_warehouse_path(path)
    try:
        conn = connect_bounded(path, read_only=True)
    except duckdb.Error as error:
        first = str(error).splitlines()[0]
        raise BackupError(
            f"backup {path} does not open as a DuckDB database ({first}); nothing was restored"
        ) from error
    try:
        revision = current_revision(conn)
    finally:
        conn.close()
    if revision == "unversioned":
        raise BackupError(
            f"backup {path} has no {BOOKKEEPING_TABLE} table, so it is not an egregora "
            "warehouse (or it is from before migrations existed); nothing was restored"
        )
    return BackupInfo(
        path=info.path,
        size=info.size,
        revision=revision,
        sha256=info.sha256,
        taken_at=info.taken_at,
        kind=info.kind,
        database=info.database,
        reason=info.reason,
    )


def _lock_holder(fd: int) -> str:
    """Who holds the POSIX lock on ``fd``'s file: ``PID n (command line)`` on Linux."""
    if sys.platform != "linux":
        return "another process"
    query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
    except OSError:
        return "another process"
    pid = struct.unpack("hhqqi", answer)[4]
    if not pid:
        return "another process"
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        command = ""
    return f"PID {pid}" + (f" ({command[:200]})" if command else "")


@contextlib.contextmanager
def exclusive_lock(database: Path) -> Iterator[None]:
    """Hold the same POSIX write lock DuckDB takes on ``database``, or refuse naming the holder.

    No DuckDB connection to ``database`` may be opened in this process meanwhile:
    closing it would drop this lock (POSIX locks belong to the process).
    """
    if not database.exists():
        yield
        return
    try:
        fd = os.open(database, os.O_RDWR)
    except OSError as error:
        raise BackupError(
            f"cannot open {database} for writing ({error.strerror or error}); nothing was "
            "restored. Check that you may write to it and to its folder (permissions, a "
            "read-only disk), then run the restore again."
        ) from None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise WarehouseInUseError(str(database), _lock_holder(fd)) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _revision_of_copy(path: Path) -> tuple[str, str | None]:
    """The revision recorded in a copy, or ``unreadable`` and DuckDB's reason."""
    try:
        conn = connect_bounded(path, read_only=True)
    except duckdb.Error as error:
        return "unreadable", str(error).splitlines()[0]
    try:
        return current_revision(conn), None
    except duckdb.Error as error:
        return "unreadable", str(error).splitlines()[0]
    finally:
        conn.close()


def restore(
    backup: Path,
    database: Path,
    *,
    folder: Path | None = None,
    other_warehouse: bool = False,
) -> RestoreResult:
    """Put ``backup`` in place of ``database``, atomically, keeping the replaced file first.

    Order: verify the backup (and that its manifest names this warehouse file,
    unless ``other_warehouse``); take the warehouse's lock (refusing, with the
    holder, if a process has it open); copy the current file and its WAL to a
    ``pre-restore`` backup; copy the backup (and its WAL, checkpointed into the
    copy) beside the warehouse under a temporary name; only then drop the old WAL
    (it belongs to the replaced file and is in the pre-restore copy) and rename
    the copy over the warehouse. A failure before that rename changes nothing.
    """
    refuse_non_file(database)
    if database.is_dir():
        raise BackupError(f"{database} is a directory, not a warehouse file")
    restored = verify_backup(backup)
    if restored.database and restored.database != database.name and not other_warehouse:
        raise BackupError(
            f"backup {backup} is a copy of the warehouse {restored.database!r} (its manifest "
            f"says so), not of {database.name!r}; nothing was restored. Point --database at "
            f"that warehouse, or pass --from-other-warehouse to put it in place of {database} "
            "anyway."
        )
    with contextlib.suppress(OSError):
        if database.exists() and backup.resolve() == database.resolve():
            raise BackupError(f"{backup} is the warehouse itself; nothing to restore")
    make_folder(database.parent, f"the warehouse {database.name}")
    previous: BackupInfo | None = None
    with exclusive_lock(database):
        wal = wal_of(database)
        needed = restored.size + _size(wal_of(backup))
        if database.exists():  # the pre-restore copy, when it goes to the same disk
            keep = folder or default_folder(database)
            if os.stat(database.parent).st_dev == os.stat(keep.parent).st_dev:
                needed += _size(database) + _size(wal)
        ensure_space(database.parent, needed, f"restoring {backup} (and keeping the replaced file)")
        if database.exists():
            previous = _keep_replaced(database, folder)
        scratch = database.with_name(f".{database.name}.{os.getpid()}.restoring")
        try:
            _prepare(backup, scratch, restored, database)
        except BaseException:
            scratch.unlink(missing_ok=True)
            wal_of(scratch).unlink(missing_ok=True)
            raise
        # the old WAL belongs to the replaced file (kept in the pre-restore copy); the
        # prepared copy needs none, so one rename installs the whole backup
        wal.unlink(missing_ok=True)
        os.replace(scratch, database)
        fsync_dir(database.parent)
    return RestoreResult(database=database, restored=restored, previous=previous)


def _prepare(backup: Path, scratch: Path, restored: BackupInfo, database: Path) -> None:
    """Make ``scratch`` (beside the warehouse) a self-contained copy of ``backup`` and its WAL.

    Everything that can fail happens here, before the warehouse is touched. A
    backup with a pending WAL (a pre-restore copy of a warehouse that had one)
    is copied with it, then checkpointed in the copy -- a different file, so the
    warehouse's lock is not disturbed -- so no WAL has to follow the rename.
    """
    scratch.unlink(missing_ok=True)
    wal_of(scratch).unlink(missing_ok=True)
    digest, _ = copy_file(backup, scratch)
    if restored.sha256 is not None and digest != restored.sha256:
        raise BackupError(f"backup {backup} changed while it was being restored; try again")
    # the copy itself is hashed too: the child hashed what it read, not what it wrote
    if restored.sha256 is not None and file_sha256(scratch) != restored.sha256:
        raise BackupError(
            f"the copy of {backup} beside {database} does not match the backup's SHA-256 "
            "(check the disk); it was removed and nothing was restored"
        )
    if not _size(wal_of(backup)):
        return
    copy_file(wal_of(backup), wal_of(scratch))
    try:
        conn = connect_bounded(scratch)
        try:
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
    except duckdb.Error as error:
        first = str(error).splitlines()[0]
        raise BackupError(
            f"could not apply the WAL of {backup} to its copy ({first}); nothing was restored"
        ) from error
    if _size(wal_of(scratch)):
        raise BackupError(
            f"the WAL of {backup} stayed pending in its copy after a checkpoint; "
            "nothing was restored"
        )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _keep_replaced(database: Path, folder: Path | None) -> BackupInfo:
    """Copy the file a restore is about to replace (and its WAL) to a pre-restore backup."""
    taken_at = datetime.now(UTC)
    where = folder or default_folder(database)
    make_folder(where, "the copy of the warehouse a restore replaces")
    name = backup_name(database, taken_at, "replaced", "pre-restore")
    info = place_copy(
        database,
        where / name,
        database=database,
        revision="replaced",
        kind="pre-restore",
        reason="the warehouse as it was before `db restore` replaced it",
        taken_at=taken_at,
    )
    revision, problem = _revision_of_copy(info.path)
    # the revision is only known once the copy opens: name the file after it
    path = where / backup_name(database, taken_at, revision, "pre-restore")
    if wal_of(info.path).exists():
        os.replace(wal_of(info.path), wal_of(path))
    os.replace(info.path, path)
    manifest_of(info.path).unlink(missing_ok=True)
    final = BackupInfo(
        path=path,
        size=info.size,
        revision=revision,
        sha256=info.sha256,
        taken_at=info.taken_at,
        kind=info.kind,
        database=info.database,
        reason=(info.reason or "") + (f" (it did not open: {problem})" if problem else ""),
    )
    write_manifest(final)
    return final
