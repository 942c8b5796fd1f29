"""Upgrade, downgrade and stamp a warehouse on a connection; list its history.

The public entry points of the engine (:mod:`.commands` calls them with a connection
it opened): each verifies the bookkeeping, works out from it and the target which
revisions to apply or revert, runs them as steps (:mod:`.steps`, one transaction each,
executed by a :class:`.runner.Runner`) and gathers what happened in an
:class:`UpgradeResult`.

The same functions produce dry runs: they execute against an in-memory
*shadow* of the schema (see :mod:`.commands`) while a :class:`Probe` answers
data questions from the real file, so ``db plan`` prints exactly the SQL an
upgrade executes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from egregora_pipeline.backends import connection_backend, impl_for
from egregora_pipeline.backends.migration_base import Connection, using
from egregora_pipeline.migrations import bookkeeping
from egregora_pipeline.migrations.adoption import detect_layout
from egregora_pipeline.migrations.errors import (
    BackendNotSupportedError,
    HistoryError,
    MigrationError,
)
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.reconcile import MIGRATION_CLOCK
from egregora_pipeline.migrations.results import HistoryEntry, UpgradeResult
from egregora_pipeline.migrations.runner import Runner, in_transaction
from egregora_pipeline.migrations.script import ScriptDirectory
from egregora_pipeline.migrations.steps import apply_revision, reconcile_step, revert_revision
from egregora_pipeline.sql import quote_ident, quote_literal

PORTABLE_LAYOUTS: frozenset[str] = frozenset({"empty", "partial_unified", "unversioned_current"})
"""Layouts a warehouse without bookkeeping can be adopted from on every backend; the
others only ever existed in DuckDB files (docs/backends.md)."""


def database_label(conn: Connection) -> str:
    """The warehouse behind ``conn`` (for messages; a URL without its password)."""
    return impl_for(conn).database_label(conn)


def _verified(
    conn: Connection, scripts: ScriptDirectory, database: str
) -> bookkeeping.HistoryState:
    state = bookkeeping.verify(bookkeeping.read(conn), scripts)
    if state.problems:
        raise HistoryError(database, state.problems)
    return state


def run_upgrade(
    conn: Connection,
    probe: Probe,
    scripts: ScriptDirectory,
    target: str = "head",
    *,
    allow_destructive: bool = False,
    database: str | None = None,
    strict_adoption: bool = False,
) -> UpgradeResult:
    """Apply revisions up to ``target``; at head, also reconcile with the declared schema.

    ``strict_adoption`` refuses (instead of widening) a CHECK that contradicts the
    declared rules."""
    token = MIGRATION_CLOCK.set(datetime.now(UTC))
    try:
        with using(impl_for(conn)):
            return _run_upgrade(
                conn,
                probe,
                scripts,
                target,
                allow_destructive=allow_destructive,
                database=database,
                strict=strict_adoption,
            )
    finally:
        MIGRATION_CLOCK.reset(token)


def _run_upgrade(
    conn: Connection,
    probe: Probe,
    scripts: ScriptDirectory,
    target: str,
    *,
    allow_destructive: bool,
    database: str | None,
    strict: bool,
) -> UpgradeResult:
    started = time.perf_counter()
    database = database or database_label(probe.data)
    state = _verified(conn, scripts, database)
    here = scripts.position(state.current)
    goal = scripts.resolve(target, state.current)
    if goal < here:
        raise MigrationError(
            f"target {target!r} is behind the current revision {state.current}; "
            "use `egregora-pipeline db downgrade` to go back"
        )
    layout = detect_layout(probe) if not state.rows else None
    backend = connection_backend(conn)
    refused = backend.refusal("legacy_layouts")
    if layout is not None and refused is not None and layout not in PORTABLE_LAYOUTS:
        raise BackendNotSupportedError(backend.name, f"adopting the {layout} layout", refused)
    impl = backend.migration_impl()
    result = UpgradeResult(from_revision=state.current, to_revision=state.current)
    runner = Runner(conn, nested=probe.dry_run and impl.transactional_ddl)
    for rev in scripts.chain[here:goal]:
        apply_revision(
            runner,
            probe,
            rev,
            layout if rev is scripts.base else None,
            allow_destructive,
            result,
            strict,
        )
    if layout is not None and here == 0 and goal > 0:
        result.adopted_layout = layout
    if goal == len(scripts):
        reconcile_step(runner, probe, result)
    result.statements = runner.statements
    result.steps = runner.steps
    result.duration_seconds = time.perf_counter() - started
    return result


def run_downgrade(
    conn: Connection,
    probe: Probe,
    scripts: ScriptDirectory,
    target: str,
    *,
    allow_destructive: bool = False,
    database: str | None = None,
) -> UpgradeResult:
    """Revert revisions, newest first, down to ``target`` (an id, ``-N`` or ``base``)."""
    with using(impl_for(conn)):
        return _run_downgrade(
            conn,
            probe,
            scripts,
            target,
            allow_destructive=allow_destructive,
            database=database,
        )


def _run_downgrade(
    conn: Connection,
    probe: Probe,
    scripts: ScriptDirectory,
    target: str,
    *,
    allow_destructive: bool,
    database: str | None,
) -> UpgradeResult:
    started = time.perf_counter()
    database = database or database_label(probe.data)
    state = _verified(conn, scripts, database)
    here = scripts.position(state.current)
    goal = scripts.resolve(target, state.current)
    if goal > here:
        raise MigrationError(
            f"target {target!r} is ahead of the current revision {state.current or 'base'}; "
            "use `egregora-pipeline db upgrade`"
        )
    result = UpgradeResult(from_revision=state.current, to_revision=state.current)
    runner = Runner(conn, nested=probe.dry_run and impl_for(conn).transactional_ddl)
    for rev in reversed(scripts.chain[goal:here]):
        revert_revision(runner, probe, rev, allow_destructive, result)
    result.statements = runner.statements
    result.steps = runner.steps
    result.duration_seconds = time.perf_counter() - started
    return result


def run_stamp(conn: Connection, scripts: ScriptDirectory, target: str) -> UpgradeResult:
    """Record ``target`` (and its ancestors) as applied without running them.

    Also the repair tool for history problems: rows of revisions above the
    target or unknown to the files are deleted, and kept rows get the files'
    current checksums. It deliberately skips the checksum verification every
    other command does.
    """
    started = time.perf_counter()
    state = bookkeeping.verify(bookkeeping.read(conn), scripts)
    current = state.current if state.current in scripts else None
    goal = scripts.resolve(target, current)
    keep = scripts.chain[:goal]
    keep_ids = {r.revision for r in keep}
    result = UpgradeResult(
        from_revision=state.current, to_revision=keep[-1].revision if keep else None
    )
    runner = Runner(conn)
    runner.start("stamp", result.to_revision, f"record {result.to_revision or 'base'} as current")
    table = quote_ident(bookkeeping.TABLE)

    def body() -> None:
        runner.run(bookkeeping.CREATE_SQL)
        rows = {r.revision_id: r for r in bookkeeping.read(conn)}
        for rid in rows:
            if rid not in keep_ids:
                sql, params, shown = bookkeeping.delete_sql(rid)
                runner.run(sql, params, shown)
        for rev in keep:
            row = rows.get(rev.revision)
            if row is None:
                sql, params, shown = bookkeeping.insert_sql(
                    rev.revision,
                    rev.down_revision,
                    rev.message,
                    rev.checksum,
                    0,
                    bookkeeping.applied_by(),
                    "stamped (not run)",
                )
                runner.run(sql, params, shown)
            elif (row.checksum, row.parent_id) != (rev.checksum, rev.down_revision):
                runner.run(
                    f"UPDATE {table} SET checksum = ?, parent_id = ?, note = ? "
                    "WHERE revision_id = ?",
                    [rev.checksum, rev.down_revision, "re-stamped", rev.revision],
                    f"UPDATE {table} SET checksum = {quote_literal(rev.checksum)}, parent_id = "
                    f"{quote_literal(rev.down_revision) if rev.down_revision else 'NULL'}, "
                    f"note = 're-stamped' WHERE revision_id = {quote_literal(rev.revision)}",
                )

    def failed(error: Exception) -> MigrationError:
        return MigrationError(f"stamp failed and was rolled back: {runner.last}: {error}")

    in_transaction(runner, body, failed, result.warnings)
    result.statements = runner.statements
    result.steps = runner.steps
    result.duration_seconds = time.perf_counter() - started
    return result


def history_entries(
    conn: Connection | None, scripts: ScriptDirectory
) -> tuple[list[HistoryEntry], bookkeeping.HistoryState]:
    """Every revision file, oldest first, marked with its bookkeeping row if applied."""
    rows = bookkeeping.read(conn) if conn is not None else []
    state = bookkeeping.verify(rows, scripts)
    by_id = {r.revision_id: r for r in rows}
    entries: list[HistoryEntry] = []
    for rev in scripts:
        row = by_id.get(rev.revision)
        entries.append(
            HistoryEntry(
                revision_id=rev.revision,
                parent_id=rev.down_revision,
                message=rev.message,
                path=rev.path,
                applied=row is not None,
                applied_at=f"{row.applied_at:%Y-%m-%d %H:%M}" if row else None,
                applied_by=row.applied_by if row else None,
                note=row.note if row else None,
                is_head=rev.revision == scripts.head,
                is_current=rev.revision == state.current,
            )
        )
    for row in rows:
        if row.revision_id not in scripts:
            entries.append(
                HistoryEntry(
                    revision_id=row.revision_id,
                    parent_id=row.parent_id,
                    message=row.message,
                    path=Path("<no file>"),
                    applied=True,
                    applied_at=f"{row.applied_at:%Y-%m-%d %H:%M}",
                    applied_by=row.applied_by,
                    note=row.note,
                )
            )
    return entries, state
