"""The steps an upgrade or a downgrade is made of: apply a revision, revert one, reconcile.

Each step is one transaction (:func:`.runner.in_transaction`) that changes the schema
and its bookkeeping row together; a step re-reads the bookkeeping inside its
transaction and does nothing when another connection has already done it. Which
steps run, in which order, is decided by :mod:`.engine`; how a step's SQL runs is
:mod:`.runner`'s; adopting a legacy layout as the base revision's step is
:mod:`.adopt_step`'s.
"""

from __future__ import annotations

import time

from egregora_pipeline.backends.migration_base import Connection
from egregora_pipeline.migrations import bookkeeping
from egregora_pipeline.migrations.adopt_step import adopt
from egregora_pipeline.migrations.adoption import Layout
from egregora_pipeline.migrations.batch import plan_batches
from egregora_pipeline.migrations.errors import (
    MigrationError,
    ReconcileError,
    RevisionFailedError,
)
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.reconcile import (
    declared_targets,
    plan_reconcile,
    verify_reconciled,
)
from egregora_pipeline.migrations.results import AppliedRevision, StepKind, UpgradeResult
from egregora_pipeline.migrations.runner import Runner, execute_op, in_transaction, run_ops
from egregora_pipeline.migrations.script import Revision


def _applied_ids(conn: Connection) -> set[str]:
    return {r.revision_id for r in bookkeeping.read(conn)}


def apply_revision(
    runner: Runner,
    probe: Probe,
    rev: Revision,
    layout: Layout | None,
    allow_destructive: bool,
    result: UpgradeResult,
    strict: bool = False,
) -> None:
    """Run ``rev``'s upgrade (or adopt ``layout`` with it) and write its bookkeeping row."""
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
            note = adopt(runner, probe, rev, layout, result, strict=strict)
        else:
            run_ops(
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

    in_transaction(runner, body, failed, result.warnings, dry_run=probe.dry_run)
    if skipped:
        runner.comment("already applied by another connection; nothing done")
        return
    result.applied.append(AppliedRevision(rev.revision, rev.message, time.perf_counter() - started))
    result.to_revision = rev.revision


def revert_revision(
    runner: Runner,
    probe: Probe,
    rev: Revision,
    allow_destructive: bool,
    result: UpgradeResult,
) -> None:
    """Run ``rev``'s downgrade and delete its bookkeeping row, in one transaction."""
    conn = runner.conn
    runner.start("downgrade", rev.revision, f"revert: {rev.message}")
    started = time.perf_counter()
    skipped = False

    def body() -> None:
        nonlocal skipped
        if rev.revision not in _applied_ids(conn):
            skipped = True
            return
        run_ops(
            runner,
            probe,
            rev.downgrade_ops(),
            revision=rev.revision,
            allow_destructive=allow_destructive,
            warnings=result.warnings,
        )
        sql, params, shown = bookkeeping.delete_sql(rev.revision)
        runner.run(sql, params, shown)

    def failed(error: Exception) -> MigrationError:
        return RevisionFailedError(rev.revision, rev.path, runner.last, str(error))

    in_transaction(runner, body, failed, result.warnings, dry_run=probe.dry_run)
    if skipped:
        return
    result.applied.append(AppliedRevision(rev.revision, rev.message, time.perf_counter() - started))
    result.to_revision = rev.down_revision


def reconcile_step(runner: Runner, probe: Probe, result: UpgradeResult) -> None:
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
            execute_op(runner, probe, op)
        problems = verify_reconciled(probe, plan)
        if problems:
            raise ReconcileError(problems)

    def failed(error: Exception) -> MigrationError:
        return ReconcileError([f"{runner.last}: {error}"])

    in_transaction(runner, body, failed, result.warnings, dry_run=probe.dry_run)
    result.reconcile_actions.extend(plan.actions)
    result.reconcile_actions.extend(batch_actions)
