"""Reconcile: bring declared tables to their declared columns, in place, idempotently.

After the revisions have run, reconcile compares each declared table with the
catalog and plans the smallest lossless repair:

* a missing table is created;
* a missing column is added with ``ALTER TABLE ... ADD COLUMN`` (never a
  rewrite); a NOT NULL column is first filled with its documented backfill
  (:data:`BACKFILLS`), then ``SET NOT NULL``;
* a nullable column declared NOT NULL becomes NOT NULL when it holds no NULLs,
  or when its NULLs have a documented backfill; a NOT NULL column declared
  nullable becomes nullable (losing nothing);
* ``messages`` whose columns are not in declared order (``ADD COLUMN`` appends) is
  rebuilt in declared order, rows and constraints kept (:mod:`.column_order`:
  upstream Egregora inserts into it by position);
* a type difference is never repaired here: changing a type can lose data, so
  it is reported (``db check``) and left to a revision
  (``db revision --autogenerate``).

Running it twice plans nothing the second time. The same function plans the
baseline adoption of partial legacy tables, with the baseline revision's frozen
columns as the target instead of the declared schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.catalog import LiveColumn
from egregora_pipeline.migrations.column_order import plan_column_order
from egregora_pipeline.migrations.ops import (
    AddColumn,
    Backfill,
    Column,
    CreateTable,
    FillNulls,
    Operation,
    SetNullable,
)
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.schema.declared import DECLARED_TABLES, DeclaredTable
from egregora_pipeline.schema.duckdb_types import duckdb_type
from egregora_pipeline.schema.types import same_type
from egregora_pipeline.settings import DEFAULT_TENANT
from egregora_pipeline.sql import quote_ident, quote_literal

MIGRATION_RUN_ID: Final = "egregora-migrate"
"""``created_by_run`` / ``run_id`` recorded for rows that predate run tracking."""


@dataclass(frozen=True)
class BackfillRule:
    """How existing rows get a value for a NOT NULL column they never had.

    ``constant`` is a SQL constant DuckDB fills in during ``ADD COLUMN ...
    DEFAULT`` (cheapest: no separate UPDATE); ``expression`` builds a per-row
    expression from the columns the row already has, or returns None when those
    columns are missing (then ``constant`` is used).
    """

    description: str
    constant: str | None = None
    expression: Callable[[frozenset[str]], str | None] | None = None

    def sql(self, present: frozenset[str]) -> tuple[str, bool]:
        """``(sql, is_constant)`` for rows that have the ``present`` columns."""
        if self.expression is not None:
            built = self.expression(present)
            if built is not None:
                return built, False
        if self.constant is None:
            raise ValueError(f"backfill {self.description!r} needs columns that are missing")
        return _resolve(self.constant), True

    def placeholder(self) -> str | None:
        """The constant as SQL, to fill existing rows before a per-row expression runs."""
        return _resolve(self.constant) if self.constant is not None else None


MIGRATION_TIME: Final = "<migration time>"
"""Placeholder constant: the UTC time the plan is made, as a TIMESTAMPTZ literal.

