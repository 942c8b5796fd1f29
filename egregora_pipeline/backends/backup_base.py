"""Backups as every backend offers them: take one, list them, prune, put one back.

The CLI (``db backup`` / ``backups`` / ``restore``) and the migration safeguard
(the automatic backup before a risky revision) call a :class:`BackupStore`; a
DuckDB file is copied under its writer's lock, a PostgreSQL database dumped with
``pg_dump`` under the migration lock. What they produce is the same
:class:`BackupInfo` with its manifest, a JSON file beside the backup
(``<backup>.json``), read and written here for both; the file name follows one
pattern too (``<name>-<UTC time>-<revision>[-<kind>]<suffix>``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from egregora_pipeline.backends.env import count, parse_variable, switch
from egregora_pipeline.defaults import DEFAULT_BACKUP_KEEP
from egregora_pipeline.errors import BackupError

if TYPE_CHECKING:
    from egregora_pipeline.backends.target_base import WarehouseTarget

BackupKind = Literal["manual", "automatic", "pre-restore", "pre-storage-upgrade"]

MANIFEST_SUFFIX: Final = ".json"
BOOKKEEPING_TABLE: Final = "egregora_migrations"
"""The migration engine's bookkeeping table: a backup holds it, or is no warehouse."""
TIME_FORMAT: Final = "%Y%m%dT%H%M%S.%fZ"
"""The UTC time in a backup's file name."""
SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9_.-]+")
"""What a revision (or a database name) may keep of itself in a file name."""


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


@dataclass(frozen=True)
class BackupPolicy:
    """Whether and how many automatic backups (``EGREGORA_BACKUP``, ``EGREGORA_BACKUP_KEEP``)."""

    enabled: bool = True
    keep: int = DEFAULT_BACKUP_KEEP
    folder: Path | None = None
    """Where to put them; None: ``backups/`` beside the warehouse."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BackupPolicy:
        """The two variables, parsed (and refused) exactly as ``Settings.from_env`` does:
        read here because the backends sit below the settings layer."""
        env = os.environ if environ is None else environ
        return cls(
            enabled=parse_variable(env, "EGREGORA_BACKUP", "on", switch, "on or off"),
            keep=parse_variable(
                env,
                "EGREGORA_BACKUP_KEEP",
                str(DEFAULT_BACKUP_KEEP),
                count,
                "a whole number, 1 or more",
            ),
        )


def backup_file_name(
    name: str, taken_at: datetime, revision: str, kind: BackupKind, suffix: str
) -> str:
    """``<name>-<UTC time>-<revision>[-<kind>]<suffix>`` (a manual backup has no kind)."""
    marker = "" if kind == "manual" else f"-{kind}"
    rev = SAFE_NAME.sub("_", revision)[:40]
    return f"{name}-{taken_at.strftime(TIME_FORMAT)}-{rev}{marker}{suffix}"


def manifest_of(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def write_manifest(info: BackupInfo) -> None:
    target = manifest_of(info.path)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.partial")
    scratch.write_text(json.dumps(info.manifest(), indent=2) + "\n", encoding="utf-8")
    os.replace(scratch, target)


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(manifest_of(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


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


@dataclass(frozen=True)
class RestoreOutcome:
    """What a restore put in place, and where what it replaced went."""

    display: str
    """The warehouse restored into (path, or URL without password)."""
    restored: BackupInfo
    previous: BackupInfo | None = None
    """The replaced warehouse, kept as a backup (DuckDB)."""
    kept_database: str | None = None
    """The name the replaced database was renamed to (PostgreSQL)."""


class BackupStore(ABC):
    """One backend's backups."""

    @abstractmethod
    def default_folder(self, target: WarehouseTarget) -> Path:
        """Where backups of ``target`` go unless told otherwise."""

    @abstractmethod
    def backup(
        self, target: WarehouseTarget, *, to: Path | None, lock_timeout: float
    ) -> BackupInfo:
        """A manual backup (``db backup``), taking the lock it needs itself."""

    @abstractmethod
    def take_for_migration(
        self, conn: Any, target: WarehouseTarget, *, folder: Path, reason: str
    ) -> BackupInfo:
        """The automatic backup before a risky step; the caller holds the migration lock."""

    @abstractmethod
    def list_backups(self, target: WarehouseTarget, folder: Path | None = None) -> list[BackupInfo]:
        """The backups of ``target``, newest first."""

    @abstractmethod
    def prune(self, target: WarehouseTarget, keep: int, folder: Path | None = None) -> list[Path]:
        """Delete automatic backups beyond the newest ``keep``; the paths removed."""

    @abstractmethod
    def restore(
        self, target: WarehouseTarget, backup: Path, *, other_warehouse: bool
    ) -> RestoreOutcome:
        """Put ``backup`` in place of ``target``, all or nothing, keeping what it replaces."""
