# SHIM(issue 21): remove after merge
"""Old home of the DuckDB backups: now :mod:`egregora_pipeline.backends.duckdb.backup`,
``.listing`` and ``.foreign``; the shared types in :mod:`egregora_pipeline.backends.backup_base`."""

from __future__ import annotations

from egregora_pipeline.backends.backup_base import (
    BOOKKEEPING_TABLE,
    MANIFEST_SUFFIX,
    BackupInfo,
    BackupKind,
    BackupPolicy,
    backup_info,
    fsync_dir,
    make_folder,
    manifest_of,
    parse_manifest_time,
    read_manifest,
    write_manifest,
)
from egregora_pipeline.backends.duckdb.backup import (
    backup_warehouse,
    copy_file,
    current_revision,
    ensure_space,
    file_sha256,
    place_copy,
    take_backup,
)
from egregora_pipeline.backends.duckdb.foreign import (
    POSTGRES_ADVICE,
    refuse_non_file,
)
from egregora_pipeline.backends.duckdb.listing import (
    BACKUP_FOLDER,
    backup_name,
    default_folder,
    list_backups,
    prune,
    read_backup,
    wal_of,
)

__all__ = [
    "BACKUP_FOLDER",
    "BOOKKEEPING_TABLE",
    "MANIFEST_SUFFIX",
    "POSTGRES_ADVICE",
    "BackupInfo",
    "BackupKind",
    "BackupPolicy",
    "backup_info",
    "backup_name",
    "backup_warehouse",
    "copy_file",
    "current_revision",
    "default_folder",
    "ensure_space",
    "file_sha256",
    "fsync_dir",
    "list_backups",
    "make_folder",
    "manifest_of",
    "parse_manifest_time",
    "place_copy",
    "prune",
    "read_backup",
    "read_manifest",
    "refuse_non_file",
    "take_backup",
    "wal_of",
    "write_manifest",
]
