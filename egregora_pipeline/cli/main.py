"""``egregora-pipeline``: the console entry point.

Commands live in their own modules (:mod:`.db`, :mod:`.ingest`); this module
assembles them and is the only place that turns exceptions into messages and
exit codes, so no user ever sees a raw traceback unless they ask for one with
``EGREGORA_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape
from typer.exceptions import TyperException

from egregora_pipeline.cli.checks import checks_command
from egregora_pipeline.cli.console import stderr_console
from egregora_pipeline.cli.db import db_app
from egregora_pipeline.cli.exit_codes import INTERRUPTED_MESSAGE, ExitCode
from egregora_pipeline.cli.ingest import ingest_command
from egregora_pipeline.cli.json_output import (
    command_name,
    emit,
    error_document,
    error_kind,
    json_requested,
)
from egregora_pipeline.errors import EgregoraError

app = typer.Typer(
    name="egregora-pipeline",
    help="Keep an Egregora DuckDB warehouse on the declared schema and ingest into it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(db_app, name="db")
app.command("ingest")(ingest_command)
app.command("checks")(checks_command)


def _is_usage_error(error: Exception) -> bool:
    """Typer vendors its own Click, so match its exception family by shape.

    Usage errors (unknown command, bad option) carry their own exit code (2)
    and know how to print themselves with the command's usage line.
    """
    return (
        isinstance(error, TyperException) and hasattr(error, "show") and hasattr(error, "exit_code")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (see :class:`ExitCode`).

    Under ``--json`` (:func:`~.json_output.json_requested`) every way out that is not the
    command's own answer -- a usage error, an error, an interruption, a bug -- prints an
    error document on stdout instead (the same exit code), so stdout is always one
    document; the human text still goes to stderr.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = json_requested(args)
    err = stderr_console()

    def fail(code: int, kind: str, message: str, hint: str | None = None) -> int:
        if as_json:
            emit(error_document(code, kind, message, hint, command=command_name(args)))
        return code

    try:
        # Without standalone mode Click *returns* the code of a ``typer.Exit``.
        returned = app(args=args, prog_name="egregora-pipeline", standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else ExitCode.ERROR
    except typer.Exit as exit_:
        return int(exit_.exit_code)
    except typer.Abort:
        err.print("[red]aborted[/red]")
        return fail(ExitCode.ERROR, "aborted", "aborted")
    except KeyboardInterrupt:
        err.print(INTERRUPTED_MESSAGE, highlight=False)
        return fail(ExitCode.INTERRUPTED, "interrupted", INTERRUPTED_MESSAGE)
    except Exception as error:
        if _is_usage_error(error):
            error.show()  # type: ignore[attr-defined]
            message = error.format_message()  # type: ignore[attr-defined]
            return fail(int(error.exit_code), "usage", str(message))  # type: ignore[attr-defined]
        if isinstance(error, EgregoraError):
            err.print(
                f"[bold red]error:[/bold red] {escape(str(error))}", highlight=False, soft_wrap=True
            )
            hint = getattr(error, "advice", None)
            return fail(
                ExitCode.ERROR,
                error_kind(error),
                str(error),
                hint if isinstance(hint, str) else None,
            )
        if os.environ.get("EGREGORA_DEBUG"):
            raise
        err.print(
            f"[bold red]internal error:[/bold red] {type(error).__name__}: {escape(str(error))}\n"
            "This is a bug in egregora-pipeline; re-run with EGREGORA_DEBUG=1 for the traceback.",
            highlight=False,
            soft_wrap=True,
        )
        return fail(ExitCode.INTERNAL, "internal", f"{type(error).__name__}: {error}")
    code = returned if isinstance(returned, int) else ExitCode.OK
    if code == ExitCode.INTERRUPTED:  # Typer turns a KeyboardInterrupt into a silent 130
        err.print(INTERRUPTED_MESSAGE, highlight=False)
        return fail(ExitCode.INTERRUPTED, "interrupted", INTERRUPTED_MESSAGE)
    return code


def run() -> None:
    """Console-script entry point."""
    from egregora_pipeline.cli.heap import own_process

    own_process()
    sys.exit(main())
