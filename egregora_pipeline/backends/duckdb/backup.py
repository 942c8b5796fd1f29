"""File-level backups of the DuckDB warehouse: take, list, prune, verify, restore.

A backup is a plain, checkpointed DuckDB file (open it with any DuckDB of the
same storage version) plus a small JSON manifest beside it (``<file>.json``:
warehouse, revision, UTC time, size, SHA-256, kind, reason). By default they go
to a ``backups/`` folder beside the warehouse, named
``<stem>-<UTC time>-<revision>[-<kind>].duckdb``.

Consistency comes from DuckDB's own single-writer lock: a backup is taken
through a read-write connection (so no other process can write), after a
``CHECKPOINT`` (so the file alone holds every committed change and the WAL is
empty). The bytes are then copied by a child process (:mod:`._copy_file`):
DuckDB's lock is a POSIX record lock, which the *holding* process loses the
moment it closes any descriptor of the file, so this process must never open
the warehouse file itself while its connection is open.

Restoring is :mod:`egregora_pipeline.restore`.

No Dagster here: the CLI and the migration engine both call this module.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import duckdb

from egregora_pipeline.connection import check_warehouse_path, connect_warehouse, disk_full
from egregora_pipeline.errors import (
    BackupError,
    NotEnoughSpaceError,
    UnsupportedBackendError,
    WarehouseNotFoundError,
)
from egregora_pipeline.settings import DEFAULT_BACKUP_KEEP, DEFAULT_LOCK_TIMEOUT_SECONDS, Settings
from egregora_pipeline.sql import quote_ident
from egregora_pipeline.warehouse_url import redact_url

BackupKind = Literal["manual", "automatic", "pre-restore", "pre-storage-upgrade"]

BACKUP_FOLDER: Final = "backups"
MANIFEST_SUFFIX: Final = ".json"
BOOKKEEPING_TABLE: Final = "egregora_migrations"
_TIME_FORMAT: Final = "%Y%m%dT%H%M%S.%fZ"
_SPACE_MARGIN: Final = 1024 * 1024
"""Head room left on the disk after a copy (manifest, directory entries)."""
_POSTGRES: Final = re.compile(r"^postgres(?:ql)?(?:\+\w+)?:/", re.IGNORECASE)
_COPIER: Final = Path(__file__).with_name("_copy_file.py")
_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9_.-]+")

POSTGRES_ADVICE: Final = (
    "a backup is a file, not a database URL: give --to a folder or file path and `db "
    "restore` a backup file. To back up a PostgreSQL warehouse, pass its URL as --database: "
    "`db backup` then runs pg_dump (see docs/migrations.md); base backups with WAL archiving "
    "remain the tool for point-in-time recovery."
)


@dataclass(frozen=True)
class BackupInfo:
    """One backup file and what its manifest says about it."""

    path: Path
    size: int
    revision: str
    """The applied revision in the copy: an id, ``base`` (none applied),
    ``unversioned`` (no bookkeeping table) or ``unreadable``."""
    sha256: str | None
    taken_at: datetime
    kind: BackupKind
    database: str
    """The warehouse file's name; for PostgreSQL, its URL without the password."""
    reason: str | None = None
    backend: str = "duckdb"
    extra: dict[str, str] = field(default_factory=dict)
    """Backend-specific manifest fields (PostgreSQL: host, port, dbname, versions)."""

    def manifest(self) -> dict[str, Any]:
        backend = {} if self.backend == "duckdb" else {"backend": self.backend}
        return {
            **backend,
            "database": self.database,
            "revision": self.revision,
            "taken_at": self.taken_at.isoformat(),
            "size": self.size,
            "sha256": self.sha256,
            "kind": self.kind,
            "reason": self.reason,
            **self.extra,
        }

    def describe(self) -> str:
        """One line for logs and messages."""
        return (
            f"{self.path} ({self.size / 1e6:.1f} MB, revision {self.revision}, "
            f"sha256 {self.sha256 or 'unknown'})"
        )


def refuse_non_file(database: str | Path) -> None:
    """A PostgreSQL URL where a file is expected (a DuckDB warehouse, ``--to``, a backup
    file) is refused with what to do instead, never half-used (:mod:`.backup_postgres`
    is the PostgreSQL side)."""
    if _POSTGRES.match(str(database)):
        raise UnsupportedBackendError(redact_url(database), POSTGRES_ADVICE)


