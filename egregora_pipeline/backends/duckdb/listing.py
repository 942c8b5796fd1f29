"""Which files are backups of a DuckDB warehouse: their names, reading, listing, pruning.

Backups go to a ``backups/`` folder beside the warehouse by default, named
``<stem>-<UTC time>-<revision>[-<kind>].duckdb``, each with its manifest
(:mod:`egregora_pipeline.backends.backup_base`). Nothing here opens DuckDB, so the
opener (:mod:`.connection`, whose advice for a damaged file names the newest
backup) and the copier (:mod:`.backup`) both build on it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Final

from egregora_pipeline.backends.backup_base import (
    BackupInfo,
    BackupKind,
    backup_file_name,
    backup_info,
    manifest_of,
    read_manifest,
)

BACKUP_FOLDER: Final = "backups"


def default_folder(database: Path) -> Path:
    """``backups/`` beside the warehouse file."""
    return database.parent / BACKUP_FOLDER


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def backup_name(database: Path, taken_at: datetime, revision: str, kind: BackupKind) -> str:
    return backup_file_name(database.stem, taken_at, revision, kind, ".duckdb")


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
