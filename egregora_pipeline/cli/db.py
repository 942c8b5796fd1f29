"""``egregora-pipeline db ...``: the migration engine's command group.

This module only creates the group and registers its commands, in the order ``db --help``
lists them; each command lives with those of its concern:

- ``cli/db_revisions.py``: ``upgrade``, ``downgrade``, ``plan``, ``stamp``, ``revision``
  (move along the revision chain, or print the SQL that would run);
- ``cli/db_inspect.py``: ``current``, ``history``, ``check`` (read-only questions);
- ``cli/db_backups.py``: ``backup``, ``backups``, ``restore``;
- ``cli/db_storage.py``: ``storage-upgrade`` (a DuckDB file's storage format);
- ``cli/db_shared.py``: the options and helpers more than one of them uses.

Each command is a thin shell over :mod:`egregora_pipeline.migrations` or the backend:
parse options, call one library function, print the result (Rich tables and colours
on a terminal, whole unwrapped lines in CI logs), or with ``--json`` one document built
by :mod:`.db_documents`. Errors are not caught there: ``cli/main`` turns every
:class:`~egregora_pipeline.errors.EgregoraError` into ``error: ...`` and exit code 3.
The only exit code a command sets itself is ``db check``'s 1.
"""

from __future__ import annotations

import typer

from egregora_pipeline.cli import db_backups, db_inspect, db_revisions, db_storage

db_app = typer.Typer(
    help=(
        "Migrate, inspect and check the warehouse schema (an Alembic for Ibis, on DuckDB "
        "or PostgreSQL: --database takes a file or a postgresql:// URL).\n\n"
        "Revisions are Python files in egregora_pipeline/migrations/versions; the warehouse "
        "records each applied one (with its checksum) in the egregora_migrations table. "
        "Warehouses without that table are adopted from their historical layout on the first "
        "upgrade. See docs/migrations.md."
    ),
    no_args_is_help=True,
)

db_app.command("upgrade")(db_revisions.upgrade_command)
# `db downgrade -1`: the revision argument starts with a dash
db_app.command("downgrade", context_settings={"ignore_unknown_options": True})(
    db_revisions.downgrade_command
)
db_app.command("plan")(db_revisions.plan_command)
db_app.command("current")(db_inspect.current_command)
db_app.command("history")(db_inspect.history_command)
db_app.command("check")(db_inspect.check_command)
db_app.command("stamp")(db_revisions.stamp_command)
db_app.command("revision")(db_revisions.revision_command)
db_app.command("backup")(db_backups.backup_command)
db_app.command("backups")(db_backups.backups_command)
db_app.command("restore")(db_backups.restore_command_)
db_app.command("storage-upgrade")(db_storage.storage_upgrade_command)