def default_folder(database: Path) -> Path:
    """``backups/`` beside the warehouse file."""
    return database.parent / BACKUP_FOLDER


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def manifest_of(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


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


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_folder(folder: Path, purpose: str) -> None:
    """``mkdir -p``, or a :class:`BackupError` naming the folder and what to do (no raw OSError)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(
            f"cannot create the folder {folder} for {purpose} ({error.strerror or error}); "
            "nothing was changed. Check that the path is a folder you may write to "
            "(not a file, not on a read-only disk), or choose another one."
        ) from None


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


def backup_name(database: Path, taken_at: datetime, revision: str, kind: BackupKind) -> str:
    suffix = "" if kind == "manual" else f"-{kind}"
    rev = _SAFE_NAME.sub("_", revision)[:40]
    return f"{database.stem}-{taken_at.strftime(_TIME_FORMAT)}-{rev}{suffix}.duckdb"


def write_manifest(info: BackupInfo) -> None:
    target = manifest_of(info.path)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.partial")
    scratch.write_text(json.dumps(info.manifest(), indent=2) + "\n", encoding="utf-8")
    os.replace(scratch, target)


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


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(manifest_of(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


_NAME: Final = re.compile(
    r"-(\d{8}T\d{6}\.\d{6}Z)-(.+?)(?:-(automatic|pre-restore|pre-storage-upgrade))?\.duckdb$"
)


def _named_after(path: Path, database: Path) -> bool:
    """``<stem>-<UTC time>-...``: so ``wh-test-<time>-...`` is not a backup of ``wh``."""
    stem = database.stem
    return path.name.startswith(stem) and _NAME.match(path.name, len(stem)) is not None


def read_backup(path: Path) -> BackupInfo:
    """What is known about one backup file: its manifest, else its name and size.

    A manifest is a file anyone can edit or damage: a field that does not parse
    falls back to what the file name (or, last, its modification time) says, so
    one bad manifest never stops a listing, a restore or a prune.
    """
    data = read_manifest(path) or {}
    match = _NAME.search(path.name)
    named = match.group(3) if match and match.group(3) else "manual"
    kind: BackupKind = "manual"
    for known in ("automatic", "pre-restore", "pre-storage-upgrade"):
        if data.get("kind", named) == known:
            kind = known
    return backup_info(path, data, match, kind=kind, default_backend="duckdb")


def backup_info(
    path: Path,
    data: dict[str, Any],
    match: re.Match[str] | None,
    *,
    kind: BackupKind,
    default_backend: str,
    extra: dict[str, str] | None = None,
) -> BackupInfo:
    """A backup as its manifest ``data`` describes it, each unreadable field falling back
    to the file name's ``match`` (time, revision), then to the file itself (time, size).

    Shared by both backends' readers: only the name pattern and the kind rule differ.
    """
    taken = (
        parse_manifest_time(data.get("taken_at"))
        or (_name_time(match.group(1)) if match else None)
        or datetime.fromtimestamp(path.stat().st_mtime, UTC)
    )
    digest, reason = data.get("sha256"), data.get("reason")
    return BackupInfo(
        path=path,
        size=path.stat().st_size,
        revision=str(data.get("revision") or (match.group(2) if match else "unknown")),
        # kept even when malformed: a restore then refuses the file rather than trust it
        sha256=None if digest is None else str(digest),
        taken_at=taken,
        kind=kind,
        database=str(data.get("database") or ""),
        reason=None if reason is None else str(reason),
        backend=str(data.get("backend") or default_backend),
        extra=extra or {},
    )


def parse_manifest_time(value: object) -> datetime | None:
    """An ISO time from a manifest, always aware (naive is taken as UTC); None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _name_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def list_backups(database: Path, folder: Path | None = None) -> list[BackupInfo]:
    """Backups of ``database`` in ``folder`` (default ``backups/`` beside it), newest first."""
    where = folder or default_folder(database)
    if not where.is_dir():
        return []
    found: list[BackupInfo] = []
    for path in where.glob("*.duckdb"):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            info = read_backup(path)
        except OSError:  # deleted meanwhile (a concurrent prune): not a backup any more
            continue
        if info.database and info.database != database.name:
            continue
        if not info.database and not _named_after(path, database):
            continue
        found.append(info)
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def prune(database: Path, keep: int, folder: Path | None = None) -> list[Path]:
    """Delete automatic backups of ``database`` beyond the newest ``keep``.

    Manual and pre-restore backups are never deleted here: someone asked for
    the first, and the second is the only copy of what a restore replaced.
    """
    automatic = [b for b in list_backups(database, folder) if b.kind == "automatic"]
    removed: list[Path] = []
    for info in automatic[max(keep, 0) :]:
        for path in (info.path, wal_of(info.path), manifest_of(info.path)):
            path.unlink(missing_ok=True)
        removed.append(info.path)
    return removed


@dataclass(frozen=True)
class BackupPolicy:
    """Whether and how many automatic backups (``EGREGORA_BACKUP``, ``EGREGORA_BACKUP_KEEP``)."""

    enabled: bool = True
    keep: int = DEFAULT_BACKUP_KEEP
    folder: Path | None = None
    """Where to put them; None: ``backups/`` beside the warehouse."""

    @classmethod
    def from_env(cls) -> BackupPolicy:
        settings = Settings.from_env()
        return cls(enabled=settings.backup_enabled, keep=settings.backup_keep)
