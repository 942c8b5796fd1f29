"""The engine's commands, each a function taking a :class:`MigrationConfig` first.

These open the warehouse (:func:`~.warehouse.open_warehouse`: a DuckDB file,
waiting for its single-writer lock, or a PostgreSQL URL), call :mod:`.engine`,
and close it. Writing commands hold the migrators' lock (DuckDB's file lock; a
PostgreSQL advisory lock). The CLI is a thin layer over them; the Dagster op uses
:func:`upgrade_connection` on its own connection instead.

Read-only commands (``plan``, ``check``, ``current``, ``history``, ``--sql``)
open a DuckDB file read-only and never create it; on PostgreSQL their session is
read-only, except a dry run, which runs in a transaction that is rolled back.
"""

from __future__ import annotations

# The engine, drift check, autogenerate and backup safeguard (and Ibis behind
# them) are imported by the commands that run them, so `db current` reads the
# bookkeeping without loading them.
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egregora_pipeline.backends import WarehouseTarget, backend_of, impl_for, parse_warehouse
from egregora_pipeline.backends.backup_base import BackupPolicy
from egregora_pipeline.backends.migration_base import MigrationImpl
from egregora_pipeline.defaults import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.errors import WarehouseNotFoundError
from egregora_pipeline.migrations import bookkeeping
from egregora_pipeline.migrations.errors import NotAtHeadError, VersionsDirError
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.results import (
    CheckReport,
    HistoryEntry,
    MigrationPlan,
    UpgradeResult,
)
from egregora_pipeline.migrations.script import ScriptDirectory
from egregora_pipeline.migrations.warehouse import open_warehouse


@dataclass(frozen=True)
class MigrationConfig:
    """Which warehouse, which revision files, and how careful to be."""

    database: Path | str | WarehouseTarget
    """A DuckDB file, a PostgreSQL URL (a ``str``: a ``Path`` would fold its ``//``), or
    either parsed (:func:`~egregora_pipeline.backends.parse_warehouse`)."""
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    allow_destructive: bool = False
    versions_dir: Path | None = None
    """Folder of revision files; None means the bundled ``migrations/versions``."""
    strict_adoption: bool = False
    """Refuse, instead of widening, a CHECK that contradicts the declared rules."""
    backup: BackupPolicy = field(default_factory=BackupPolicy.from_env)
    """Automatic backups before steps that drop or rewrite data (:mod:`.safeguard`)."""

    def scripts(self) -> ScriptDirectory:
        """The revision chain; a ``versions_dir`` that does not exist is an error, never
        a silent fall back to an empty chain (or to the bundled one)."""
        if self.versions_dir is not None and not self.versions_dir.is_dir():
            raise VersionsDirError(self.versions_dir)
        return ScriptDirectory.load(self.versions_dir)

    @property
    def target(self) -> WarehouseTarget:
        return parse_warehouse(self.database)

    def impl(self) -> MigrationImpl:
        """The warehouse backend's migration impl (no connection needed)."""
        return backend_of(self.target).migration_impl()

    @property
    def display(self) -> str:
        """The DuckDB path, or the URL without its password: what messages show."""
        return self.target.display

    def exists(self) -> bool:
        """Whether there is a warehouse to read (a PostgreSQL database always is one: a
        wrong URL fails at connect time, loudly)."""
        target = self.target
        return backend_of(target).exists(target)

    def existing_database(self) -> WarehouseTarget:
        """The warehouse, which must exist (commands that only make sense on one)."""
        if not self.exists():
            raise WarehouseNotFoundError(self.display)
        return self.target


@contextlib.contextmanager
def _open(config: MigrationConfig, *, read_only: bool, purpose: str = "db") -> Iterator[Any]:
    """The warehouse's connection; a writing one holds the migrators' lock throughout."""
    warehouse = open_warehouse(
        config.target, read_only=read_only, lock_timeout=config.lock_timeout, purpose=purpose
    )
    try:
        if read_only:
            yield warehouse.conn
        else:
            with warehouse.migration_lock():
                yield warehouse.conn
    finally:
        warehouse.close()


