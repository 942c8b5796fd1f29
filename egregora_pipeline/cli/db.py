"""``egregora-pipeline db ...``: the migration engine's commands.

Each command is a thin shell over :mod:`egregora_pipeline.migrations`: parse
options, call one library function, print the result (Rich tables and colours
on a terminal, whole unwrapped lines in CI logs), or with ``--json`` one
document built by :mod:`.db_documents`. Errors are not caught here: ``cli/main``
turns every :class:`~egregora_pipeline.errors.EgregoraError` into
``error: ...`` and exit code 3. The only exit code set here is ``db check``'s 1.

SQL is printed with markup disabled: types such as ``VARCHAR[]`` would
otherwise be read as Rich markup.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from egregora_pipeline.cli import db_documents as docs
from egregora_pipeline.cli.console import stderr_console, stdout_console
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.json_output import emit
from egregora_pipeline.cli.options import (
    DEFAULT_WAREHOUSE,
    JsonOption,
    JunitOption,
    WarehouseOption,
    names_a_file,
)
from egregora_pipeline.settings import Settings

# The engine (Ibis, DuckDB, the revision chain) is imported inside each command:
# `--help` and the commands that do not need all of it start without it.
if TYPE_CHECKING:
    from egregora_pipeline.backends import WarehouseTarget
    from egregora_pipeline.backends.backup_base import BackupInfo
    from egregora_pipeline.backends.storage_base import StorageFormat
    from egregora_pipeline.migrations import (
        CheckReport,
        MigrationConfig,
        MigrationPlan,
        UpgradeResult,
    )

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


def _out() -> Console:
    """Human answers: the terminal's width, or unlimited off a terminal (``cli/console``)."""
    return stdout_console()


def _config(
    database: WarehouseTarget,
    versions_dir: Path | None,
    *,
    allow_destructive: bool = False,
    strict_adoption: bool = False,
    no_backup: bool = False,
) -> MigrationConfig:
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


def _print_sql(text: str) -> None:
    _out().print(text, markup=False, end="")


def _print_backup(info: BackupInfo, label: str) -> None:
    out = _out()
    out.print(f"{label}: {info.path}", markup=False)
    out.print(
        f"  size {info.size} bytes ({info.size / 1e6:.1f} MB), revision {info.revision}, "
        f"sha256 {info.sha256 or 'unknown'}",
        markup=False,
    )


def _print_plan(
    plan: MigrationPlan, command: str, database: WarehouseTarget, as_json: bool
) -> None:
    """A plan as its exact SQL script, or (``--json``) as a document with each step."""
    if as_json:
        emit(docs.plan_document(command, database, plan))
    else:
        _print_sql(plan.sql())


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
    out = _out()
    if result.backup is not None:
        _print_backup(result.backup, "backup taken first")
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


