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


class WarehouseDamagedError(WarehouseUnusableError):
    """DuckDB refused the file itself (empty, truncated, corrupt, newer storage, bad WAL).

    Nothing was written to it: the message says why and how to get a working
    warehouse back (a backup, or the DuckDB version that wrote it).
    """

    def __init__(self, path: str, reason: str, advice: str) -> None:
        EgregoraError.__init__(self, f"warehouse {path} {reason}. It was not modified. {advice}")
        self.path = path
        self.reason = reason
        self.advice = advice


class BackupError(EgregoraError):
    """A backup could not be taken, listed or restored (see the message)."""


class NotEnoughSpaceError(BackupError):
    """The copy a backup or a restore needs would not fit on the disk."""

    def __init__(
        self, folder: str, needed: int, available: int, what: str, instead: str = ""
    ) -> None:
        """``instead``: what else the command that ran out of room offers (``", or ..."``);
        only ``db backup`` has ``--to``, only upgrade and downgrade have ``--no-backup``."""
        super().__init__(
            f"not enough free space in {folder} for {what}: {needed / 1e6:.1f} MB needed, "
            f"{available / 1e6:.1f} MB free. Free some space (old backups are listed by "
            f"`egregora-pipeline db backups`){instead}; nothing was changed."
        )
        self.folder = folder
        self.needed = needed
        self.available = available


class WarehouseInUseError(BackupError):
    """``db restore`` refuses to replace a warehouse another process holds open."""

    def __init__(self, path: str, holder: str) -> None:
        super().__init__(
            f"warehouse {path} is in use by {holder}; nothing was restored. Stop that "
            "process (a Dagster run, `dagster dev`, a CLI command or a notebook), then run "
            "the restore again."
        )
        self.path = path
        self.holder = holder


class UnsupportedBackendError(BackupError):
    """File-level backups only exist for the DuckDB warehouse."""

    def __init__(self, url: str, advice: str) -> None:
        super().__init__(f"{url}: {advice}")
        self.url = url


class DiskFullError(WarehouseError):
    """The disk filled up while writing: not the input's fault, so the run stops here."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the disk is full ({detail}). Everything committed before stays in the "
            "warehouse; the input being written was rolled back and nothing was recorded "
            "against it. Free some space, then run the same command again: it picks up "
            "where this run stopped."
        )
        self.detail = detail


class IngestionError(EgregoraError):
    """Base class of every error the ingestion library raises on purpose.

    Here, below the backends, because the sinks raise some too (a value a
    warehouse cannot store); :mod:`egregora_pipeline.ingestion.errors` holds the rest.
    """


class WarehouseConnectionLostError(WarehouseError):
    """The warehouse server ended the session mid-run (restart, termination, network).

    Not the input's fault: the run stops at the input it was writing (rolled back)
    instead of blaming it and every input after it. ``url`` is shown without a
    password.
    """

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            f"warehouse {url}: the connection to the server was lost ({detail}); the input "
            "being written was rolled back, inputs before it are stored. Run the same "
            "command again once the server is reachable: stored rows are skipped."
        )
        self.url = url
        self.detail = detail
