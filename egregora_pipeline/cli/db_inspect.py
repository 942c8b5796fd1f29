"""``egregora-pipeline db current/history/check``: read-only questions about a warehouse's schema.

Which revision it is at, the chain with the applied revisions marked, and the CI gate
(at head, history intact, columns as declared; exit 1 otherwise, the only exit code a
``db`` command sets itself). Its own module so that ``cli/db.py`` only registers them;
none of these commands writes to the warehouse (``cli/db_revisions.py``'s do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from egregora_pipeline.cli import db_documents as docs
from egregora_pipeline.cli.console import stderr_console, stdout_console
from egregora_pipeline.cli.db_shared import VersionsDirOption, migration_config
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.json_output import emit
from egregora_pipeline.cli.options import (
    DEFAULT_WAREHOUSE,
    JsonOption,
    JunitOption,
    WarehouseOption,
)

# The engine (Ibis, DuckDB, the revision chain) is imported inside each command:
# `--help` and the commands that do not need all of it start without it.
if TYPE_CHECKING:
    from egregora_pipeline.backends import WarehouseTarget
    from egregora_pipeline.backends.storage_base import StorageFormat
    from egregora_pipeline.migrations import CheckReport


def current_command(
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the applied revision id ('base' when none is applied). Read-only."""
    from egregora_pipeline.migrations import current

    revision = current(migration_config(database, versions_dir))
    storage = _storage_format(database)
    if as_json:
        emit(docs.current_document(database, revision, storage))
        return
    stdout_console().print(revision or "base", markup=False)
    if storage is not None:  # stderr: `rev=$(egregora-pipeline db current)` stays the id
        stderr_console().print(f"storage format: {storage.describe()}", markup=False)


def history_command(
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    versions_dir: VersionsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every revision, oldest first, marking the applied ones. Read-only."""
    from egregora_pipeline.migrations import history

    entries, problems = history(migration_config(database, versions_dir))
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
    out = stdout_console()
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
    out = stdout_console()
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

    report = check(migration_config(database, versions_dir))
    if junit is not None:
        from egregora_pipeline.cli.junit import check_report_suite, write_junit

        write_junit(junit, [check_report_suite(report)])
    storage = _storage_format(database)
    if as_json:
        emit(docs.check_document(database, report, storage))
    else:
        _print_check(report)
        if storage is not None:
            stdout_console().print(f"storage format: {storage.describe()}", markup=False)
    if not report.ok:
        # SystemExit, not typer.Exit: click returns typer.Exit's code in non-standalone mode
        raise SystemExit(int(ExitCode.CHECK_FAILED))
