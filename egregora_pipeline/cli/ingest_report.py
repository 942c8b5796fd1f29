"""How ``egregora-pipeline ingest`` shows progress and its summary.

Printing is kept apart from running so the summary reads the same whatever
launched the job, and so progress bars appear only on a terminal (CI logs get
the summary alone).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from egregora_pipeline.ingestion import ProgressEvent
from egregora_pipeline.settings import Settings

if TYPE_CHECKING:  # importing Dagster costs seconds; `db` commands must not pay it
    from egregora_pipeline.orchestration.local_run import IngestRunOutcome


_VISIBLE: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible(value: object) -> str:
    """``value`` as inert text for the terminal: markup escaped, control characters shown.

    Paths, attachment names and reasons come from hostile input. Rich would
    read ``[/x]`` in them as markup (and crash on an unmatched closing tag);
    a terminal would obey an escape sequence or a newline in a file name. So
    every control character (C0, DEL, C1, and the line/paragraph separators
    and bidirectional overrides that reorder what is shown) is written as its
    Python escape, ``\\x1b`` or ``\\n``, and then markup is escaped.
    """
    text = str(value)
    if any(_is_control(char) for char in text):
        text = "".join(_show(char) for char in text)
    return escape(text)


def _is_control(char: str) -> bool:
    code = ord(char)
    return (
        code < 0x20
        or 0x7F <= code < 0xA0
        or code in (0x2028, 0x2029)
        or 0x202A <= code <= 0x202E
        or 0x2066 <= code <= 0x2069
    )


def _show(char: str) -> str:
    if not _is_control(char):
        return char
    return _VISIBLE.get(char) or char.encode("unicode_escape").decode("ascii")


class IngestProgressBars:
    """A progress sink drawing one bar per input, on a terminal only."""

    def __init__(self, console: Console) -> None:
        self._enabled = console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> IngestProgressBars:
        if self._enabled:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._enabled:
            self._progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if not self._enabled:
            return
        key = str(event.path)
        task = self._tasks.get(key)
        if task is None:
            task = self._progress.add_task(
                visible(event.path.name), total=event.total, unit=visible(event.unit)
            )
            self._tasks[key] = task
        self._progress.update(
            task, completed=event.done, total=event.total, unit=visible(event.unit)
        )


INPUT_COUNT_COLUMNS = (
    "messages +",
    "messages =",
    "documents +",
    "documents ~",
    "documents =",
    "rejected",
)


def _schema_summary(schema: dict[str, Any]) -> str:
    applied = schema.get("applied_revisions") or []
    actions = schema.get("reconcile_actions") or []
    layout = schema.get("adopted_layout")
    if not applied and not actions and layout in (None, "none"):
        return f"already at head ({schema.get('to_revision')}), nothing to do"
    parts = [f"{schema.get('from_revision')} -> {schema.get('to_revision')}"]
    if layout not in (None, "none"):
        parts.append(f"adopted the '{layout}' layout")
    parts.append(f"{len(applied)} revision(s) applied")
    parts.append(f"{len(actions)} column(s) reconciled")
    return ", ".join(parts)


def _display_path(path: str) -> str:
    """Paths relative to the working directory when under it: shorter, still unambiguous.

    Returned escaped (see :func:`visible`), ready to print.
    """
    try:
        return visible(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError, RuntimeError):
        return visible(path)


def _mark(passed: bool) -> str:
    return "[green]passed[/green]" if passed else "[bold red]FAILED[/bold red]"


def render_outcome(console: Console, outcome: IngestRunOutcome, settings: Settings) -> None:
    """Print the schema step, a per-input table, table totals, checks and failures."""
    console.print(
        f"[bold]warehouse[/bold] {visible(settings.database.display)}  "
        f"[dim](run {visible(outcome.run_id)})[/dim]"
    )
    schema = outcome.schema
    if schema:
        console.print(f"[bold]schema[/bold] {visible(_schema_summary(schema))}", highlight=False)
    ingested = [item for item in outcome.inputs if item["kind"] != "skipped"]
    ignored = [item for item in outcome.inputs if item["kind"] == "skipped"]
    if ingested:
        table = Table(title="inputs", title_justify="left")
        table.add_column("input", overflow="fold")
        table.add_column("kind")
        for column in INPUT_COUNT_COLUMNS:
            table.add_column(column, justify="right", no_wrap=True)
        for item in ingested:
            table.add_row(
                _display_path(str(item["path"])),
                visible(item["kind"]),
                str(item["messages_added"]),
                str(item["messages_skipped"]),
                str(item["documents_added"]),
                str(item.get("documents_updated", 0)),
                str(item["documents_skipped"]),
                f"[red]{item['rejected']}[/red]" if item["rejected"] else "0",
            )
        console.print(table)
        console.print("[dim]+ added, ~ updated (source changed), = unchanged[/dim]")
        _render_chats(console, ingested)
        _render_unresolved_authors(console, ingested)
        _render_rejections(console, outcome.inputs)
    elif not outcome.failures and not outcome.failed_checks:
        console.print("no input found to ingest")
    if ignored:
        names = ", ".join(
            _display_path(str(item["path"]))
            + (f" ({visible(item['note'])})" if item.get("note") else "")
            for item in ignored
        )
        console.print(f"[dim]left alone: {names}[/dim]")
    for name, metadata in sorted(outcome.tables.items()):
        console.print(
            f"[bold]{visible(name)}[/bold]: "
            f"{visible(metadata.get('dagster/row_count', '?'))} rows in the warehouse"
        )
    if outcome.checks:
        checks = Table(title="asset checks", title_justify="left")
        for column in ("asset", "check", "result"):
            checks.add_column(column)
        for check in outcome.checks:
            mark = "[yellow]WARNING[/yellow]" if check.warning_only and not check.passed else None
            checks.add_row(visible(check.asset), visible(check.name), mark or _mark(check.passed))
        console.print(checks)
    for check in outcome.failed_checks:
        _render_failed_check(console, check.asset, check.name, check.details)
    for check in outcome.warned_checks:
        console.print(
            f"[yellow]warning {visible(check.asset)}:{visible(check.name)}[/yellow] "
            f"{check.details.get('offending_rows')} row(s); first in thread "
            f"{visible(check.details.get('first_thread'))}, message "
            f"{check.details.get('first_msg_id')}, line {check.details.get('first_line')}",
            highlight=False,
        )
    for failure in outcome.failures:
        console.print(
            f"[bold red]step {visible(failure.step)} failed:[/bold red] {visible(failure.message)}",
            highlight=False,
        )
    if outcome.skipped_steps:
        console.print(
            "[yellow]not executed (blocked):[/yellow] " + visible(", ".join(outcome.skipped_steps))
        )


def _render_unresolved_authors(console: Console, inputs: list[dict[str, Any]]) -> None:
    """Post authors kept as written because they name no profile (or several)."""
    for item in inputs:
        names = item.get("unresolved_authors") or []
        if names:
            console.print(
                f"[yellow]authors not linked to a profile[/yellow] in "
                f"{_display_path(str(item['path']))}: {visible('; '.join(names))} "
                "[dim](kept as written; add or fix the profile, then ingest again)[/dim]",
                highlight=False,
            )


def _render_chats(console: Console, inputs: list[dict[str, Any]]) -> None:
    """Per chat: the header shape, the date order and why, and any warning about it."""
    for item in inputs:
        chat = item.get("chat")
        if not chat:
            continue
        line = (
            f"{_display_path(str(item['path']))}: {visible(chat.get('shape'))}; date order "
            f"{visible(chat.get('date_order'))} ({visible(chat.get('date_order_reason'))})"
        )
        console.print(line, style="dim", highlight=False)
        if chat.get("unreadable_headers"):
            console.print(
                f"  [yellow]{chat['unreadable_headers']} line(s) start like a header but cannot "
                "be read[/yellow] (rejected, see below)",
                highlight=False,
            )
        if not chat.get("chronological", True):
            console.print(
                f"  [yellow]not in time order:[/yellow] {chat.get('out_of_order_messages')} "
                f"message(s) go back in time (first at line {chat.get('first_out_of_order_line')}) "
                "under every plausible date order; loaded and flagged (attrs.out_of_order)",
                highlight=False,
            )


MAX_PRINTED_REJECTIONS: Final = 200
"""Rejection lines printed at most; 50,000 bad files would otherwise scroll for minutes
(every one is in ``ingest_rejections`` anyway)."""


def _render_rejections(console: Console, inputs: list[dict[str, Any]]) -> None:
    printed = 0
    for item in inputs:
        error = str(item.get("error") or "")
        path = str(item["path"])
        while error.startswith(f"{path}: "):  # the reason often names the file already
            error = error[len(path) + 2 :]
        lines: list[str] = []
        if error:
            lines.append(
                f"[bold red]rejected input[/bold red] {_display_path(path)}: {visible(error)}"
            )
        for rejection in item.get("rejections", []):
            if error and rejection.get("line") is None and rejection["reason"].endswith(error):
                continue  # the whole-input rejection just printed

            where = str(rejection["source_path"])
            if rejection.get("line") is not None:
                where += f":{rejection['line']}"
                if rejection.get("column") is not None:
                    where += f":{rejection['column']}"
            lines.append(f"[red]rejected[/red] {visible(where)}: {visible(rejection['reason'])}")
        for line in lines[: max(0, MAX_PRINTED_REJECTIONS - printed)]:
            console.print(line, highlight=False)
        printed += len(lines)
    total = sum(int(item.get("rejected") or 0) for item in inputs)
    if printed > MAX_PRINTED_REJECTIONS:
        console.print(
            f"[dim]... the first {MAX_PRINTED_REJECTIONS} rejections are shown, of {total:,}[/dim]"
        )
    if total:
        console.print("[dim]every rejected record is kept in table ingest_rejections[/dim]")


def _render_failed_check(console: Console, asset: str, name: str, details: dict[str, Any]) -> None:
    console.print(f"[bold red]check {visible(asset)}:{visible(name)} failed[/bold red]")
    for key in ("missing_columns", "mismatched_columns", "problems", "offending_rows", "sample"):
        value = details.get(key)
        if value:
            console.print(f"  {key}: {visible(value)}", highlight=False)
