"""Run revisions, adoption and reconcile on a connection, one transaction per step.

Every step follows the same discipline: ``BEGIN``; re-read the bookkeeping
inside the transaction (another connection may have done the work); run the
step's SQL; write its bookkeeping row; ``COMMIT``; ``CHECKPOINT`` (DuckDB has
crashed replaying DDL from the WAL in several releases, so the WAL is emptied
after each step). A failure rolls the step back and names the statement.

The same functions produce dry runs: they execute against an in-memory
*shadow* of the schema (see :mod:`.commands`) while a :class:`Probe` answers
data questions from the real file, so ``db plan`` prints exactly the SQL an
upgrade executes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from egregora_pipeline.backends import connection_backend, impl_for
from egregora_pipeline.backends.migration_base import Connection, MigrationImpl, using
from egregora_pipeline.migrations import bookkeeping, catalog
from egregora_pipeline.migrations.adoption import (
    ATOM_LEGACY,
    LEGACY_PREFIX,
    MEDIA_TABLE,
    FoldStep,
    Layout,
    detect_layout,
    has_separate_media,
    is_atom,
    plan_atom,
    plan_baseline,
    plan_fold,
)
from egregora_pipeline.migrations.batch import (
    BatchTable,
    execute_batch,
    needs_batch,
    plan_batches,
)
from egregora_pipeline.migrations.errors import (
    AdoptionError,
    BackendNotSupportedError,
    BatchVerificationError,
    DestructiveOperationError,
    DryRunFailedError,
    HistoryError,
    MigrationError,
    ReconcileError,
    RevisionFailedError,
)
from egregora_pipeline.migrations.ops import CreateTable, DataStep, Operation, RunPython
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.reconcile import (
    BACKFILLS,
    MIGRATION_CLOCK,
    declared_targets,
    plan_reconcile,
    verify_reconciled,
)
from egregora_pipeline.migrations.results import (
    AppliedRevision,
    HistoryEntry,
    PlanStep,
    StepKind,
    UpgradeResult,
)
from egregora_pipeline.migrations.script import Revision, ScriptDirectory
from egregora_pipeline.migrations.widening import plan_widenings
from egregora_pipeline.schema.declared import DECLARED_TABLES, DOCUMENTS_TABLE
from egregora_pipeline.sql import quote_ident, quote_literal

PORTABLE_LAYOUTS: frozenset[str] = frozenset({"empty", "partial_unified", "unversioned_current"})
"""Layouts a warehouse without bookkeeping can be adopted from on every backend; the
others only ever existed in DuckDB files (docs/backends.md)."""


class Runner:
    """Executes SQL on one connection and records every statement, per step.

    ``nested``: the whole run is inside an outer transaction the caller rolls back (a
    PostgreSQL dry run), so each step's transaction is a savepoint; the plan still
    shows ``BEGIN TRANSACTION`` / ``COMMIT``, what a real run executes.
    """

    def __init__(self, conn: Connection, *, nested: bool = False) -> None:
        self.conn = conn
        self.backend = connection_backend(conn)
        self.impl: MigrationImpl = self.backend.migration_impl()
        self.batches = self.backend.refusal("batch_mode") is None
        """Rebuild a table by copy where an ALTER cannot run (DuckDB); else alter in place."""
        self.widens = self.backend.refusal("check_widening") is None
        self.nested = nested
        self.statements: list[str] = []
        self.steps: list[PlanStep] = []
        self.last = ""

    def start(self, kind: StepKind, revision_id: str | None, description: str) -> PlanStep:
        step = PlanStep(kind, revision_id, description)
        self.steps.append(step)
        return step

    def run(
        self, sql: str, params: Sequence[object] | None = None, shown: str | None = None
    ) -> Any:
        self.last = shown or sql
        cursor = self.impl.execute(self.conn, sql, params)
        self.statements.append(self.last)
        if self.steps:
            self.steps[-1].statements.append(self.last)
        return cursor

    def comment(self, text: str) -> None:
        if self.steps:
            self.steps[-1].statements.append(f"-- {text}")

    def begin(self) -> None:
        if self.nested:
            self.run("SAVEPOINT egregora_step", shown="BEGIN TRANSACTION")
        else:
            self.run("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.run("RELEASE SAVEPOINT egregora_step" if self.nested else "COMMIT", shown="COMMIT")

    def rollback(self) -> None:
        # no transaction may be open (when BEGIN itself failed)
        with contextlib.suppress(*self.impl.errors):
            if self.nested:
                self.impl.execute(self.conn, "ROLLBACK TO SAVEPOINT egregora_step")
            else:
                self.impl.execute(self.conn, "ROLLBACK")

    def checkpoint(self, warnings: list[str]) -> None:
        statement = self.impl.checkpoint_statement()
        if statement is None:
            return
        try:
            self.run(statement)
        except self.impl.errors as error:
            warnings.append(f"CHECKPOINT postponed (another transaction is open): {error}")


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


def _execute_op(runner: Runner, probe: Probe, op: Operation, *, recheck: bool = False) -> None:
    """Run one operation; a :class:`BatchTable` verifies its row counts as it goes.

    ``recheck`` looks at the catalog again right before an ALTER: a revision's raw
    SQL (``op.execute``) may have created an index since the step was planned.
    Generated plans (adoption, reconcile) run exactly what they planned."""
    op = op.prepare(probe)
    if isinstance(op, RunPython):
        runner.comment(f"python: {op.description}")
        op.function(DataStep(runner, probe))
        return
    if recheck and not isinstance(op, BatchTable) and runner.batches:
        op = needs_batch(probe, op) or op
    if isinstance(op, BatchTable):
        runner.comment(op.describe())
        execute_batch(runner.run, op, probe.catalog, dry_run=probe.dry_run)
        return
    for statement in op.render():
        runner.run(statement)


def _run_ops(
    runner: Runner,
    probe: Probe,
    ops: Sequence[Operation],
    *,
    revision: str | None,
    allow_destructive: bool,
    warnings: list[str],
) -> None:
    batched = plan_batches(probe, ops)[0] if runner.batches else list(ops)
    for op in batched:
        if not allow_destructive:
            risk = op.risk(probe)
            if risk is not None:
                if not probe.dry_run:
                    raise DestructiveOperationError(revision, risk.description, risk.values_lost)
                message = (
                    f"revision {revision}: {risk.description} would lose {risk.values_lost} "
                    "non-null value(s); upgrade refuses it without --allow-destructive"
                )
                warnings.append(message)
                runner.comment(f"DESTRUCTIVE: {message}")
        _execute_op(runner, probe, op, recheck=True)


def _dry_run_failure(runner: Runner, cause: str) -> DryRunFailedError:
    step = runner.steps[-1] if runner.steps else None
    label = (
        f"{step.kind}{' ' + step.revision_id if step.revision_id else ''} ({step.description})"
        if step
        else "the plan"
    )
    return DryRunFailedError(label, runner.last, cause)


def _cause(error: MigrationError) -> str:
    """The facts of an error raised inside a step, without what the real run would say."""
    for attribute in ("cause", "problem"):
        value = getattr(error, attribute, None)
        if isinstance(value, str):
            return value
    problems = getattr(error, "problems", None)
    if isinstance(problems, list):
        return "; ".join(str(p) for p in problems)
    return str(error)


def _in_transaction(
    runner: Runner,
    body: Callable[[], None],
    on_error: Callable[[Exception], MigrationError],
    warnings: list[str],
    *,
    dry_run: bool = False,
) -> None:
    """Run ``body`` in one transaction; a dry run reports what would fail, never a rollback.

    On PostgreSQL the step's DDL and its bookkeeping row commit together (transactional
    DDL); on DuckDB too, and the WAL is checkpointed after the commit."""
    runner.begin()
    try:
        body()
        runner.commit()
    except runner.impl.errors as error:
        runner.rollback()
        if dry_run:
            raise _dry_run_failure(runner, str(error)) from error
        raise on_error(error) from error  # type: ignore[arg-type]
    except (AdoptionError, ReconcileError, BatchVerificationError) as error:
        runner.rollback()
        if dry_run:
            raise _dry_run_failure(runner, _cause(error)) from error
        raise
    except BaseException:
        runner.rollback()
        raise
    runner.checkpoint(warnings)


def _applied_ids(conn: Connection) -> set[str]:
    return {r.revision_id for r in bookkeeping.read(conn)}


def _adopt(
    runner: Runner,
    probe: Probe,
    rev: Revision,
    layout: Layout,
    result: UpgradeResult,
    *,
    strict: bool,
) -> str:
    ops = rev.upgrade_ops()
    atom = is_atom(catalog.all_columns(probe.catalog))
    atom_rows = 0
    if atom:  # counted under its old name: a dry run reads the rows from the unrenamed file
        atom_rows = probe.count(f"SELECT count(*) FROM {quote_ident(DOCUMENTS_TABLE)}")
        runner.run(
            f"ALTER TABLE {quote_ident(DOCUMENTS_TABLE)} RENAME TO {quote_ident(ATOM_LEGACY)}"
        )
    baseline = plan_baseline(probe, ops)
    # PostgreSQL alters any table in place: no batch, and no CHECK is widened
    widenings = plan_widenings(probe, list(DECLARED_TABLES), strict=strict) if runner.widens else []
    batched, batch_actions = (
        plan_batches(probe, baseline.ops, widenings) if runner.batches else (list(baseline.ops), [])
    )
    for op in batched:
        _execute_op(runner, probe, op)
    for op in ops:
        if not isinstance(op, CreateTable):
            for statement in op.prepare(probe).render():
                runner.run(statement)
    problems = verify_reconciled(probe, baseline)
    if problems:
        raise ReconcileError(problems)
    result.reconcile_actions.extend(f"adopt: {a}" for a in baseline.actions)
    result.reconcile_actions.extend(f"adopt: {a}" for a in batch_actions)
    notes = [f"adopted layout {layout}"]
    notes.extend(
        f"widened {w.old.text} on {w.table} (old definition in egregora_widened_checks)"
        for w in widenings
    )
    if baseline.actions:
        notes.append(f"{len(baseline.actions)} baseline repair(s)")
    folded: list[str] = []
    folds: list[tuple[FoldStep, str]] = []
    if layout == "legacy_v2":
        folds = [(f, LEGACY_PREFIX) for f in plan_fold(probe)]
    elif atom:
        _fold_atom(runner, probe, layout, result, atom_rows)
        folded.append(f"{ATOM_LEGACY} (documents converted from the Atom layout)")
    live = catalog.all_columns(probe.catalog)
    if layout != "legacy_v2" and has_separate_media(live):
        folds = [
            (f, "legacy_")
            for f in plan_fold(probe, {MEDIA_TABLE: "media"}, "legacy_", skip_existing=True)
        ]
    for fold, prefix in folds:
        folded.append(_run_fold(runner, probe, layout, fold, prefix, result))
    if folded:
        notes.append(
            f"rows folded into documents: {', '.join(folded)} (originals kept as legacy_*)"
        )
    return "; ".join(notes)


def _fold_atom(
    runner: Runner, probe: Probe, layout: Layout, result: UpgradeResult, rows: int
) -> None:
    """Copy the renamed Atom table (``rows`` rows) into the new declared ``documents``."""
    insert = plan_atom(probe, BACKFILLS[(DOCUMENTS_TABLE, "created_at")].sql(frozenset())[0])
    try:
        inserted_row = runner.run(insert).fetchone()
    except runner.impl.errors as error:
        raise AdoptionError(layout, ATOM_LEGACY, insert, str(error)) from error
    inserted = int(inserted_row[0]) if inserted_row else 0
    if not probe.dry_run and inserted != rows:
        raise AdoptionError(layout, ATOM_LEGACY, insert, f"copied {inserted} of {rows} rows")
    result.reconcile_actions.append(
        f"adopt: renamed the Atom documents table to {ATOM_LEGACY} and copied its {rows} "
        "row(s) into the declared documents (authors JSON -> names as VARCHAR[], categories "
        "-> tags, updated -> created_at, Atom-only columns kept in extensions.atom)"
    )


def _run_fold(
    runner: Runner,
    probe: Probe,
    layout: Layout,
    fold: FoldStep,
    prefix: str,
    result: UpgradeResult,
) -> str:
    table = quote_ident(fold.table)
    rows = probe.count(f"SELECT count(*) FROM {table}")
    already = 0
    insert, rename = fold.statements
    if " AS src WHERE NOT EXISTS " in insert:
        same_id = f"d.{quote_ident('id')} = src.{quote_ident('id')}"
        already = probe.count(
            f"SELECT count(*) FROM {table} AS src WHERE EXISTS (SELECT 1 FROM "
            f"{quote_ident(DOCUMENTS_TABLE)} d WHERE {same_id})"
        )
    try:
        inserted_row = runner.run(insert).fetchone()
    except runner.impl.errors as error:
        raise AdoptionError(layout, fold.table, insert, str(error)) from error
    inserted = int(inserted_row[0]) if inserted_row else 0
    if not probe.dry_run and inserted != rows - already:
        raise AdoptionError(
            layout, fold.table, insert, f"copied {inserted} of {rows - already} rows"
        )
    runner.run(rename)
    kept = f"; extra columns kept in extensions: {', '.join(fold.extras)}" if fold.extras else ""
    skipped = (
        f"; {already} row(s) whose id documents already held left out (kept in "
        f"{prefix}{fold.table})"
        if already
        else ""
    )
    result.reconcile_actions.append(
        f"adopt: copied {inserted} row(s) of {fold.table} into documents as "
        f"doc_type={fold.doc_type!r}, renamed {fold.table} to {prefix}{fold.table}{kept}{skipped}"
    )
    return f"{fold.table} {inserted}"


def _apply_revision(
    runner: Runner,
    probe: Probe,
    rev: Revision,
    layout: Layout | None,
    allow_destructive: bool,
    result: UpgradeResult,
    strict: bool = False,
) -> None:
    conn = runner.conn
    adopting = layout is not None and layout != "empty"
    kind: StepKind = "adopt" if adopting else "revision"
    description = rev.message + (f" (adopting the {layout} layout)" if adopting else "")
    runner.start(kind, rev.revision, description)
    started = time.perf_counter()
    skipped = False

    def body() -> None:
        nonlocal skipped
        if rev.revision in _applied_ids(conn):
            skipped = True
            return
        runner.run(bookkeeping.CREATE_SQL)
        note = None
        if adopting and layout is not None:
            note = _adopt(runner, probe, rev, layout, result, strict=strict)
        else:
            _run_ops(
                runner,
                probe,
                rev.upgrade_ops(),
                revision=rev.revision,
                allow_destructive=allow_destructive,
                warnings=result.warnings,
            )
        duration_ms = int((time.perf_counter() - started) * 1000)
        sql, params, shown = bookkeeping.insert_sql(
            rev.revision,
            rev.down_revision,
            rev.message,
            rev.checksum,
            duration_ms,
            bookkeeping.applied_by(),
            note,
        )
        runner.run(sql, params, shown)

    def failed(error: Exception) -> MigrationError:
        return RevisionFailedError(rev.revision, rev.path, runner.last, str(error))

    _in_transaction(runner, body, failed, result.warnings, dry_run=probe.dry_run)
    if skipped:
        runner.comment("already applied by another connection; nothing done")
        return
    result.applied.append(AppliedRevision(rev.revision, rev.message, time.perf_counter() - started))
    result.to_revision = rev.revision


def _reconcile(runner: Runner, probe: Probe, result: UpgradeResult) -> None:
    """Bring the declared tables to their declared columns (batch mode where needed).

    CHECKs are widened by adoption only: one a user restored afterwards (see
    docs/migrations.md) is their choice and stays."""
    plan = plan_reconcile(probe, declared_targets())
    result.warnings.extend(w for w in plan.unresolved if w not in result.warnings)
    if plan.is_empty:
        return
    batched, batch_actions = (
        plan_batches(probe, plan.ops) if runner.batches else (list(plan.ops), [])
    )
    runner.start("reconcile", None, "add missing declared columns in place")

    def body() -> None:
        for op in batched:
            _execute_op(runner, probe, op)
        problems = verify_reconciled(probe, plan)
        if problems:
            raise ReconcileError(problems)

    def failed(error: Exception) -> MigrationError:
        return ReconcileError([f"{runner.last}: {error}"])

    _in_transaction(runner, body, failed, result.warnings, dry_run=probe.dry_run)
    result.reconcile_actions.extend(plan.actions)
    result.reconcile_actions.extend(batch_actions)


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
        _apply_revision(
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
        _reconcile(runner, probe, result)
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
        runner.start("downgrade", rev.revision, f"revert: {rev.message}")
        step_started = time.perf_counter()
        skipped = False

        def body(rev: Revision = rev) -> None:
            nonlocal skipped
            if rev.revision not in _applied_ids(conn):
                skipped = True
                return
            _run_ops(
                runner,
                probe,
                rev.downgrade_ops(),
                revision=rev.revision,
                allow_destructive=allow_destructive,
                warnings=result.warnings,
            )
            sql, params, shown = bookkeeping.delete_sql(rev.revision)
            runner.run(sql, params, shown)

        def failed(error: Exception, rev: Revision = rev) -> MigrationError:
            return RevisionFailedError(rev.revision, rev.path, runner.last, str(error))

        _in_transaction(runner, body, failed, result.warnings, dry_run=probe.dry_run)
        if skipped:
            continue
        result.applied.append(
            AppliedRevision(rev.revision, rev.message, time.perf_counter() - step_started)
        )
        result.to_revision = rev.down_revision
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

    _in_transaction(runner, body, failed, result.warnings)
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
