"""What a warehouse backend is: the one interface the rest of the package talks to.

Everything that differs between database engines lives behind :class:`Backend`,
one implementation per package under :mod:`egregora_pipeline.backends`
(``duckdb/``, ``postgres/``), as Ibis keeps an engine in ``ibis/backends/<name>/``
and Alembic a dialect in one ``impl``. The migration engine, the ingestion
pipeline, the Dagster layer and the CLI receive a :class:`WarehouseTarget` (parsed
once, where settings are read) and ask its :attr:`~WarehouseTarget.backend`; none
of them imports a driver or asks which engine it has.

A backend is a small object of methods, each handing over to a module of its own
package; the heavy modules (drivers included) are imported on first use, so a
DuckDB user never loads ``psycopg``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from egregora_pipeline.backends.target_base import WarehouseTarget

if TYPE_CHECKING:
    from egregora_pipeline.backends.backup_base import BackupStore
    from egregora_pipeline.backends.checks_base import CheckDialect
    from egregora_pipeline.backends.migration_base import MigrationImpl
    from egregora_pipeline.backends.storage_base import StorageFormat, StorageUpgradeResult

Feature = Literal[
    "legacy_layouts",
    "batch_mode",
    "check_widening",
    "column_reorder",
    "storage_format",
    "file_path",
]
"""Things only some backends can do; :meth:`Backend.refusal` says why one cannot."""


@dataclass(frozen=True)
class ConnectOptions:
    """How to open a warehouse session (the same knobs on every backend)."""

    read_only: bool = False
    lock_timeout: float = 120.0
    purpose: str = "migrate"
    """Names the session where the server shows it (PostgreSQL's ``application_name``)."""


class Backend(ABC):
    """One database engine: how to recognise, open, migrate, load, back up its warehouses."""

    name: ClassVar[str]
    """``duckdb`` or ``postgres``: also the SQL dialect name (Ibis / sqlglot)."""
    label: ClassVar[str]
    """How people write it: ``DuckDB``, ``PostgreSQL``."""
    single_writer: ClassVar[bool]
    """Only one process may write at a time (a DuckDB file): Dagster runs share one pool slot."""
    secret_in_target: ClassVar[bool]
    """A target may hold a secret (a password in a URL): Dagster binds it from the environment
    rather than storing it in run configuration."""

    # -- recognising and opening ------------------------------------------------------
    @abstractmethod
    def parse(self, value: str) -> WarehouseTarget | None:
        """``value`` as this backend's target, or None if it is not one of this backend's."""

    @abstractmethod
    def owns(self, target: WarehouseTarget) -> bool:
        """``target`` is one of this backend's (it made it)."""

    def redact(self, value: str) -> str:
        """``value`` as it may be shown, before or without parsing (no password in it)."""
        return value

    def exists(self, target: WarehouseTarget) -> bool:
        """Whether there is a warehouse to read at ``target`` (a server database always is
        one: a wrong URL fails at connect time, loudly; a file may be missing)."""
        return True

    def environment_value(self, target: WarehouseTarget) -> str:
        """The text that parses back to ``target``, secret included: what the Dagster layer
        puts in ``EGREGORA_DATABASE`` for its steps. Never shown (see :attr:`secret_in_target`)."""
        return target.display

    @abstractmethod
    def connect(self, target: WarehouseTarget, options: ConnectOptions) -> Any:
        """An open session on ``target`` (what the migration impl and the checks execute on)."""

    # -- the migration engine's half --------------------------------------------------
    @abstractmethod
    def migration_impl(self) -> MigrationImpl:
        """The :class:`~egregora_pipeline.backends.migration_base.MigrationImpl` of this backend."""

    @abstractmethod
    def owns_connection(self, conn: object) -> bool:
        """``conn`` is a session this backend's :meth:`connect` opened (without importing a
        driver the process has not loaded yet: a DuckDB user never loads ``psycopg``)."""

    def is_fk_refusal(self, error: BaseException) -> bool:
        """``error`` is this backend refusing to rewrite a row a FOREIGN KEY references
        (:func:`~egregora_pipeline.backends.references_base.is_fk_refusal` asks each
        backend; one that rewrites such rows in place raises none)."""
        return False

    # -- ingestion -------------------------------------------------------------------
    @abstractmethod
    def open_sink(
        self, target: WarehouseTarget, *, lock_timeout: float
    ) -> AbstractContextManager[Any]:
        """Where an ingestion run writes (a :class:`~egregora_pipeline.backends.sink_base.Sink`)."""

    def check_environment(self, environ: Mapping[str, str]) -> None:
        """Refuse (a :class:`~egregora_pipeline.errors.SettingsError` naming the variable)
        an ``EGREGORA_*`` variable of this backend's own that it cannot use, when the
        settings are read, before any run starts. Nothing to check by default."""
        del environ  # a backend without variables of its own accepts any environment

    def sink_over(self, conn: Any) -> Any:
        """A :class:`~egregora_pipeline.backends.sink_base.Sink` writing over ``conn``, a
        session this backend's :meth:`connect` opened (for callers that hold one).

        A backend whose sink needs a session of its own refuses, saying so.
        """
        raise TypeError(
            f"{self.name} writes through a sink of its own: use open_sink(target), not a connection"
        )

    def sink_for_step(
        self, target: WarehouseTarget, conn: Any, *, lock_timeout: float
    ) -> AbstractContextManager[Any]:
        """Where a Dagster step writes, given the connection the step already holds.

        By default a sink of its own (:meth:`open_sink`), so the loader's
        transactions never mix with the step's reads; a single-writer backend
        writes over ``conn`` itself (a second writer would wait on the first).
        """
        return self.open_sink(target, lock_timeout=lock_timeout)

    # -- backups ---------------------------------------------------------------------
    @abstractmethod
    def backups(self) -> BackupStore:
        """Backup, listing, pruning and restore of this backend's warehouses."""

    # -- data checks -----------------------------------------------------------------
    @abstractmethod
    def check_dialect(self) -> CheckDialect:
        """How the data checks spell JSON access, a lenient cast and an interval here."""

    # -- what this backend refuses ---------------------------------------------------
    def refusal(self, feature: Feature) -> str | None:
        """Why ``feature`` is not available here (None: it is). Shown to the user as is."""
        return None

    # -- storage format (docs/storage-format.md) --------------------------------------
    def storage_format(self, target: WarehouseTarget) -> StorageFormat | None:
        """The on-disk storage format of ``target``, for ``db current`` / ``db check``; None
        when the backend has none (:meth:`refusal` of ``"storage_format"`` says why)."""
        return None

    def upgrade_storage(
        self,
        target: WarehouseTarget,
        version: str,
        *,
        folder: Path | None,
        lock_timeout: float,
    ) -> StorageUpgradeResult:
        """Rewrite ``target`` in storage format ``version`` after backing it up.

        Only a backend with a storage format overrides it; the caller asks
        :meth:`refusal` first, so this default is never reached in normal use.
        """
        raise NotImplementedError(self.refusal("storage_format") or self.name)

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


def describe(backends: Sequence[Backend]) -> str:
    """``DuckDB, PostgreSQL``: for messages listing what is registered."""
    return ", ".join(backend.label for backend in backends)
