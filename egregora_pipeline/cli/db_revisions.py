"""``egregora-pipeline db upgrade/downgrade/plan/stamp/revision``: move along the revision chain.

The commands that change which revision a warehouse is at (running its SQL, or with
``stamp`` only recording it), print the SQL that would run, or add a revision file to
the chain. Its own module so that ``cli/db.py`` only registers them; the read-only
questions (``current``, ``history``, ``check``) are ``cli/db_inspect.py``'s.

Each command is a thin shell over :mod:`egregora_pipeline.migrations`: parse options,
call one library function, print the result, or with ``--json`` one document built by
:mod:`.db_documents`. SQL is printed with markup disabled: types such as ``VARCHAR[]``
would otherwise be read as Rich markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from egregora_pipeline.cli import db_documents as docs
from egregora_pipeline.cli.console import stderr_console, stdout_console
from egregora_pipeline.cli.db_shared import (
    AllowDestructiveOption,
    NoBackupOption,
    SqlOption,
    StrictAdoptionOption,
    VersionsDirOption,
    migration_config,
    print_backup,
)
from egregora_pipeline.cli.json_output import emit
from egregora_pipeline.cli.options import DEFAULT_WAREHOUSE, JsonOption, WarehouseOption

# The engine (Ibis, DuckDB, the revision chain) is imported inside each command:
# `--help` and the commands that do not need all of it start without it.
if TYPE_CHECKING:
    from egregora_pipeline.backends import WarehouseTarget
    from egregora_pipeline.migrations import MigrationPlan, UpgradeResult


def _print_plan(
    plan: MigrationPlan, command: str, database: WarehouseTarget, as_json: bool
) -> None:
    """A plan as its exact SQL script, or (``--json``) as a document with each step."""
    if as_json:
        emit(docs.plan_document(command, database, plan))
    else:
        stdout_console().print(plan.sql(), markup=False, end="")


def _print_result(
    result: UpgradeResult, command: str, database: WarehouseTarget, as_json: bool
) -> None:
    from egregora_pipeline.migrations.safeguard import restore_command

    undo = restore_command(result.backup, database) if result.backup is not None else None
    if as_json:
        warn = stderr_console()
        for warning in result.warnings:  # in the document too; stderr is what a CI log shows
            warn.print(f"warning: {warning}", markup=False)
        emit(docs.upgrade_document(command, database, result, undo))
        return
    verb = "applied" if command == "db upgrade" else "reverted"
    out = stdout_console()
    if result.backup is not None:
        print_backup(result.backup, "backup taken first")
        out.print(f"  to undo: {undo}", markup=False)
    if result.adopted_layout:
        out.print(f"[bold]adopted layout:[/bold] {result.adopted_layout}")
    if result.applied:
        table = Table(title=f"{verb} revisions", title_justify="left")
        table.add_column("revision")
        table.add_column("message")
        table.add_column("seconds", justify="right")
        for applied in result.applied:
            table.add_row(applied.revision_id, applied.message, f"{applied.duration_seconds:.3f}")
        out.print(table)
    for action in result.reconcile_actions:
        kind, _, text = action.partition(": ") if action.startswith("adopt: ") else ("", "", action)
        label = "[cyan]adopt:[/cyan]" if kind else "[green]reconcile:[/green]"
        out.print(f"{label} {text}")
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")
    where = result.to_revision or "base"
    if not result.changed:
        out.print(f"nothing to do: the warehouse is at {where} and matches the declared schema")
    else:
        out.print(
            f"[bold green]done[/bold green]: {result.from_revision or 'base'} -> {where} "
            f"in {result.duration_seconds:.2f}s"
        )


def upgrade_command(
    target: Annotated[
        str, typer.Argument(help="Revision to reach: head (default), a revision id, or +N.")
    ] = "head",
    sql: SqlOption = False,
    allow_destructive: AllowDestructiveOption = False,
    strict_adoption: StrictAdoptionOption = False,
    no_backup: NoBackupOption = False,
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply revisions up to TARGET, then reconcile (add missing declared columns in place).

    A warehouse without bookkeeping is adopted first: empty, legacy V2 tables (folded
    into documents, originals kept as legacy_v2_*), partial or complete unversioned
    tables, upstream Egregora's indexed/constrained, Atom and separate-media layouts
    (tables DuckDB cannot ALTER in place are changed in batch mode; CHECKs that
    contradict the declared rules are widened unless --strict-adoption). Each revision
    runs in its own transaction with its bookkeeping row; a failure rolls that revision
    back and exits 3. Waits for DuckDB's file lock (EGREGORA_LOCK_TIMEOUT seconds) if
    another process holds the warehouse. Before a step that drops or rewrites data
    (not before one that only adds), the warehouse is backed up to backups/ beside it
    (PostgreSQL: a pg_dump into backups/<host>-<port>-<db>/ here), unless --no-backup.
    """
    from egregora_pipeline.migrations import plan, upgrade

    config = migration_config(
        database,
        versions_dir,
        allow_destructive=allow_destructive,
        strict_adoption=strict_adoption,
        no_backup=no_backup,
    )
    if sql:
        _print_plan(plan(config, target), "db upgrade --sql", database, as_json)
        return
    _print_result(upgrade(config, target), "db upgrade", database, as_json)


