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
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from egregora_pipeline.cli.db import db_app
from egregora_pipeline.cli.exit_codes import INTERRUPTED_MESSAGE, ExitCode
from egregora_pipeline.cli.ingest import ingest_command
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


def _is_usage_error(error: Exception) -> bool:
    """Typer vendors its own Click, so match its exception family by shape.

    Usage errors (unknown command, bad option) carry their own exit code (2)
    and know how to print themselves with the command's usage line.
    """
    return (
        isinstance(error, TyperException) and hasattr(error, "show") and hasattr(error, "exit_code")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (see :class:`ExitCode`)."""
    err = Console(stderr=True)
    try:
        # Without standalone mode Click *returns* the code of a ``typer.Exit``.
        returned = app(args=argv, prog_name="egregora-pipeline", standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else ExitCode.ERROR
    except typer.Exit as exit_:
        return int(exit_.exit_code)
    except typer.Abort:
        err.print("[red]aborted[/red]")
        return ExitCode.ERROR
    except KeyboardInterrupt:
        err.print(INTERRUPTED_MESSAGE, highlight=False)
        return ExitCode.INTERRUPTED
    except Exception as error:
        if _is_usage_error(error):
            error.show()  # type: ignore[attr-defined]
            return int(error.exit_code)  # type: ignore[attr-defined]
        if isinstance(error, EgregoraError):
            err.print(
                f"[bold red]error:[/bold red] {escape(str(error))}", highlight=False, soft_wrap=True
            )
            return ExitCode.ERROR
        if os.environ.get("EGREGORA_DEBUG"):
            raise
        err.print(
            f"[bold red]internal error:[/bold red] {type(error).__name__}: {escape(str(error))}\n"
            "This is a bug in egregora-pipeline; re-run with EGREGORA_DEBUG=1 for the traceback.",
            highlight=False,
            soft_wrap=True,
        )
        return ExitCode.INTERNAL
    code = returned if isinstance(returned, int) else ExitCode.OK
    if code == ExitCode.INTERRUPTED:  # Typer turns a KeyboardInterrupt into a silent 130
        err.print(INTERRUPTED_MESSAGE, highlight=False)
    return code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