def _shadow(impl: MigrationImpl, real: Any | None) -> Any:
    """A data-less copy of ``real``'s schema and bookkeeping, where a dry run executes its
    exact SQL on a backend whose DDL does not roll back (the file is never opened for
    writing)."""
    rows_of = [bookkeeping.TABLE] if real is not None and bookkeeping.exists(real) else []
    return impl.shadow(real, rows_of)


@contextlib.contextmanager
def _dry_probe(config: MigrationConfig) -> Iterator[Probe]:
    impl = config.impl()
    if impl.transactional_ddl:
        # transactional DDL: the plan really runs, in a transaction that is rolled back
        with _open(config, read_only=False, purpose="db plan") as conn:
            conn.execute("BEGIN TRANSACTION")
            try:
                yield Probe(catalog=conn, data=conn, dry_run=True)
            finally:
                conn.execute("ROLLBACK")
        return
    if not config.exists():
        shadow = _shadow(impl, None)
        try:
            yield Probe(catalog=shadow, data=shadow, dry_run=True)
        finally:
            shadow.close()
        return
    with _open(config, read_only=True) as real:
        shadow = _shadow(impl, real)
        try:
            yield Probe(catalog=shadow, data=real, dry_run=True)
        finally:
            shadow.close()


def upgrade_connection(
    conn: Any,
    target: str = "head",
    *,
    allow_destructive: bool = False,
    versions_dir: Path | None = None,
    backup: BackupPolicy | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> UpgradeResult:
    """Upgrade an already-open read-write connection (the Dagster op's): a DuckDB
    connection or :attr:`Warehouse.conn <.warehouse.Warehouse.conn>` of either backend.

    Backs the warehouse up first when the plan drops or rewrites data (``backup``:
    default from the environment); ``result.backup`` names the copy: a file copy
    on DuckDB, a ``pg_dump`` on PostgreSQL, taken while holding the migrators'
    advisory lock (waiting up to ``lock_timeout``).
    """
    from egregora_pipeline.migrations.engine import run_upgrade
    from egregora_pipeline.migrations.safeguard import backup_if_risky, restore_hint

    scripts = ScriptDirectory.load(versions_dir)
    probe = Probe(catalog=conn, data=conn)
    impl = impl_for(conn)
    with impl.migration_lock(conn, lock_timeout):
        where = impl.target_of(conn)
        taken = backup_if_risky(
            conn, where, scripts, target, allow_destructive=allow_destructive, policy=backup
        )
        with restore_hint(taken, where, impl):
            result = run_upgrade(conn, probe, scripts, target, allow_destructive=allow_destructive)
        result.backup = taken
        return result


def _execute(
    config: MigrationConfig,
    runner: Callable[..., UpgradeResult],
    target: str,
    *,
    sql_only: bool,
) -> UpgradeResult:
    """Run ``runner`` on the warehouse, or on a data-less shadow copy for ``sql_only``."""
    from egregora_pipeline.migrations.engine import run_downgrade, run_upgrade
    from egregora_pipeline.migrations.safeguard import backup_if_risky, restore_hint

    scripts = config.scripts()
    options: dict[str, object] = {
        "allow_destructive": config.allow_destructive,
        "database": config.display,
    }
    if runner is run_upgrade:
        options["strict_adoption"] = config.strict_adoption
    if sql_only:
        with _dry_probe(config) as probe:
            return runner(probe.catalog, probe, scripts, target, **options)
    with _open(config, read_only=False) as conn:
        database = config.target
        taken = backup_if_risky(
            conn,
            database,
            scripts,
            target,
            downgrade=runner is run_downgrade,
            allow_destructive=config.allow_destructive,
            policy=config.backup,
        )
        with restore_hint(taken, database, impl_for(conn)):
            result = runner(conn, Probe(catalog=conn, data=conn), scripts, target, **options)
        result.backup = taken
        return result


def upgrade(
    config: MigrationConfig, target: str = "head", *, sql_only: bool = False
) -> UpgradeResult:
    """Apply revisions up to ``target`` then reconcile; ``sql_only`` changes nothing."""
    from egregora_pipeline.migrations.engine import run_upgrade

    return _execute(config, run_upgrade, target, sql_only=sql_only)


def downgrade(config: MigrationConfig, target: str, *, sql_only: bool = False) -> UpgradeResult:
    """Revert to ``target`` (a revision id, ``-1`` or ``base``); ``sql_only`` changes nothing.

    Only on an existing warehouse: there is nothing to revert in a missing file.
    """
    from egregora_pipeline.migrations.engine import run_downgrade

    config.existing_database()
    return _execute(config, run_downgrade, target, sql_only=sql_only)


def _as_plan(result: UpgradeResult) -> MigrationPlan:
    return MigrationPlan(
        from_revision=result.from_revision,
        to_revision=result.to_revision,
        steps=result.steps,
        statements=result.statements,
        adopted_layout=result.adopted_layout,
        reconcile_actions=result.reconcile_actions,
        warnings=result.warnings,
    )


def plan(config: MigrationConfig, target: str = "head") -> MigrationPlan:
    """What ``upgrade(config, target)`` would run; the file is opened read-only or not at all."""
    return _as_plan(upgrade(config, target, sql_only=True))


def plan_downgrade(config: MigrationConfig, target: str) -> MigrationPlan:
    """What ``downgrade(config, target)`` would run, without changing anything."""
    return _as_plan(downgrade(config, target, sql_only=True))


def check(config: MigrationConfig) -> CheckReport:
    """Read-only schema and history check of the warehouse file."""
    from egregora_pipeline.migrations.drift import check_connection

    scripts = config.scripts()
    with _open(config, read_only=True) as conn:
        return check_connection(conn, scripts=scripts, database=config.display)


def history(config: MigrationConfig) -> tuple[list[HistoryEntry], list[str]]:
    """Every revision (applied ones marked) and any history problems; read-only."""
    from egregora_pipeline.migrations.engine import history_entries

    scripts = config.scripts()
    if not config.exists():
        entries, state = history_entries(None, scripts)
        return entries, state.problems
    with _open(config, read_only=True) as conn:
        entries, state = history_entries(conn, scripts)
        return entries, state.problems


def current(config: MigrationConfig) -> str | None:
    """The applied revision id (None at base); read-only. A missing file is an error:
    a typo in the path must not read as "at base"."""
    scripts = config.scripts()
    config.existing_database()
    with _open(config, read_only=True) as conn:
        return bookkeeping.verify(bookkeeping.read(conn), scripts).current


def stamp(config: MigrationConfig, target: str) -> UpgradeResult:
    """Record ``target`` as the applied revision without running any revision.

    Only on an existing warehouse: stamping a path that does not exist would
    create an empty file claiming a revision it has none of the tables of.
    """
    from egregora_pipeline.migrations.engine import run_stamp

    scripts = config.scripts()
    config.existing_database()
    with _open(config, read_only=False) as conn:
        return run_stamp(conn, scripts, target)


def revision(config: MigrationConfig, message: str, *, autogenerate: bool = False) -> Path:
    """Write a new revision file into ``config.versions_dir`` (or the bundled folder).

    With ``autogenerate`` the operations come from the difference between the
    declared schema and the live warehouse (opened read-only; a missing file
    counts as empty).
    """
    from egregora_pipeline.migrations.autogenerate import write_revision

    if config.versions_dir is not None:
        config.versions_dir.mkdir(parents=True, exist_ok=True)  # the first revision of a project
    scripts = config.scripts()
    if not autogenerate:
        return write_revision(scripts, message, None)
    applied = current(config) if config.exists() else None
    if applied != scripts.head:
        raise NotAtHeadError(config.display, applied, scripts.head, exists=config.exists())
    if not config.exists():
        shadow = _shadow(config.impl(), None)
        try:
            return write_revision(scripts, message, shadow)
        finally:
            shadow.close()
    with _open(config, read_only=True) as conn:
        return write_revision(scripts, message, conn)
