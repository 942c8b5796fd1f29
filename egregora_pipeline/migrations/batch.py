"""Batch mode: change a table DuckDB will not ALTER in place, inside the step's transaction.

Alembic has a batch mode for SQLite, whose ALTER TABLE is too weak; DuckDB 2.0
has the same problem in another shape (see :mod:`.dependents`): an index on a
table, or another table's FOREIGN KEY pointing at it, makes every
``ALTER COLUMN`` fail, and a CHECK makes ``SET DATA TYPE`` on its columns fail.
Upstream Egregora left exactly such warehouses behind.

:func:`plan_batches` looks at a list of operations and, for each table whose
changes would be refused, replaces them by one :class:`BatchTable`. Running
that operation, in the transaction of the step it belongs to:

1. counts the table's rows;
2. copies every referencing table (FOREIGN KEYs, transitively) into a scratch
   table, then drops it (children first) -- DuckDB cannot drop a referenced
   table, nor alter one;
3. drops the table's indexes (their ``CREATE INDEX`` is kept from the catalog);
4. when a CHECK is in the way (it must be widened, or a column it names must
   have NULLs filled), rebuilds the table from its stored ``CREATE TABLE``
   (with the widened CHECK), copying every row, filling NULLs in the copy;
5. runs the original operations, now in place;
6. recreates the indexes and the referencing tables from their stored
   definitions, restores their rows and drops the scratch copies;
7. counts again: every restored table and the table itself must hold exactly
   the rows they had, otherwise the step fails and rolls back.

A crash at any point loses the uncommitted transaction, so the warehouse stays
at the revision boundary before the step. Tables DuckDB lets us alter keep the
in-place fast path: nothing here runs for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from egregora_pipeline.backends import impl_for
from egregora_pipeline.backends.dependents_base import CheckDef, Dependents
from egregora_pipeline.backends.migration_base import Connection
from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.errors import BatchVerificationError
from egregora_pipeline.migrations.ops import (
    AddColumn,
    AlterColumnType,
    CreateTable,
    DropColumn,
    FillNulls,
    Operation,
    RebuildTable,
    RenameColumn,
    Risk,
    SetNullable,
)
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.sql import quote_ident, quote_literal

q = quote_ident

SAVED_PREFIX: Final = "__batch_saved_"
NEW_PREFIX: Final = "__batch_new_"
WIDENED_TABLE: Final = "egregora_widened_checks"
"""Bookkeeping of every CHECK adoption widened: the old definition, to restore it."""

WIDENED_CREATE_SQL: Final = f"""CREATE TABLE IF NOT EXISTS {q(WIDENED_TABLE)} (
    "table_name" VARCHAR NOT NULL,
    "old_check" VARCHAR NOT NULL,
    "new_check" VARCHAR NOT NULL,
    "reason" VARCHAR NOT NULL,
    "widened_at" TIMESTAMP WITH TIME ZONE NOT NULL
)"""

StepKind = Literal["count_before", "save", "copy", "restore", "count_after", "run"]


@dataclass(frozen=True)
class Widening:
    """A CHECK that contradicts the declared rules, and the weaker CHECK that replaces it."""

    old: CheckDef
    new_expression: str
    reason: str

    @property
    def table(self) -> str:
        return self.old.table

    @property
    def new_text(self) -> str:
        return f"CHECK({self.new_expression})"


@dataclass(frozen=True)
class BatchStep:
    sql: str
    kind: StepKind = "run"
    table: str = ""


def _body(sql: str, table: str) -> str:
    """The ``(columns, constraints)`` part of a stored ``CREATE TABLE``."""
    for spelled in (q(table), table):
        prefix = f"CREATE TABLE {spelled}("
        if sql.startswith(prefix):
            return sql[len(prefix) - 1 :]
    raise ValueError(f"cannot read the stored definition of {table!r}: {sql[:80]!r}")


@dataclass(frozen=True)
class BatchTable(Operation):
    """Operations on ``table`` run through the batch path (see the module docstring)."""

    table: str
    ops: tuple[Operation, ...]
    deps: Dependents
    columns: tuple[str, ...]
    """The table's columns when the batch starts (the rebuild copies these)."""
    widenings: tuple[Widening, ...] = ()
    fills: tuple[tuple[str, str], ...] = ()
    """``(column, expression)``: NULLs filled in the rebuild's copy instead of ``SET DATA
    TYPE ... USING COALESCE`` (refused on a column a CHECK names)."""
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rebuilds_table(self) -> bool:
        return bool(self.widenings or self.fills)

    @property
    def handles_indexes(self) -> bool:
        """False around ``op.rebuild_table``: as documented for it, the table's indexes go
        with the old table and the revision recreates them (``op.create_index``)."""
        return not any(isinstance(op, RebuildTable) for op in self.ops)

    def describe(self) -> str:
        """One sentence for the plan and the asset metadata: what is rebuilt, and why."""
        saved = ", ".join(c.name for c in self.deps.children)
        what = (
            f"rebuild {self.table} in batch mode"
            if self.rebuilds_table
            else (f"alter {self.table} in batch mode")
        )
        extra = f"; {saved} saved, dropped, recreated with every row" if saved else ""
        return f"{what} ({'; '.join(self.reasons)}){extra}; row counts verified before COMMIT"

    def steps(self) -> list[BatchStep]:
        t = q(self.table)
        deps = self.deps
        out = [BatchStep(f"SELECT count(*) FROM {t}", "count_before", self.table)]
        for child in deps.children:
            saved = q(SAVED_PREFIX + child.name)
            out.append(
                BatchStep(
                    f"CREATE TABLE {saved} AS SELECT * FROM {q(child.name)}", "save", child.name
                )
            )
        out.extend(BatchStep(f"DROP TABLE {q(c.name)}") for c in reversed(deps.children))
        own_indexes = deps.indexes if self.handles_indexes else ()
        out.extend(BatchStep(f"DROP INDEX {q(i.name)}") for i in own_indexes)
        if self.rebuilds_table:
            out.extend(self._rebuild())
        filled = {name for name, _ in self.fills}
        for op in self.ops:
            if isinstance(op, FillNulls) and op.name in filled:
                continue
            out.extend(BatchStep(s) for s in op.render())
        out.extend(BatchStep(i.sql) for i in own_indexes)
        for child in deps.children:
            saved = q(SAVED_PREFIX + child.name)
            out.append(BatchStep(child.sql))
            out.append(
                BatchStep(
                    f"INSERT INTO {q(child.name)} SELECT * FROM {saved}", "restore", child.name
                )
            )
            out.append(BatchStep(f"DROP TABLE {saved}"))
            out.extend(BatchStep(i.sql) for i in child.indexes)
        out.append(BatchStep(f"SELECT count(*) FROM {t}", "count_after", self.table))
        return out

    def _rebuild(self) -> list[BatchStep]:
        body = _body(self.deps.sql, self.table)
        for widening in self.widenings:
            if body.count(widening.old.text) != 1:
                raise ValueError(
                    f"CHECK {widening.old.text} of {self.table} not found once in its definition"
                )
            body = body.replace(widening.old.text, widening.new_text)
        scratch = q(NEW_PREFIX + self.table)
        fills = dict(self.fills)
        values = ", ".join(
            f"COALESCE({q(c)}, {fills[c]})" if c in fills else q(c) for c in self.columns
        )
        names = ", ".join(q(c) for c in self.columns)
        steps = [
            BatchStep(f"CREATE TABLE {scratch}{body}"),
            BatchStep(
                f"INSERT INTO {scratch} ({names}) SELECT {values} FROM {q(self.table)}",
                "copy",
                self.table,
            ),
            BatchStep(f"DROP TABLE {q(self.table)}"),
            BatchStep(f"ALTER TABLE {scratch} RENAME TO {q(self.table)}"),
        ]
        if self.widenings:
            steps.append(BatchStep(WIDENED_CREATE_SQL))
            for w in self.widenings:
                steps.append(
                    BatchStep(
                        f"INSERT INTO {q(WIDENED_TABLE)} VALUES ({quote_literal(self.table)}, "
                        f"{quote_literal(w.old.text)}, {quote_literal(w.new_text)}, "
                        f"{quote_literal(w.reason)}, now())"
                    )
                )
        return steps

    def render(self) -> list[str]:
        return [s.sql for s in self.steps()]

    def risk(self, probe: Probe) -> Risk | None:
        for op in self.ops:
            risk = op.risk(probe)
            if risk is not None:
                return risk
        return None

    def python(self) -> str:
        """A batch rebuild is derived by the engine from the live catalog each time it
        runs; it has no form in a revision file (a revision names the change, e.g.
        ``op.set_not_null``, and the engine decides to batch it)."""
        raise TypeError(
            "a batch rebuild is planned by the engine; it is never written into a revision file"
        )


