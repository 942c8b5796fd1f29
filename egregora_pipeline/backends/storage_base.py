"""A warehouse's on-disk storage format, as every layer above the backends sees it.

Only a backend that stores the warehouse in a file of its own format has one
(DuckDB: the format a file's header records, which decides whether upstream
Egregora's DuckDB opens it). ``db current`` / ``db check`` report it and
``db storage-upgrade`` changes it through
:meth:`~egregora_pipeline.backends.base.Backend.storage_format` and
:meth:`~egregora_pipeline.backends.base.Backend.upgrade_storage`, so the CLI
never knows which backend's format it prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from egregora_pipeline.backends.backup_base import BackupInfo


class StorageFormat(Protocol):
    """One storage format: its name, and whether Egregora's pinned engine reads it."""

    @property
    def name(self) -> str:
        """The engine's own name for the format."""
        ...

    @property
    def egregora_can_read(self) -> bool:
        """Whether the engine version upstream Egregora pins opens a file in this format."""
        ...

    def describe(self) -> str:
        """One line for people: the format, and whether Egregora's engine opens it."""
        ...

    def document(self) -> dict[str, object]:
        """The ``storage_format`` object of ``db current`` / ``db check`` --json."""
        ...


@dataclass(frozen=True)
class StorageUpgradeResult:
    """What ``db storage-upgrade`` did: the formats before and after, and the backup it took."""

    database: Path
    before: StorageFormat
    after: StorageFormat
    requested: str
    backup: BackupInfo | None
    """The copy taken first; None when the file already was in the requested format."""
    tables: int
    rows: int

    @property
    def changed(self) -> bool:
        return self.backup is not None
