"""How one step runs on a connection: its transaction, its recorded SQL, its operations.

Every step (a revision, its revert, adoption, reconcile, stamp) follows the same
discipline: ``BEGIN``; the step's body (which re-reads the bookkeeping inside the
transaction: another connection may have done the work); ``COMMIT``; ``CHECKPOINT``
(DuckDB has crashed replaying DDL from the WAL in several releases, so the WAL is
emptied after each step). A failure rolls the step back and names the statement; in
a dry run it is reported as what would fail. Kept apart from the steps themselves
and from the entry points in :mod:`.engine`: this is the one place that executes SQL
and knows the backend's transaction and batch rules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from egregora_pipeline.backends import connection_backend
from egregora_pipeline.backends.migration_base import Connection, MigrationImpl
from egregora_pipeline.migrations.batch import (
    BatchTable,
    execute_batch,
    needs_batch,
    plan_batches,
)
from egregora_pipeline.migrations.errors import (
    AdoptionError,
    BatchVerificationError,
    DestructiveOperationError,
    DryRunFailedError,
    MigrationError,
    ReconcileError,
)
from egregora_pipeline.migrations.ops import DataStep, Operation, RunPython
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.results import PlanStep, StepKind


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


def execute_op(runner: Runner, probe: Probe, op: Operation, *, recheck: bool = False) -> None:
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


def run_ops(
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
        execute_op(runner, probe, op, recheck=True)


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


def in_transaction(
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
