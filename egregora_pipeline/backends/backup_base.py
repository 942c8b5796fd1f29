"""Backups as every backend offers them: take one, list them, prune, put one back.

The CLI (``db backup`` / ``backups`` / ``restore``) and the migration safeguard
(the automatic backup before a risky revision) call a :class:`BackupStore`; a
DuckDB file is copied under its writer's lock, a PostgreSQL database dumped with
``pg_dump`` under the migration lock. What they produce is the same
:class:`BackupInfo` with its manifest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egregora_pipeline.backends.base import WarehouseTarget
    from egregora_pipeline.backup import BackupInfo


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
