"""Which Rich console a command prints to: the one place that decides.

On a terminal, Rich measures the window and draws tables to fit it: that is
for a person, and stays as it is. Off a terminal (a pipe, a CI log, a file),
nobody reads the width and a script reads the values: a table cut to 80
columns folds a backup's path over three lines, so it could not be taken back
out. There the console is as wide as the longest line (:data:`UNLIMITED`), so
every path, revision and reason comes out whole, each row on one line.
"""

from __future__ import annotations

from typing import Final

from rich.console import Console

UNLIMITED: Final = 1_000_000
"""The width given to a console that is not a terminal: no real value is this long, so
Rich never folds one; tables still take only the width their values need (no padding)."""


def _console(*, stderr: bool) -> Console:
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return Console(stderr=stderr, highlight=False, soft_wrap=True)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=UNLIMITED)


def stdout_console() -> Console:
    """Where a command's human answer goes: the terminal's width, or no limit off one."""
    return _console(stderr=False)


def stderr_console() -> Console:
    """Where progress, warnings and human errors go (never mixed with a ``--json`` answer)."""
    return _console(stderr=True)
