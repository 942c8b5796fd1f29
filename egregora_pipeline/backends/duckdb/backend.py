"""The DuckDB backend object: each method hands over to a module of this package."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from egregora_pipeline.backends.backup_base import BackupStore, RestoreOutcome
from egregora_pipeline.backends.base import Backend, ConnectOptions, Feature
from egregora_pipeline.backends.duckdb.target import DuckDBTarget
from egregora_pipeline.backends.target_base import WarehouseTarget

if TYPE_CHECKING:
    from egregora_pipeline.backends.backup_base import BackupInfo
    from egregora_pipeline.backends.checks_base import CheckDialect
    from egregora_pipeline.backends.migration_base import MigrationImpl
    from egregora_pipeline.backends.storage_base import StorageFormat, StorageUpgradeResult


def _path(target: WarehouseTarget) -> Path:
    assert isinstance(target, DuckDBTarget), target
    return target.path


class DuckDBBackups(BackupStore):
    """File copies under the writer's lock, ``backups/`` beside the warehouse."""

    def default_folder(self, target: WarehouseTarget) -> Path:
        from egregora_pipeline.backends.duckdb.listing import default_folder

        return default_folder(_path(target))

    def backup(
        self, target: WarehouseTarget, *, to: Path | None, lock_timeout: float
    ) -> BackupInfo:
        from egregora_pipeline.backends.duckdb.backup import backup_warehouse

        return backup_warehouse(_path(target), to=to, lock_timeout=lock_timeout)

    def take_for_migration(
        self, conn: Any, target: WarehouseTarget, *, folder: Path, reason: str
    ) -> BackupInfo:
        from egregora_pipeline.backends.duckdb.backup import take_backup

        return take_backup(conn, _path(target), to=folder, kind="automatic", reason=reason)

    def list_backups(self, target: WarehouseTarget, folder: Path | None = None) -> list[BackupInfo]:
        from egregora_pipeline.backends.duckdb.listing import list_backups

        return list_backups(_path(target), folder)

    def prune(self, target: WarehouseTarget, keep: int, folder: Path | None = None) -> list[Path]:
        from egregora_pipeline.backends.duckdb.listing import prune

        return prune(_path(target), keep, folder)

    def restore(
        self, target: WarehouseTarget, backup: Path, *, other_warehouse: bool
    ) -> RestoreOutcome:
        from egregora_pipeline.backends.duckdb.restore import restore

        done = restore(backup, _path(target), other_warehouse=other_warehouse)
        return RestoreOutcome(
            display=str(done.database), restored=done.restored, previous=done.previous
        )


class DuckDBBackend(Backend):
    """DuckDB files: one writer process at a time, the file lock serializes migrators."""

    name: ClassVar[str] = "duckdb"
    label: ClassVar[str] = "DuckDB"
    single_writer: ClassVar[bool] = True
    secret_in_target: ClassVar[bool] = False

    def check_environment(self, environ: Mapping[str, str]) -> None:
        """``EGREGORA_DUCKDB_STORAGE_VERSION``, which only file creation reads otherwise."""
        from egregora_pipeline.backends.duckdb.config import duckdb_storage_version

        duckdb_storage_version(environ)

    def parse(self, value: str) -> WarehouseTarget:
        return DuckDBTarget(Path(value))

    def owns(self, target: WarehouseTarget) -> bool:
        return isinstance(target, DuckDBTarget)

    def exists(self, target: WarehouseTarget) -> bool:
        return _path(target).exists()

    def connect(self, target: WarehouseTarget, options: ConnectOptions) -> Any:
        from egregora_pipeline.backends.duckdb.connection import connect_warehouse

        return connect_warehouse(
            _path(target), read_only=options.read_only, lock_timeout=options.lock_timeout
        )

    def migration_impl(self) -> MigrationImpl:
        from egregora_pipeline.backends.duckdb.migration import DuckDBImpl

        return DuckDBImpl()

    def owns_connection(self, conn: object) -> bool:
        import duckdb

        return isinstance(conn, duckdb.DuckDBPyConnection)

    def is_fk_refusal(self, error: BaseException) -> bool:
        from egregora_pipeline.backends.duckdb.references import is_fk_refusal

        return is_fk_refusal(error)

    @contextlib.contextmanager
    def open_sink(self, target: WarehouseTarget, *, lock_timeout: float) -> Iterator[Any]:
        from egregora_pipeline.backends.duckdb.connection import connect_warehouse
        from egregora_pipeline.backends.duckdb.sink import DuckDBSink

        conn = connect_warehouse(_path(target), lock_timeout=lock_timeout)
        try:
            yield DuckDBSink(conn)
        finally:
            conn.close()

    def check_dialect(self) -> CheckDialect:
        from egregora_pipeline.backends.duckdb.checks import DuckDBChecks

        return DuckDBChecks()

    @contextlib.contextmanager
    def sink_for_step(
        self, target: WarehouseTarget, conn: Any, *, lock_timeout: float
    ) -> Iterator[Any]:
        """The step's own connection: one writer, one connection per step."""
        yield self.sink_over(conn)

    def sink_over(self, conn: Any) -> Any:
        from egregora_pipeline.backends.duckdb.sink import DuckDBSink

        return DuckDBSink(conn)

    def storage_format(self, target: WarehouseTarget) -> StorageFormat | None:
        from egregora_pipeline.backends.duckdb.storage_format import read_storage_format

        return read_storage_format(_path(target))

    def upgrade_storage(
        self,
        target: WarehouseTarget,
        version: str,
        *,
        folder: Path | None,
        lock_timeout: float,
    ) -> StorageUpgradeResult:
        from egregora_pipeline.backends.duckdb.storage_format import upgrade_storage

        return upgrade_storage(_path(target), version, folder=folder, lock_timeout=lock_timeout)

    def backups(self) -> BackupStore:
        return DuckDBBackups()

    def refusal(self, feature: Feature) -> str | None:
        return None


DUCKDB = DuckDBBackend()
