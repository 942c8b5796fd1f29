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

The backup itself is :func:`egregora_pipeline.backup.take_backup`, on the
connection the migration is about to use (it holds the writer's lock).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from egregora_pipeline.backup import BackupInfo, BackupPolicy, default_folder, prune, take_backup
from egregora_pipeline.connection import disk_full
from egregora_pipeline.errors import EgregoraError
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
) -> None:
    for rev in revisions:
        for op in rev.downgrade_ops() if downgrade else rev.upgrade_ops():
            try:
                refused = not allow_destructive and op.risk(probe) is not None
            except duckdb.Error:  # e.g. a table an earlier pending revision creates
                refused = False
            if refused:
                return  # the guard refuses here: nothing from this point on runs
            if rewrites_data(op):
                verb = "revert of" if downgrade else "revision"
                reasons.append(f"{verb} {rev.revision}: {_describe(op)}")


def assess(
    conn: duckdb.DuckDBPyConnection,
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
    _scan(
        pending,
        probe,
        downgrade=downgrade,
        allow_destructive=allow_destructive,
        reasons=result.reasons,
    )
    return result


def _has_tables(conn: duckdb.DuckDBPyConnection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchone()
    return bool(row and row[0])


def backup_if_risky(
    conn: duckdb.DuckDBPyConnection,
    database: Path | None,
    scripts: ScriptDirectory,
    target: str,
    *,
    downgrade: bool = False,
    allow_destructive: bool = False,
    policy: BackupPolicy | None = None,
) -> BackupInfo | None:
    """Take an automatic backup when the plan drops or rewrites data; None otherwise.

    ``database`` is the file ``conn`` has open read-write (None for an
    in-memory database, which has nothing to back up).
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
    folder = chosen.folder or default_folder(database)
    folder.mkdir(parents=True, exist_ok=True)
    info = take_backup(conn, database, to=folder, kind="automatic", reason=reason)
    prune(database, chosen.keep, folder)
    return info


def restore_command(info: BackupInfo, database: Path) -> str:
    """The one command that puts ``info`` back in place of ``database``."""
    return f"egregora-pipeline db restore {info.path} --database {database}"


@contextlib.contextmanager
def restore_hint(info: BackupInfo | None, database: Path | None) -> Iterator[None]:
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


def _add_hint(error: EgregoraError, info: BackupInfo | None, database: Path | None) -> None:
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
