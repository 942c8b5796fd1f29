"""The PostgreSQL backend object: each method hands over to a module of this package."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import quote

from egregora_pipeline.backends.backup_base import BackupStore, RestoreOutcome
from egregora_pipeline.backends.base import Backend, ConnectOptions, Feature
from egregora_pipeline.backends.postgres.target import (
    PostgresTarget,
    parse_postgres_url,
    redact_url,
)
from egregora_pipeline.backends.target_base import WarehouseTarget

if TYPE_CHECKING:
    from egregora_pipeline.backends.backup_base import BackupInfo
    from egregora_pipeline.backends.checks_base import CheckDialect
    from egregora_pipeline.backends.migration_base import MigrationImpl

_REFUSALS: Final[dict[Feature, str]] = {
    "legacy_layouts": (
        "that layout only ever existed in DuckDB warehouses; adopt it in DuckDB first "
        "(`egregora-pipeline db upgrade --database FILE.duckdb`), then copy the tables"
    ),
    "batch_mode": (
        "batch mode rebuilds a table by copy, which DuckDB needs for constraints it cannot "
        "alter; PostgreSQL alters them in place"
    ),
    "check_widening": (
        "CHECK widening rebuilds DuckDB tables; PostgreSQL alters constraints in place"
    ),
    "column_reorder": "PostgreSQL cannot reorder columns without rebuilding the table",
    "storage_format": "a PostgreSQL database has no DuckDB storage format",
    "file_path": "a PostgreSQL warehouse is a database on a server, not a file",
}


def _pg(target: WarehouseTarget) -> PostgresTarget:
    assert isinstance(target, PostgresTarget), target
    return target


class PostgresBackups(BackupStore):
    """``pg_dump`` under the migration lock; restore into a new database, then swap."""

    def default_folder(self, target: WarehouseTarget) -> Path:
        from egregora_pipeline.backends.postgres import backup

        return backup.default_folder(_pg(target))

    def backup(
        self, target: WarehouseTarget, *, to: Path | None, lock_timeout: float
    ) -> BackupInfo:
        from egregora_pipeline.backends.postgres import backup

        return backup.backup_warehouse(_pg(target), to=to, lock_timeout=lock_timeout)

    def take_for_migration(
        self, conn: Any, target: WarehouseTarget, *, folder: Path, reason: str
    ) -> BackupInfo:
        from egregora_pipeline.backends.postgres import backup

        return backup.take_backup(conn.raw, _pg(target), to=folder, kind="automatic", reason=reason)

    def list_backups(self, target: WarehouseTarget, folder: Path | None = None) -> list[BackupInfo]:
        from egregora_pipeline.backends.postgres import backup

        return backup.list_backups(_pg(target), folder)

    def prune(self, target: WarehouseTarget, keep: int, folder: Path | None = None) -> list[Path]:
        from egregora_pipeline.backends.postgres import backup

        return backup.prune(_pg(target), keep, folder)

    def restore(
        self, target: WarehouseTarget, backup: Path, *, other_warehouse: bool
    ) -> RestoreOutcome:
        from egregora_pipeline.backends.postgres import restore

        done = restore.restore(backup, _pg(target), other_warehouse=other_warehouse)
        return RestoreOutcome(
            display=done.display, restored=done.restored, kept_database=done.kept_database
        )


class PostgresBackend(Backend):
    """A PostgreSQL server: concurrent writers, an advisory lock serializes migrators."""

    name: ClassVar[str] = "postgres"
    label: ClassVar[str] = "PostgreSQL"
    single_writer: ClassVar[bool] = False
    secret_in_target: ClassVar[bool] = True

    def parse(self, value: str) -> WarehouseTarget | None:
        return parse_postgres_url(value)

    def owns(self, target: WarehouseTarget) -> bool:
        return isinstance(target, PostgresTarget)

    def redact(self, value: str) -> str:
        return redact_url(value)

    def environment_value(self, target: WarehouseTarget) -> str:
        """The password-free URL, plus the URL's own password (if any) as libpq's
        ``password`` query parameter; without one libpq looks it up again itself."""
        pg = _pg(target)
        if pg._password is None:
            return pg.display
        joiner = "&" if "?" in pg.display else "?"
        return f"{pg.display}{joiner}password={quote(pg._password, safe='')}"

    def connect(self, target: WarehouseTarget, options: ConnectOptions) -> Any:
        from egregora_pipeline.backends.postgres.connection import connect

        return connect(
            _pg(target),
            read_only=options.read_only,
            lock_timeout=options.lock_timeout,
            purpose=options.purpose,
        )

    def migration_impl(self) -> MigrationImpl:
        from egregora_pipeline.backends.postgres.migration import PostgresImpl

        return PostgresImpl()

    def owns_connection(self, conn: object) -> bool:
        # not loaded yet: no PgConnection can exist, and a DuckDB user never loads psycopg
        module = sys.modules.get("egregora_pipeline.backends.postgres.connection")
        if module is not None and isinstance(conn, module.PgConnection):
            return True
        # the psycopg connection itself (PostgresTarget.connect, a revision's DataStep.raw):
        # what backends.references_base dispatches on
        psycopg = sys.modules.get("psycopg")
        return psycopg is not None and isinstance(conn, psycopg.Connection)

    @contextmanager
    def open_sink(self, target: WarehouseTarget, *, lock_timeout: float) -> Iterator[Any]:
        from egregora_pipeline.backends.postgres.sink import PostgresSink

        with PostgresSink.open(_pg(target), lock_timeout=lock_timeout) as sink:
            yield sink

    def check_dialect(self) -> CheckDialect:
        from egregora_pipeline.backends.postgres.checks import PostgresChecks

        return PostgresChecks()

    def backups(self) -> BackupStore:
        return PostgresBackups()

    def refusal(self, feature: Feature) -> str | None:
        return _REFUSALS.get(feature)


POSTGRES = PostgresBackend()
