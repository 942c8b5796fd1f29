# SHIM(issue 21): remove after merge
"""Old home of the PostgreSQL backups: now :mod:`egregora_pipeline.backends.postgres.backup`,
``.restore`` and ``.pg_tools``."""

from __future__ import annotations

from egregora_pipeline.backends.postgres.backup import (
    BACKEND,
    BACKUP_DIR_VARIABLE,
    DEFAULT_BACKUP_DIR,
    DUMP_SUFFIX,
    Identity,
    backup_warehouse,
    belongs_to,
    current_revision,
    default_folder,
    identity_of,
    list_backups,
    prune,
    read_backup,
    take_backup,
)
from egregora_pipeline.backends.postgres.pg_tools import (
    PG_BIN_VARIABLE,
    PgTools,
    PostgresToolsError,
    child_environment,
    conninfo_without_password,
    dump_command,
    find_tools,
    on_database,
    restore_command_line,
)
from egregora_pipeline.backends.postgres.restore import (
    PgRestoreResult,
    restore,
    verify_backup,
)

__all__ = [
    "BACKEND",
    "BACKUP_DIR_VARIABLE",
    "DEFAULT_BACKUP_DIR",
    "DUMP_SUFFIX",
    "PG_BIN_VARIABLE",
    "Identity",
    "PgRestoreResult",
    "PgTools",
    "PostgresToolsError",
    "backup_warehouse",
    "belongs_to",
    "child_environment",
    "conninfo_without_password",
    "current_revision",
    "default_folder",
    "dump_command",
    "find_tools",
    "identity_of",
    "list_backups",
    "on_database",
    "prune",
    "read_backup",
    "restore",
    "restore_command_line",
    "take_backup",
    "verify_backup",
]