def downgrade_command(
    target: Annotated[str, typer.Argument(help="A revision id, -1 (one step back), or base.")],
    sql: SqlOption = False,
    allow_destructive: AllowDestructiveOption = False,
    no_backup: NoBackupOption = False,
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revert revisions, newest first, down to TARGET.

    Refuses (exit 3) when a revert would drop data, saying how many non-null values
    would be lost, unless --allow-destructive is given. Reverting the initial revision
    drops the declared tables. A revert that drops or rewrites data is preceded by a
    backup (backups/ beside the warehouse) unless --no-backup.
    """
    from egregora_pipeline.migrations import downgrade, plan_downgrade

    config = migration_config(
        database, versions_dir, allow_destructive=allow_destructive, no_backup=no_backup
    )
    if sql:
        _print_plan(plan_downgrade(config, target), "db downgrade --sql", database, as_json)
        return
    _print_result(downgrade(config, target), "db downgrade", database, as_json)


def plan_command(
    target: Annotated[str, typer.Argument(help="Revision to plan for (default head).")] = "head",
    allow_destructive: AllowDestructiveOption = False,
    strict_adoption: StrictAdoptionOption = False,
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the exact SQL `db upgrade TARGET` would run; change nothing.

    The warehouse is opened read-only (a missing file is not created); the SQL is
    executed on an empty in-memory copy of the schema to make sure it is exact.
    Destructive steps are flagged with a comment.
    """
    from egregora_pipeline.migrations import plan

    config = migration_config(
        database, versions_dir, allow_destructive=allow_destructive, strict_adoption=strict_adoption
    )
    _print_plan(plan(config, target), "db plan", database, as_json)


def stamp_command(
    target: Annotated[str, typer.Argument(help="A revision id, head, or base.")],
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record TARGET as the applied revision without running any SQL of it.

    Use it to adopt a warehouse you know is at TARGET, or to repair history after a
    checksum mismatch (the files' current checksums are recorded) or an unknown
    revision id (rows of revisions not in the chain up to TARGET are removed).
    """
    from egregora_pipeline.migrations import stamp

    result = stamp(migration_config(database, versions_dir), target)
    if as_json:
        emit(docs.stamp_document(database, result))
        return
    stdout_console().print(
        f"stamped: the warehouse is now recorded at {result.to_revision or 'base'}"
    )


def revision_command(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
    autogenerate: Annotated[
        bool,
        typer.Option(
            "--autogenerate",
            help="Fill upgrade()/downgrade() from the declared schema vs the live warehouse.",
        ),
    ] = False,
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a new revision file (NNNN_slug.py) on top of the current head.

    Without --autogenerate the file has empty upgrade()/downgrade() to fill in. With it,
    the warehouse is read (read-only) and the difference with the declared schema becomes
    operations: new tables, added/removed columns, type and nullability changes, with
    destructive ones marked. Review the file before committing it.
    """
    from egregora_pipeline.migrations import revision

    path = revision(migration_config(database, versions_dir), message, autogenerate=autogenerate)
    if as_json:
        emit(docs.revision_document(path, message, autogenerate))
        return
    stdout_console().print(f"wrote {path}", markup=False)
