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

The backup itself is the warehouse backend's
(:meth:`~egregora_pipeline.backends.backup_base.BackupStore.take_for_migration`): a file
copy on DuckDB, on the connection the migration is about to use (it holds the
writer's lock), a ``pg_dump`` on PostgreSQL, while the migration's session holds the
migrators' advisory lock. The same policy (``--no-backup``, ``EGREGORA_BACKUP``,
``EGREGORA_BACKUP_KEEP``) decides both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egregora_pipeline.backends import (
    WarehouseTarget,
    backend_of,
    impl_for,
    parse_warehouse,
    redact,
)
from egregora_pipeline.backends.backup_base import BackupInfo, BackupPolicy
from egregora_pipeline.backends.migration_base import MigrationImpl, using
from egregora_pipeline.errors import EgregoraError, WarehouseError
from egregora_pipeline.migrations import bookkeeping
from egregora_pipeline.migrations.adoption import detect_layout
from egregora_pipeline.migrations.errors import MigrationError
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
    errors: tuple[type[BaseException], ...],
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
    with using(impl_for(conn)) as impl:  # risks and reasons are rendered in the warehouse's dialect
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
    database: WarehouseTarget | None,
    scripts: ScriptDirectory,
    target: str,
    *,
    downgrade: bool = False,
    allow_destructive: bool = False,
    policy: BackupPolicy | None = None,
) -> BackupInfo | None:
    """Take an automatic backup when the plan drops or rewrites data; None otherwise.

    ``database`` is the warehouse ``conn`` has open read-write, holding the migrators'
    lock (None for an in-memory database, which has nothing to back up).
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
    store = backend_of(database).backups()
    folder = chosen.folder or store.default_folder(database)
    folder.mkdir(parents=True, exist_ok=True)
    info = store.take_for_migration(conn, database, folder=folder, reason=reason)
    store.prune(database, chosen.keep, folder)
    return info


def restore_command(info: BackupInfo, database: Path | str | WarehouseTarget) -> str:
    """The one command that puts ``info`` back in place of ``database`` (no password in it)."""
    try:  # a URL without its password: libpq finds it again
        where = parse_warehouse(database).display
    except WarehouseError:
        where = redact(str(database))
    return f"egregora-pipeline db restore {info.path} --database {where}"


@contextlib.contextmanager
def restore_hint(
    info: BackupInfo | None, database: WarehouseTarget | None, impl: MigrationImpl
) -> Iterator[None]:
    """Add to a failed migration's message how to get back to the automatic backup.

    The exception keeps its type (callers and tests match on it); its message
    gains one sentence and it carries the backup as ``error.backup``. A full
    disk (DuckDB fails a WAL or checkpoint write, sometimes as a FATAL error
    after the revision committed) becomes a :class:`DiskFullError` saying so.
    """
    failures: tuple[type[BaseException], ...] = (*impl.errors, OSError)
    try:
        yield
    except EgregoraError as error:
        _add_hint(error, info, database)
        raise
    except failures as error:
        full = impl.disk_full(error)
        if full is None:
            raise
        _add_hint(full, info, database)
        raise full from None


def _add_hint(
    error: EgregoraError, info: BackupInfo | None, database: WarehouseTarget | None
) -> None:
    if info is None or database is None:
        return
    hint = (
        f"The warehouse as it was before this migration was backed up to {info.path}; "
        f"to go back to it: `{restore_command(info, database)}`."
    )
    error.args = (f"{error} {hint}",)
    error.backup = info  # type: ignore[attr-defined]
