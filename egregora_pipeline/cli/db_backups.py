"""``egregora-pipeline db backup/backups/restore``: take, list and put back warehouse backups.

A consistent copy of the warehouse (DuckDB: the file; PostgreSQL: a pg_dump), the list
of those kept, and an atomic restore of one. Its own module so that ``cli/db.py`` only
registers them; the work is the backend's backup store
(:meth:`~egregora_pipeline.backends.Backend.backups`). The backups ``db upgrade`` and
``db downgrade`` take first are the engine's (:mod:`egregora_pipeline.migrations.safeguard`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from egregora_pipeline.cli import db_documents as docs
from egregora_pipeline.cli.console import stdout_console
from egregora_pipeline.cli.db_shared import print_backup
from egregora_pipeline.cli.json_output import emit
from egregora_pipeline.cli.options import (
    DEFAULT_WAREHOUSE,
    JsonOption,
    WarehouseOption,
    names_a_file,
)
from egregora_pipeline.settings import Settings


def _keep_url(raw: str | Path) -> Path:
    """A path; what names no file (a PostgreSQL URL) stays a string, so ``Path`` folds none
    of its ``//`` before :func:`_refuse_url` shows it (without its password)."""
    if isinstance(raw, str) and not names_a_file(raw):
        return raw  # type: ignore[return-value]  # refused by _refuse_url, never used
    return Path(raw)


def _parse_to(raw: str | Path) -> Path:
    """``--to``: ``Path`` drops a trailing slash, so ``newdir/`` would become a *file* named
    ``newdir``; a slash names a folder, which must exist."""
    text = str(raw)
    if text.endswith(("/", os.sep)) and names_a_file(text) and not Path(text).is_dir():
        raise typer.BadParameter(
            f"{text} is not an existing folder: create it first, or give the path of the "
            "file to write (without a trailing slash)"
        )
    return _keep_url(raw)


def _refuse_url(value: Path | None) -> Path | None:
    """A backup file is a file: a PostgreSQL URL gets what to use instead, with no password,
    at parse time (before a folder named ``postgresql:`` could be created)."""
    if value is not None and not names_a_file(value):
        from egregora_pipeline.backends.urls import refuse_non_file

        refuse_non_file(value)
    return value


def backup_command(
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help=(
                "An existing folder to put the backup in, or the path of the file to write "
                "(default: backups/ beside a DuckDB warehouse; "
                "backups/<host>-<port>-<database>/ here, or under EGREGORA_PG_BACKUP_DIR, for "
                "a PostgreSQL URL)."
            ),
            show_default=False,
            parser=_parse_to,
            callback=_refuse_url,
        ),
    ] = None,
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    as_json: JsonOption = False,
) -> None:
    """Copy the warehouse to a consistent backup file; print its path, size, revision, SHA-256.

    DuckDB: waits for the writer's lock (EGREGORA_LOCK_TIMEOUT), so no run writes during
    the copy; checkpoints, then copies the file; refuses (exit 3) when the copy would not
    fit on the disk. PostgreSQL: pg_dump --format=custom while holding the migration
    lock (see docs/migrations.md for which pg_dump is used).
    """
    from egregora_pipeline.backends import backend_of
    from egregora_pipeline.migrations.safeguard import restore_command

    lock_timeout = Settings.from_env().lock_timeout_seconds
    info = backend_of(database).backups().backup(database, to=to, lock_timeout=lock_timeout)
    restore_with = restore_command(info, database)
    if as_json:
        emit(docs.backup_document(database, info, restore_with))
        return
    print_backup(info, "backup")
    stdout_console().print(f"  restore with: {restore_with}", markup=False)


def backups_command(
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    as_json: JsonOption = False,
) -> None:
    """List the warehouse's backups, newest first. Reads no warehouse.

    DuckDB: backups/ beside the file. PostgreSQL: backups/<host>-<port>-<database>/ in
    the current folder (or under EGREGORA_PG_BACKUP_DIR), those whose manifest names the
    URL's host, port and database.
    """
    from egregora_pipeline.backends import backend_of

    store = backend_of(database).backups()
    found = store.list_backups(database)
    where, name = store.default_folder(database), database.display
    if as_json:
        emit(docs.backups_document(name, where, found))
        return
    out = stdout_console()
    if not found:
        out.print(f"no backups of {name} in {where}", markup=False)
        return
    table = Table(title=f"backups of {name}", title_justify="left")
    for column in ("taken at (UTC)", "revision", "size", "kind", "path"):
        table.add_column(
            column,
            justify="right" if column == "size" else "left",
            overflow="fold",
        )
    for info in found:
        table.add_row(
            f"{info.taken_at:%Y-%m-%d %H:%M:%S}",
            info.revision,
            f"{info.size / 1e6:.1f} MB",
            info.kind,
            str(info.path),
        )
    out.print(table)


def restore_command_(
    backup: Annotated[
        Path,
        typer.Argument(help="The backup file to put back.", parser=_keep_url, callback=_refuse_url),
    ],
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    from_other_warehouse: Annotated[
        bool,
        typer.Option(
            "--from-other-warehouse",
            help=(
                "Restore a backup whose manifest names another warehouse (for instance "
                "production's backup into a test warehouse); refused without it."
            ),
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Put BACKUP in place of the warehouse, atomically.

    The backup is verified first (SHA-256 against its manifest; DuckDB: it opens and has
    the egregora_migrations table). Refuses (exit 3), naming the process, while another
    process holds the warehouse (PostgreSQL: the migration lock, or any session on the
    database), or when the backup's manifest names another warehouse (unless
    --from-other-warehouse). DuckDB keeps the replaced file and its WAL as a pre-restore
    backup in backups/; PostgreSQL restores into a new database, then renames the
    replaced one to <db>_pre_restore_<time> and the new one to the warehouse's name.
    """
    from egregora_pipeline.backends import backend_of

    done = (
        backend_of(database)
        .backups()
        .restore(database, backup, other_warehouse=from_other_warehouse)
    )
    if as_json:
        emit(
            docs.restore_document(
                done.display,
                done.restored,
                previous=done.previous,
                kept_database=done.kept_database,
            )
        )
        return
    out = stdout_console()
    if done.previous is not None:
        print_backup(done.previous, "the replaced warehouse was kept as")
    if done.kept_database is not None:
        out.print(
            f"the replaced database was kept as {done.kept_database} "
            "(drop it when you no longer need it)",
            markup=False,
        )
    out.print(
        Text.assemble(
            ("restored", "bold green"),
            f" {done.restored.path} -> {done.display} (revision {done.restored.revision})",
        ),
        highlight=False,
    )