def execute_batch(
    run: Callable[[str], Any],
    op: BatchTable,
    conn: Connection,
    *,
    dry_run: bool,
) -> None:
    """Run ``op``'s steps through ``run``, verifying every row count before the COMMIT.

    The dependents and columns are read again from ``conn``'s catalog first: an
    earlier statement of the same step may have changed them since the plan."""
    op = replace(
        op,
        deps=impl_for(conn).dependents(conn, op.table),
        columns=tuple(catalog.columns(conn, op.table)),
    )
    counts: dict[tuple[str, str], int] = {}
    for step in op.steps():
        cursor = run(step.sql)
        if step.kind == "run":
            continue
        row = cursor.fetchone()
        counts[(step.kind, step.table)] = int(row[0]) if row and row[0] is not None else 0
        if dry_run:
            continue
        if step.kind == "restore":
            saved = counts[("save", step.table)]
            if counts[(step.kind, step.table)] != saved:
                raise BatchVerificationError(
                    op.table,
                    f"{step.table}: restored {counts[(step.kind, step.table)]} of {saved} rows",
                )
        elif step.kind in ("copy", "count_after"):
            before = counts[("count_before", op.table)]
            if counts[(step.kind, step.table)] != before:
                raise BatchVerificationError(
                    op.table,
                    f"{op.table}: {counts[(step.kind, step.table)]} rows after, {before} before",
                )