Not ``now()``: DuckDB 2.0 treats ``ADD COLUMN ... DEFAULT now()`` as an update and
then refuses ``SET NOT NULL`` on the column in the same transaction."""


MIGRATION_CLOCK: Final[ContextVar[datetime | None]] = ContextVar("migration_clock", default=None)
"""The one "time of the migration" of the current upgrade (set by the engine)."""


def _resolve(constant: str) -> str:
    if constant == MIGRATION_TIME:
        moment = MIGRATION_CLOCK.get() or datetime.now(UTC)
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"TIMESTAMPTZ '{stamp}+00'"
    return constant


_INFERRED_DOC_TYPES: Final = (
    ("subject_uuid", "profile"),
    ("window_start", "journal"),
    ("filename", "media"),
)


def _doc_type(present: frozenset[str]) -> str | None:
    branches = [
        f"WHEN {quote_ident(col)} IS NOT NULL THEN {quote_literal(kind)}"
        for col, kind in _INFERRED_DOC_TYPES
        if col in present
    ]
    if not branches:
        return None
    return f"CASE {' '.join(branches)} ELSE 'post' END"


BACKFILLS: Final[Mapping[tuple[str, str], BackfillRule]] = {
    ("documents", "created_at"): BackfillRule(
        "the time of the migration (the original insertion time is unknown)",
        MIGRATION_TIME,
    ),
    ("documents", "source_checksum"): BackfillRule(
        "'unknown' (not a hash: the source of rows that predate the column is unknown; "
        "re-ingesting the source replaces it with the real checksum)",
        "'unknown'",
    ),
    ("documents", "status"): BackfillRule(
        "'published': rows already in an Egregora warehouse were published by it", "'published'"
    ),
    ("documents", "doc_type"): BackfillRule(
        "inferred: 'profile' if subject_uuid is set, 'journal' if window_start is set, "
        "'media' if filename is set, otherwise 'post'",
        "'post'",
        _doc_type,
    ),
    ("messages", "tenant_id"): BackfillRule(
        f"the default tenant {DEFAULT_TENANT!r}", quote_literal(DEFAULT_TENANT)
    ),
    ("messages", "source"): BackfillRule("'unknown'", "'unknown'"),
    ("messages", "created_at"): BackfillRule("the time of the migration", MIGRATION_TIME),
    ("messages", "created_by_run"): BackfillRule(
        f"{MIGRATION_RUN_ID!r}", quote_literal(MIGRATION_RUN_ID)
    ),
    ("ingest_rejections", "run_id"): BackfillRule(
        f"{MIGRATION_RUN_ID!r}", quote_literal(MIGRATION_RUN_ID)
    ),
    ("ingest_rejections", "input_kind"): BackfillRule("'unknown'", "'unknown'"),
    ("ingest_rejections", "source_path"): BackfillRule("'unknown'", "'unknown'"),
    ("ingest_rejections", "reason"): BackfillRule("'unknown'", "'unknown'"),
    ("ingest_rejections", "rejected_at"): BackfillRule("the time of the migration", MIGRATION_TIME),
}
"""Documented backfills of NOT NULL columns for rows that predate them.

Columns without an entry (identities such as ``documents.id``,
``messages.event_id``, ``messages.ts``) have no honest default: when rows
exist they are added as nullable and ``db check`` keeps reporting them until a
revision fills them."""


@dataclass(frozen=True)
class RuleBackfill:
    """A value for a *nullable* column that a per-``doc_type`` rule requires.

    Adopted rows that never had the column would otherwise break the rule (and
    fail the data checks of every later ingestion run) for no fault of theirs.
    Applied with an UPDATE at the very end of reconcile, after every
    ``SET NOT NULL`` (DuckDB 2.0 refuses those after an UPDATE in the same
    transaction)."""

    description: str
    expression: str
    where: str
    needs: frozenset[str]


RULE_BACKFILLS: Final[Mapping[tuple[str, str], RuleBackfill]] = {
    ("documents", "slug"): RuleBackfill(
        "the row's id, for posts (a post needs a slug; ids are slugs or UUIDs)",
        quote_ident("id"),
        f"{quote_ident('slug')} IS NULL AND {quote_ident('doc_type')} = 'post'",
        frozenset({"id"}),
    ),
}
"""Documented values for rule-required nullable columns added to tables with rows."""


def declared_columns(table: DeclaredTable) -> tuple[Column, ...]:
    """The declared schema of ``table`` as frozen-style column definitions."""
    return tuple(Column(n, duckdb_type(t), bool(t.nullable)) for n, t in table.schema.items())


def declared_targets() -> dict[str, tuple[Column, ...]]:
    """Every declared table's columns: the target of the final reconcile."""
    return {name: declared_columns(t) for name, t in DECLARED_TABLES.items()}


@dataclass
class ReconcilePlan:
    """What reconcile would do: operations, one sentence each, and what it leaves."""

    ops: list[Operation] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    deferred: list[Operation] = field(default_factory=list)
    """Backfills of rule-required nullable columns: run after every other op."""
    unresolved: list[str] = field(default_factory=list)
    expected: dict[str, dict[str, bool]] = field(default_factory=dict)
    """table -> column -> expected nullability after the ops run (for verification)."""

    @property
    def is_empty(self) -> bool:
        return not self.ops


def plan_reconcile(probe: Probe, targets: Mapping[str, Sequence[Column]]) -> ReconcilePlan:
    """Plan the repair of every table in ``targets`` against the catalog of ``probe``."""
    plan = ReconcilePlan()
    live_tables = catalog.all_columns(probe.catalog)
    for table, columns in targets.items():
        live = live_tables.get(table)
        if live is None:
            plan.ops.append(CreateTable(table, tuple(columns)))
            plan.actions.append(f"create missing table {table} ({len(columns)} columns)")
            plan.expected[table] = {c.name: c.nullable for c in columns}
            continue
        _plan_table(plan, probe, table, columns, live)
    plan.ops.extend(plan.deferred)
    for table, columns in targets.items():
        live = live_tables.get(table)
        if live is None:
            continue  # created in declared order
        added = [
            op.column.name for op in plan.ops if isinstance(op, AddColumn) and op.table == table
        ]
        rebuild, action = plan_column_order(
            probe, table, list(live), added, [c.name for c in columns]
        )
        if rebuild is not None:
            plan.ops.append(rebuild)
            plan.actions.append(str(action))
        elif action is not None:
            plan.unresolved.append(action)
    return plan


