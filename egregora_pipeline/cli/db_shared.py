"""What more than one ``egregora-pipeline db`` command module uses.

The options naming the revision chain and how far a migration may go, the
:class:`~egregora_pipeline.migrations.MigrationConfig` a command builds from them and
the environment, and how a backup is printed (by ``db backup`` and ``db restore``, and
by ``db upgrade``/``db downgrade`` when they take one first). Its own module so that
``cli/db_revisions.py``, ``cli/db_inspect.py`` and ``cli/db_backups.py`` share them
without importing one another.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from egregora_pipeline.cli.console import stdout_console
from egregora_pipeline.settings import Settings

# The engine (Ibis, DuckDB, the revision chain) is imported inside each function:
# `--help` and the commands that do not need all of it start without it.
if TYPE_CHECKING:
    from egregora_pipeline.backends import WarehouseTarget
    from egregora_pipeline.backends.backup_base import BackupInfo
    from egregora_pipeline.migrations import MigrationConfig

VersionsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--versions-dir",
        envvar="EGREGORA_VERSIONS_DIR",
        help="Folder of revision files (default: the ones bundled with egregora-pipeline).",
        show_default=False,
    ),
]
AllowDestructiveOption = Annotated[
    bool,
    typer.Option(
        "--allow-destructive",
        help="Let operations that drop tables or columns, or narrow types, lose data.",
    ),
]
StrictAdoptionOption = Annotated[
    bool,
    typer.Option(
        "--strict-adoption",
        help=(
            "Refuse to adopt a warehouse whose CHECK constraints contradict the declared rules "
            "(default: widen them to the declared rule and keep the old definition)."
        ),
    ),
]
NoBackupOption = Annotated[
    bool,
    typer.Option(
        "--no-backup",
        help=(
            "Do not back the warehouse up before steps that drop or rewrite data "
            "(env EGREGORA_BACKUP=off does the same)."
        ),
    ),
]
SqlOption = Annotated[
    bool,
    typer.Option(
        "--sql",
        help="Print the exact SQL that would run and change nothing (read-only).",
    ),
]


def migration_config(
    database: WarehouseTarget,
    versions_dir: Path | None,
    *,
    allow_destructive: bool = False,
    strict_adoption: bool = False,
    no_backup: bool = False,
) -> MigrationConfig:
    """The engine's configuration: the command's options, the rest from the environment."""
    from egregora_pipeline.backends.backup_base import BackupPolicy
    from egregora_pipeline.migrations import MigrationConfig

    settings = Settings.from_env()
    return MigrationConfig(
        database=database,
        lock_timeout=settings.lock_timeout_seconds,
        allow_destructive=allow_destructive,
        versions_dir=versions_dir,
        strict_adoption=strict_adoption,
        backup=BackupPolicy(
            enabled=settings.backup_enabled and not no_backup, keep=settings.backup_keep
        ),
    )


def print_backup(info: BackupInfo, label: str) -> None:
    """A backup's path, then its size, revision and SHA-256 (human answers)."""
    out = stdout_console()
    out.print(f"{label}: {info.path}", markup=False)
    out.print(
        f"  size {info.size} bytes ({info.size / 1e6:.1f} MB), revision {info.revision}, "
        f"sha256 {info.sha256 or 'unknown'}",
        markup=False,
    )
