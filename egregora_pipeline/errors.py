"""The root of the project's exception hierarchy.

Library code raises typed exceptions carrying structured attributes; only the
CLI turns them into messages and exit codes, and only the Dagster layer turns
them into failed steps. Catch :class:`EgregoraError` to handle "anything this
project reports on purpose".
"""

from __future__ import annotations


class EgregoraError(Exception):
    """Base class of every error this project raises on purpose."""


class WarehouseError(EgregoraError):
    """The warehouse file could not be opened or used."""


class WarehouseLockedError(WarehouseError):
    """Another process kept DuckDB's single-writer lock for longer than we wait."""

    def __init__(self, path: str, waited_seconds: float, holder: str) -> None:
        super().__init__(
            f"warehouse {path} stayed locked by another process for {waited_seconds:.0f}s "
            f"({holder}). Wait for that process to finish (a Dagster run, a CLI command "
            "or a notebook holding the file open), or raise EGREGORA_LOCK_TIMEOUT."
        )
        self.path = path
        self.waited_seconds = waited_seconds
        self.holder = holder


class WarehouseNotFoundError(WarehouseError):
    """A read-only command was pointed at a warehouse file that does not exist."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"no warehouse at {path}; create it with `egregora-pipeline db upgrade "
            f"--database {path}` or point --database / EGREGORA_DATABASE at an existing file"
        )
        self.path = path


class WarehouseUnusableError(WarehouseError):
    """The warehouse path is not a DuckDB file this project can open (see the reason)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"warehouse {path} {reason}. Point --database / EGREGORA_DATABASE at a DuckDB "
            "file (a new path is created by `egregora-pipeline db upgrade` or `ingest`)."
        )
        self.path = path
        self.reason = reason


class SettingsError(EgregoraError):
    """An ``EGREGORA_*`` setting has a value that cannot be used."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__(f"{variable}={value!r} is not valid: expected {expected}.")
        self.variable = variable
        self.value = value
