"""Exit codes a CI job can rely on (documented in the README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    """``db check`` found drift, or ``ingest`` rejected an input or a check failed."""
    USAGE = 2
    """Bad arguments (click's own code)."""
    ERROR = 3
    """The command could not do its work (locked warehouse, tampered history, ...)."""
    INTERNAL = 4
    """A bug: an unexpected exception. Re-run with EGREGORA_DEBUG=1 for the traceback."""
    INTERRUPTED = 130
    """Ctrl-C / SIGINT (the shell convention, 128 + 2). Transactions in progress are
    rolled back; re-running the same command finishes the work."""


INTERRUPTED_MESSAGE = (
    "interrupted: the work in progress was rolled back and nothing was recorded against "
    "the input being read; run the same command again to finish."
)