@db_app.command("upgrade")
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

    config = _config(
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


@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
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

    config = _config(
        database, versions_dir, allow_destructive=allow_destructive, no_backup=no_backup
    )
    if sql:
        _print_plan(plan_downgrade(config, target), "db downgrade --sql", database, as_json)
        return
    _print_result(downgrade(config, target), "db downgrade", database, as_json)


@db_app.command("plan")
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

    config = _config(
        database, versions_dir, allow_destructive=allow_destructive, strict_adoption=strict_adoption
    )
    _print_plan(plan(config, target), "db plan", database, as_json)


@db_app.command("current")
def current_command(
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the applied revision id ('base' when none is applied). Read-only."""
    from egregora_pipeline.migrations import current

    revision = current(_config(database, versions_dir))
    storage = _storage_format(database)
    if as_json:
        emit(docs.current_document(database, revision, storage))
        return
    _out().print(revision or "base", markup=False)
    if storage is not None:  # stderr: `rev=$(egregora-pipeline db current)` stays the id
        stderr_console().print(f"storage format: {storage.describe()}", markup=False)


@db_app.command("history")
def history_command(
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every revision, oldest first, marking the applied ones. Read-only."""
    from egregora_pipeline.migrations import history

    entries, problems = history(_config(database, versions_dir))
    if as_json:
        emit(docs.history_document(database, entries, problems))
        return
    table = Table(title="revisions", title_justify="left")
    for name in ("", "revision", "parent", "message", "applied at", "applied by"):
        table.add_column(name)
    for e in entries:
        mark = "[green]✓[/green]" if e.applied else " "
        label = e.revision_id + (" (head)" if e.is_head else "") + (" *" if e.is_current else "")
        table.add_row(
            mark,
            label,
            e.parent_id or "-",
            e.message,
            e.applied_at or "",
            e.applied_by or "",
        )
    out = _out()
    out.print(table)
    for e in entries:
        if e.note:
            out.print(f"{e.revision_id}: {e.note}", markup=False)
    for problem in problems:
        out.print(f"[yellow]history problem:[/yellow] {problem}")


def _storage_format(database: WarehouseTarget) -> StorageFormat | None:
    """The warehouse's storage format (docs/storage-format.md); None where its backend has
    none (PostgreSQL)."""
    from egregora_pipeline.backends import backend_of

    return backend_of(database).storage_format(database)


def _print_check(report: CheckReport) -> None:
    out = _out()
    status = "[bold green]OK[/bold green]" if report.ok else "[bold red]FAILED[/bold red]"
    out.print(f"schema check of {report.database}: {status}")
    out.print(
        f"revision: {report.current or 'base'} (head {report.head})"
        + ("" if report.at_head else " [red]-- not at head[/red]")
    )
    out.print(f"history: {'intact' if report.history_ok else '[red]problems[/red]'}")
    for problem in report.history_problems:
        out.print(f"  [red]-[/red] {problem}")
    table = Table(title="declared tables", title_justify="left")
    table.add_column("table")
    table.add_column("status")
    table.add_column("problems")
    for drift in report.tables.values():
        problems = [f"missing column {c}" for c in drift.missing if drift.exists]
        problems += [m.describe() for m in drift.mismatched]
        status = "[green]ok[/green]" if drift.ok else "[red]drift[/red]"
        if not drift.exists:
            status, problems = "[red]missing[/red]", ["table does not exist"]
        table.add_row(drift.table, status, "\n".join(problems))
    out.print(table)


@db_app.command("check")
def check_command(
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
    junit: JunitOption = None,
) -> None:
    """Gate a warehouse: exit 0 if it is at head, with history and columns as declared.

    Exit 1 (with a readable diff naming each table and column) when the warehouse is
    not at head, an applied revision's file changed or is unknown, or a declared
    column is missing or differs in type or nullability. Read-only and metadata-only,
    so it costs the same on any size of warehouse: what CI calls to gate one.
    --json answers with the same verdict as a document; --junit FILE also writes one
    JUnit test case per check (docs/ci.md).
    """
    from egregora_pipeline.migrations import check

    report = check(_config(database, versions_dir))
    if junit is not None:
        from egregora_pipeline.cli.junit import check_report_suite, write_junit

        write_junit(junit, [check_report_suite(report)])
    storage = _storage_format(database)
    if as_json:
        emit(docs.check_document(database, report, storage))
    else:
        _print_check(report)
        if storage is not None:
            _out().print(f"storage format: {storage.describe()}", markup=False)
    if not report.ok:
        # SystemExit, not typer.Exit: click returns typer.Exit's code in non-standalone mode
        raise SystemExit(int(ExitCode.CHECK_FAILED))


@db_app.command("stamp")
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

    result = stamp(_config(database, versions_dir), target)
    if as_json:
        emit(docs.stamp_document(database, result))
        return
    _out().print(f"stamped: the warehouse is now recorded at {result.to_revision or 'base'}")


@db_app.command("revision")
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

    path = revision(_config(database, versions_dir), message, autogenerate=autogenerate)
    if as_json:
        emit(docs.revision_document(path, message, autogenerate))
        return
    _out().print(f"wrote {path}", markup=False)


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
        from egregora_pipeline.backends.duckdb.foreign import refuse_non_file

        refuse_non_file(value)
    return value


@db_app.command("backup")
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
    _print_backup(info, "backup")
    _out().print(f"  restore with: {restore_with}", markup=False)


@db_app.command("backups")
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
    out = _out()
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


@db_app.command("restore")
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
    out = _out()
    if done.previous is not None:
        _print_backup(done.previous, "the replaced warehouse was kept as")
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


from egregora_pipeline.cli import db_storage as _db_storage  # noqa: E402,F401 (registers)
