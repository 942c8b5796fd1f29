"""``egregora-pipeline db storage-upgrade``: move a DuckDB warehouse to another storage format.

Its own module so that ``cli/db.py`` only registers it. The work is the
backend's (:meth:`~egregora_pipeline.backends.Backend.upgrade_storage`, DuckDB's
:func:`egregora_pipeline.backends.duckdb.storage_format.upgrade_storage`); docs/storage-format.md
says when to run it (and why the default format is the one Egregora's DuckDB reads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egregora_pipeline.backends import backend_of
from egregora_pipeline.cli import db_documents as docs
from egregora_pipeline.cli.console import stdout_console
from egregora_pipeline.cli.json_output import emit
from egregora_pipeline.cli.options import DEFAULT_WAREHOUSE, JsonOption, WarehouseOption
from egregora_pipeline.errors import UnsupportedBackendError
from egregora_pipeline.settings import Settings


def storage_upgrade_command(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help=(
                "The DuckDB storage version to rewrite the file in: v2.0.0 (DuckDB 2.0's own; "
                "DuckDB 1.4.4, Egregora's pin, cannot open it), v1.4.0, v1.0.0, latest, ..."
            ),
        ),
    ],
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    backup_to: Annotated[
        Path | None,
        typer.Option(
            "--backup-to",
            help="Folder for the backup taken first (default: backups/ beside the warehouse).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Rewrite a DuckDB warehouse in another storage format, after backing it up.

    A file keeps the storage format it was created in (EGREGORA_DUCKDB_STORAGE_VERSION,
    default v1.0.0, which Egregora's DuckDB 1.4.4 reads) until this command moves it.
    It backs the file up first (a pre-storage-upgrade backup), copies every table, view,
    index and sequence into a new file in the requested format, checks that each table
    has the same rows, and swaps it in atomically. Refuses while another process writes.
    Also moves a file an older egregora-pipeline wrote in v2.0.0+ back to v1.0.0, so
    Egregora can open it. A file already in that format is left alone. DuckDB only:
    PostgreSQL has no such format.
    """
    from egregora_pipeline.migrations.safeguard import restore_command

    backend = backend_of(database)
    refusal = backend.refusal("storage_format")
    if refusal is not None:
        raise UnsupportedBackendError(database.display, f"{refusal}; nothing to upgrade")
    result = backend.upgrade_storage(
        database,
        to,
        folder=backup_to,
        lock_timeout=Settings.from_env().lock_timeout_seconds,
    )
    restore_with = restore_command(result.backup, database) if result.backup else None
    if as_json:
        emit(docs.storage_upgrade_document(result, restore_with))
        return
    out = stdout_console()
    if not result.changed:
        out.print(
            f"{database} is already in storage format {result.before.describe()}; nothing changed",
            markup=False,
        )
        return
    assert result.backup is not None
    out.print(f"backed up to {result.backup.describe()}", markup=False)
    out.print(
        f"rewrote {database} ({result.tables} tables, {result.rows} rows): storage format "
        f"{result.before.name} -> {result.after.describe()}",
        markup=False,
    )
    out.print(f"  undo with: {restore_with}", markup=False)
