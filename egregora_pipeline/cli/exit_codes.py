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