def _plan_table(
    plan: ReconcilePlan,
    probe: Probe,
    table: str,
    columns: Sequence[Column],
    live: Mapping[str, LiveColumn],
) -> None:
    present = frozenset(live)
    expected = plan.expected.setdefault(table, {})
    rows: int | None = None

    def row_count() -> int:
        nonlocal rows
        if rows is None:
            rows = probe.count(f"SELECT count(*) FROM {quote_ident(table)}")
        return rows

    for col in columns:
        name = f"{table}.{col.name}"
        have = live.get(col.name)
        rule = BACKFILLS.get((table, col.name))
        if have is None:
            expected[col.name] = col.nullable
            if col.nullable:
                plan.ops.append(AddColumn(table, col))
                plan.actions.append(f"add column {name} {col.type}")
                fill = RULE_BACKFILLS.get((table, col.name))
                if fill is not None and fill.needs <= present and row_count() > 0:
                    plan.deferred.append(Backfill(table, col.name, fill.expression, fill.where))
                    plan.actions.append(f"set {name} of existing rows to {fill.description}")
            elif rule is not None:
                value, constant = rule.sql(present)
                placeholder = value if constant else rule.placeholder()
                with_default = Column(col.name, col.type, False, placeholder)
                backfill = None if constant else value
                plan.ops.append(
                    AddColumn(table, with_default, backfill=backfill, keep_default=False)
                )
                plan.actions.append(
                    f"add column {name} {col.type} NOT NULL, existing rows set to "
                    f"{rule.description}"
                )
            elif row_count() == 0:
                plan.ops.append(AddColumn(table, col))
                plan.actions.append(f"add column {name} {col.type} NOT NULL (table is empty)")
            else:
                expected[col.name] = True
                plan.ops.append(AddColumn(table, Column(col.name, col.type, True)))
                plan.actions.append(f"add column {name} {col.type} (left nullable)")
                plan.unresolved.append(
                    f"{name} is declared NOT NULL but has no documented backfill and "
                    f"{table} has {row_count()} rows: added as nullable; fill it in a revision "
                    "(op.backfill) and set it NOT NULL"
                )
            continue
        if not same_type(have.type, col.type):
            plan.unresolved.append(
                f"{name} is {have.type}, declared {col.type}: not changed by reconcile (a type "
                "change can lose data); write a revision (`db revision --autogenerate`)"
            )
        if have.nullable == col.nullable:
            continue
        if col.nullable:
            plan.ops.append(SetNullable(table, col.name, nullable=True))
            plan.actions.append(f"drop NOT NULL on {name} (declared nullable)")
            expected[col.name] = True
            continue
        nulls = probe.count(
            f"SELECT count(*) FROM {quote_ident(table)} WHERE {quote_ident(col.name)} IS NULL"
        )
        if nulls and rule is None:
            plan.unresolved.append(
                f"{name} is declared NOT NULL but holds {nulls} NULL(s) and has no documented "
                "backfill: left nullable; fill it in a revision (op.backfill)"
            )
            continue
        if nulls and rule is not None:
            value, _ = rule.sql(present)
            plan.ops.append(FillNulls(table, col.name, col.type, value))
            plan.actions.append(f"fill {nulls} NULL(s) of {name} with {rule.description}")
        plan.ops.append(SetNullable(table, col.name, nullable=False))
        plan.actions.append(f"set {name} NOT NULL (declared NOT NULL)")
        expected[col.name] = False


def verify_reconciled(probe: Probe, plan: ReconcilePlan) -> list[str]:
    """Re-read the catalog and list every column that is not as the plan promised.

    DDL has lied before (``ADD COLUMN IF NOT EXISTS ... DEFAULT`` overwrote data
    in some DuckDB releases), so the result is checked, not assumed.
    """
    problems: list[str] = []
    live_tables = catalog.all_columns(probe.catalog)
    for table, expected in plan.expected.items():
        live = live_tables.get(table)
        if live is None:
            problems.append(f"table {table} still does not exist")
            continue
        for column, nullable in expected.items():
            have = live.get(column)
            if have is None:
                problems.append(f"column {table}.{column} still does not exist")
            elif have.nullable != nullable:
                want = "nullable" if nullable else "NOT NULL"
                problems.append(f"column {table}.{column} is not {want}")
    return problems
