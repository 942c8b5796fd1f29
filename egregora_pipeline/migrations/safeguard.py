"""Back up the warehouse before a migration that will drop or rewrite data.

The decision is made from the plan's operations, before anything runs:

* a revision (or revert) with an operation that drops a table or a column,
  changes a type, rebuilds a table, overwrites values (a backfill with its own
  ``WHERE``) or runs raw SQL the engine cannot see into;
* the adoption of a legacy layout that copies, renames or repairs tables
  (``legacy_v2``, ``partial_unified``, and any layout not known to be
  stamp-only).

Operations that only add (a table, a column, an index, a NULL-only backfill,
``SET NOT NULL``) never trigger one, and neither does reconcile (it only adds
declared columns in place), so everyday upgrades cost what they did. An
operation the destructive guard will refuse (no ``--allow-destructive``) does
not count either: it will not run, and neither will anything after it.

The backup itself is :func:`egregora_pipeline.backup.take_backup` on DuckDB, on
the connection the migration is about to use (it holds the writer's lock), and
:func:`egregora_pipeline.backup_postgres.take_backup` (``pg_dump``) on PostgreSQL,
while the migration's session holds the migrators' advisory lock. The same policy
(``--no-backup``, ``EGREGORA_BACKUP``, ``EGREGORA_BACKUP_KEEP``) decides both.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from egregora_pipeline.backup import BackupInfo, BackupPolicy, default_folder, prune, take_backup
from egregora_pipeline.connection import disk_full
from egregora_pipeline.errors import EgregoraError, WarehouseError
from egregora_pipeline.migrations import bookkeeping
from egregora_pipeline.migrations.adoption import detect_layout
from egregora_pipeline.migrations.errors import MigrationError
from egregora_pipeline.migrations.impl.base import impl_for, using
from egregora_pipeline.migrations.ops import (
    AddColumn,
    Backfill,
    CreateIndex,
    CreateTable,
    DropIndex,
    FillNulls,
    Operation,
    RenameColumn,
    RenameTable,
    SetNullable,
)
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.script import Revision, ScriptDirectory
from egregora_pipeline.warehouse_url import (
    PostgresTarget,
    is_postgres_url,
    parse_warehouse,
    redact_url,
)

if TYPE_CHECKING:
    from egregora_pipeline.migrations.impl.postgres import PgConnection

_ADDING_ONLY: tuple[type[Operation], ...] = (
    AddColumn,
    CreateTable,
    CreateIndex,
    DropIndex,
    FillNulls,
    RenameColumn,
    RenameTable,
    SetNullable,
)
"""Operations that lose no value and rewrite none (a rename keeps every value)."""
_STAMP_ONLY_LAYOUTS = frozenset({"empty", "unversioned_current"})


@dataclass
class Assessment:
    """Why a plan needs a backup (empty: it only adds)."""

    reasons: list[str] = field(default_factory=list)

    @property
    def risky(self) -> bool:
        return bool(self.reasons)


def rewrites_data(op: Operation) -> bool:
    """True when ``op`` can drop or overwrite stored values (unknown kinds count as risky)."""
    if isinstance(op, Backfill):
        return op.where is not None  # the default only fills NULLs
    return not isinstance(op, _ADDING_ONLY)


def _describe(op: Operation) -> str:
    return op.render()[0].splitlines()[0]


def _scan(
    revisions: Iterable[Revision],
    probe: Probe,
    *,
    downgrade: bool,
    allow_destructive: bool,
    reasons: list[str],
    errors: tuple[type[BaseException], ...] = (duckdb.Error,),
) -> None:
    for rev in revisions:
        for op in rev.downgrade_ops() if downgrade else rev.upgrade_ops():
            try:
                refused = not allow_destructive and op.risk(probe) is not None
            except errors:  # e.g. a table an earlier pending revision creates
                refused = False
            if refused:
                return  # the guard refuses here: nothing from this point on runs
            if rewrites_data(op):
                verb = "revert of" if downgrade else "revision"
                reasons.append(f"{verb} {rev.revision}: {_describe(op)}")


def assess(
    conn: Any,
    scripts: ScriptDirectory,
    target: str,
    *,
    downgrade: bool = False,
    allow_destructive: bool = False,
) -> Assessment:
    """What in the plan from the warehouse's revision to ``target`` drops or rewrites data.

    A plan the engine will refuse anyway (tampered history, unknown target, wrong
    direction) needs no backup: the engine raises its own error.
    """
    result = Assessment()
    if not _has_tables(conn):
        return result  # a new, empty warehouse: nothing to lose
    probe = Probe(catalog=conn, data=conn)
    state = bookkeeping.verify(bookkeeping.read(conn), scripts)
    if state.problems:
        return result
    try:
        here = scripts.position(state.current)
        goal = scripts.resolve(target, state.current)
    except MigrationError:
        return result
    if downgrade:
        pending = list(reversed(scripts.chain[goal:here])) if goal < here else []
    else:
        pending = scripts.chain[here:goal] if goal > here else []
        if pending and not state.rows and pending[0] is scripts.base:
            layout = detect_layout(probe)
            if layout not in _STAMP_ONLY_LAYOUTS:
                result.reasons.append(f"adopting the {layout} layout copies or repairs tables")
            if layout != "empty":  # adoption replaces the baseline's own operations
                pending = pending[1:]
    with using(conn) as impl:  # risks and reasons are rendered in the warehouse's dialect
        _scan(
            pending,
            probe,
            downgrade=downgrade,
            allow_destructive=allow_destructive,
            reasons=result.reasons,
            errors=impl.errors,
        )
    return result


def _has_tables(conn: Any) -> bool:
    return bool(impl_for(conn).table_names(conn))


def backup_if_risky(
    conn: Any,
    database: Path | PostgresTarget | None,
    scripts: ScriptDirectory,
    target: str,
    *,
    downgrade: bool = False,
    allow_destructive: bool = False,
    policy: BackupPolicy | None = None,
) -> BackupInfo | None:
    """Take an automatic backup when the plan drops or rewrites data; None otherwise.

    ``database`` is the file ``conn`` has open read-write (None for an
    in-memory database, which has nothing to back up), or the PostgreSQL
    warehouse ``conn`` (a :class:`PgConnection` holding the migration lock) is on.
    """
    chosen = policy or BackupPolicy.from_env()
    if not chosen.enabled or database is None:
        return None
    assessment = assess(
        conn, scripts, target, downgrade=downgrade, allow_destructive=allow_destructive
    )
    if not assessment.risky:
        return None
    reason = "before " + "; ".join(assessment.reasons)
    if isinstance(database, PostgresTarget):
        return _pg_backup(conn, database, chosen, reason)
    folder = chosen.folder or default_folder(database)
    folder.mkdir(parents=True, exist_ok=True)
    info = take_backup(conn, database, to=folder, kind="automatic", reason=reason)
    prune(database, chosen.keep, folder)
    return info


def _pg_backup(
    conn: PgConnection, target: PostgresTarget, policy: BackupPolicy, reason: str
) -> BackupInfo:
    from egregora_pipeline import backup_postgres

    folder = policy.folder or backup_postgres.default_folder(target)
    info = backup_postgres.take_backup(
        conn.raw, target, to=_made(folder), kind="automatic", reason=reason
    )
    backup_postgres.prune(target, policy.keep, folder)
    return info


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def restore_command(info: BackupInfo, database: Path | str | PostgresTarget) -> str:
    """The one command that puts ``info`` back in place of ``database`` (no password in it)."""
    where = database.display if isinstance(database, PostgresTarget) else str(database)
    if is_postgres_url(where):  # the URL without its password: libpq finds it again
        try:
            where = parse_warehouse(where).display
        except WarehouseError:
            where = redact_url(where)
    return f"egregora-pipeline db restore {info.path} --database {where}"


_SESSION_ONLY = frozenset(
    {"password", "application_name", "connect_timeout", "hostaddr", "sslcertmode"}
)
"""Parameters libpq reports that name this session, not the warehouse (or are secret)."""


def postgres_target_of(conn: PgConnection) -> PostgresTarget:
    """The warehouse an open PostgreSQL session is on (its password kept apart, unshown).

    For callers that hold only the connection (the Dagster op): libpq reports the
    parameters it used, and the password wherever it found it (URL, PGPASSWORD, .pgpass).
    """
    info = conn.raw.info
    params = {k: v for k, v in info.get_parameters().items() if k not in _SESSION_ONLY}
    params.update({"host": info.host, "port": str(info.port), "dbname": info.dbname})
    params.setdefault("user", info.user)
    return PostgresTarget(params, info.password or None)


@contextlib.contextmanager
def restore_hint(info: BackupInfo | None, database: Path | PostgresTarget | None) -> Iterator[None]:
    """Add to a failed migration's message how to get back to the automatic backup.

    The exception keeps its type (callers and tests match on it); its message
    gains one sentence and it carries the backup as ``error.backup``. A full
    disk (DuckDB fails a WAL or checkpoint write, sometimes as a FATAL error
    after the revision committed) becomes a :class:`DiskFullError` saying so.
    """
    try:
        yield
    except EgregoraError as error:
        _add_hint(error, info, database)
        raise
    except (duckdb.Error, OSError) as error:
        full = disk_full(error)
        if full is None:
            raise
        _add_hint(full, info, database)
        raise full from None


def _add_hint(
    error: EgregoraError, info: BackupInfo | None, database: Path | PostgresTarget | None
) -> None:
    if info is None or database is None:
        return
    hint = (
        f"The warehouse as it was before this migration was backed up to {info.path}; "
        f"to go back to it: `{restore_command(info, database)}`."
    )
    error.args = (f"{error} {hint}",)
    error.backup = info  # type: ignore[attr-defined]


def database_file(conn: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind ``conn``, or None for an in-memory database."""
    row = conn.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    path = str(row[0]) if row and row[0] else ""
    return Path(path) if path and os.path.isfile(path) else None