_ALTERING: Final = (SetNullable, AlterColumnType, FillNulls, DropColumn, RenameColumn)


def _altered_table(op: Operation) -> str | None:
    """The table an operation ALTERs (or drops and recreates, as ``op.rebuild_table`` does)
    in a way DuckDB refuses when dependents exist."""
    if isinstance(op, (*_ALTERING, RebuildTable)):
        return op.table
    if isinstance(op, AddColumn):
        c = op.column
        if not c.nullable or (c.default is not None and not op.keep_default) or op.backfill:
            return op.table
    return None


def _runs(probe: Probe, ops: Sequence[Operation]) -> list[tuple[str, list[int]]]:
    """Consecutive operations on one table that include an ALTER DuckDB may refuse.

    Only consecutive ones are grouped (an ``ADD COLUMN`` of the same table does not
    break a run), so no operation moves past another one it might depend on.
    """
    created = {op.table for op in ops if isinstance(op, CreateTable)}
    live = catalog.table_names(probe.catalog)
    runs: list[tuple[str, list[int]]] = []
    current: tuple[str, list[int]] | None = None
    for position, op in enumerate(ops):
        table = _altered_table(op)
        if table is not None and (table not in live or table in created):
            table = None
        if table is not None:
            if current is not None and current[0] == table:
                current[1].append(position)
            else:
                current = (table, [position])
                runs.append(current)
        elif current is not None and isinstance(op, AddColumn) and op.table == current[0]:
            current[1].append(position)
        else:
            current = None
    return runs


def _batch(
    probe: Probe, table: str, mine: Sequence[Operation], widenings: Sequence[Widening]
) -> BatchTable | None:
    deps = impl_for(probe.catalog).dependents(probe.catalog, table)
    if any(isinstance(op, RebuildTable) for op in mine):
        # DuckDB drops a table with its indexes; only referencing tables stop the rebuild
        deps = replace(deps, indexes=())
    check_columns = deps.check_columns()
    fills = tuple(
        (op.name, op.expression)
        for op in mine
        if isinstance(op, FillNulls) and op.name in check_columns
    )
    reasons = deps.reasons()
    if fills:
        names = ", ".join(name for name, _ in fills)
        reasons.append(f"NULLs of {names} filled while copying (named in a CHECK)")
    if widenings:
        reasons.append(f"{len(widenings)} CHECK(s) widened to the declared rules")
    if not (deps.blocks_alter or fills or widenings):
        return None
    if fills or widenings:  # the table is copied anyway: fill every NULL in that one copy
        fills = tuple((op.name, op.expression) for op in mine if isinstance(op, FillNulls))
    return BatchTable(
        table=table,
        ops=tuple(mine),
        deps=deps,
        columns=tuple(catalog.columns(probe.catalog, table)),
        widenings=tuple(widenings),
        fills=fills,
        reasons=tuple(reasons),
    )


def plan_batches(
    probe: Probe, ops: Sequence[Operation], widenings: Sequence[Widening] = ()
) -> tuple[list[Operation], list[str]]:
    """``ops`` with the changes DuckDB would refuse wrapped in :class:`BatchTable`, and why.

    Tables created by ``ops`` themselves, and tables with no index, no referencing
    FOREIGN KEY and no CHECK in the way, keep their operations as they are (the
    in-place fast path). A table whose only change is a widened CHECK gets a batch
    of its own, first.
    """
    pending: dict[str, list[Widening]] = {}
    for widening in widenings:
        pending.setdefault(widening.table, []).append(widening)
    batches: dict[int, BatchTable] = {}
    swallowed: set[int] = set()
    for table, positions in _runs(probe, ops):
        batch = _batch(probe, table, [ops[i] for i in positions], pending.pop(table, []))
        if batch is not None:
            batches[positions[0]] = batch
            swallowed.update(positions)
    out: list[Operation] = []
    for table, table_widenings in pending.items():
        batch = _batch(probe, table, [], table_widenings)
        if batch is not None:
            out.append(batch)
    for position, op in enumerate(ops):
        if position in batches:
            out.append(batches[position])
        elif position not in swallowed:
            out.append(op)
    actions: list[str] = []
    for op in out:
        if isinstance(op, BatchTable):
            actions.append(op.describe())
            actions.extend(
                f"widen CHECK on {w.table}: {w.old.text} -> {w.new_text} ({w.reason}); the old "
                f"definition is kept in {WIDENED_TABLE}"
                for w in op.widenings
            )
    return out, actions


def needs_batch(probe: Probe, op: Operation) -> BatchTable | None:
    """``op`` wrapped in a batch when, right now, DuckDB would refuse it in place."""
    if _altered_table(op) is None:
        return None
    wrapped, _ = plan_batches(probe, [op])
    return wrapped[0] if isinstance(wrapped[0], BatchTable) else None
