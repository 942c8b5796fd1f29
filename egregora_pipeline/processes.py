"""Is a process of this machine still running? For what a killed process left behind.

A run killed by SIGKILL cannot clean up: its half-copied media files and its
Dagster run (holding a pool slot) stay. Both carry the host and PID of their
process, so a later run can tell "in progress elsewhere" from "abandoned".
"""

from __future__ import annotations

import os
import re
import socket


def this_host() -> str:
    """This machine's name, in characters safe inside a file name or a tag."""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())


def process_alive(pid: int) -> bool:
    """Whether ``pid`` names a running process of this machine (any owner)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def owned_prefix(label: str) -> str:
    """``LABEL`` + ``HOST-PID-``: a temporary name that says which process made it."""
    return f"{label}{this_host()}-{os.getpid()}-"


def left_by_a_dead_process(name: str, label: str) -> bool:
    """Whether ``name`` (made with :func:`owned_prefix` and ``label``) belongs to a process
    of this host that no longer runs: safe to delete. Another host's names, and names
    that do not parse, are never claimed."""
    match = re.match(rf"^{re.escape(label)}(?P<host>[^-]*)-(?P<pid>\d+)-", name)
    return (
        match is not None and match["host"] == this_host() and not process_alive(int(match["pid"]))
    )
