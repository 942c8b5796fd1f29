"""Adopt a warehouse that has no bookkeeping table: detect its layout, bring it to baseline.

docs/schema.md lists the layouts users arrive with. Without ``egregora_migrations``
the engine cannot know what was applied, so before recording the baseline
revision it looks at the catalog:

``empty``
    none of the declared (or V2) tables: the baseline revision runs as written.
``legacy_v2``
    ``posts``/``profiles``/``journals``/``media`` and no ``documents``: the
    baseline tables are created, every V2 row is copied into ``documents`` with
    its ``doc_type`` (no row or value dropped: columns ``documents`` lacks go into
    ``extensions`` as JSON), and each V2 table is renamed ``legacy_v2_<name>``
    -- kept, so the adoption can be undone (see docs/migrations.md).
``partial_unified``
    some declared tables/columns exist: missing baseline tables are created and
    missing columns added in place (:mod:`.reconcile`), rows untouched.
``unversioned_current``
    every declared column exists: nothing is rewritten, the baseline is stamped.

All of it runs inside the baseline revision's transaction, so a crash leaves
the warehouse as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.catalog import LiveColumn
from egregora_pipeline.migrations.ops import Column, CreateTable, Operation
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.reconcile import BACKFILLS, ReconcilePlan, plan_reconcile
from egregora_pipeline.schema.declared import DECLARED_TABLES, DOCUMENTS_TABLE
from egregora_pipeline.schema.duckdb_types import normalize_type
from egregora_pipeline.sql import quote_ident, quote_literal

Layout = Literal["empty", "legacy_v2", "partial_unified", "unversioned_current"]

V2_TABLES: Final[Mapping[str, str]] = {
    "posts": "post",
    "profiles": "profile",
    "journals": "journal",
    "media": "media",
}
"""V2 table name -> the ``doc_type`` its rows get in ``documents``."""

LEGACY_PREFIX: Final = "legacy_v2_"


def detect_layout(probe: Probe) -> Layout:
    """Which docs/schema.md layout a warehouse without bookkeeping is in."""
    live = catalog.all_columns(probe.catalog)
    if DOCUMENTS_TABLE not in live and any(t in live for t in V2_TABLES):
        return "legacy_v2"
    declared_present = [t for t in DECLARED_TABLES if t in live]
    if not declared_present:
        return "empty"
    complete = all(
        name in live and all(c in live[name] for c in table.schema)
        for name, table in DECLARED_TABLES.items()
    )
    return "unversioned_current" if complete else "partial_unified"


def baseline_tables(ops: Sequence[Operation]) -> dict[str, tuple[Column, ...]]:
    """The tables the baseline revision creates, with its frozen columns."""
    return {op.table: op.columns for op in ops if isinstance(op, CreateTable)}


@dataclass
class FoldStep:
    """Copy one V2 table into ``documents`` and rename it out of the way."""

    table: str
    doc_type: str
    statements: list[str]
    extras: list[str] = field(default_factory=list)
    """V2 columns ``documents`` has no column for, kept in ``extensions``."""


def plan_baseline(probe: Probe, baseline_ops: Sequence[Operation]) -> ReconcilePlan:
    """Create missing baseline tables and add missing baseline columns, in place."""
    return plan_reconcile(probe, baseline_tables(baseline_ops))


def _convert(source: LiveColumn, target: LiveColumn) -> str:
    col = quote_ident(source.name)
    if normalize_type(source.type) == normalize_type(target.type):
        return col
    if source.type == "TIMESTAMP" and target.type == "TIMESTAMP WITH TIME ZONE":
        # legacy naive timestamps were written in UTC; do not let the session zone shift them
        return f"timezone('UTC', {col})"
    return f"CAST({col} AS {target.type})"


def plan_fold(probe: Probe) -> list[FoldStep]:
    """The INSERT ... SELECT and RENAME of every V2 table present."""
    live = catalog.all_columns(probe.catalog)
    documents = live[DOCUMENTS_TABLE]
    steps: list[FoldStep] = []
    for table, doc_type in V2_TABLES.items():
        source = live.get(table)
        if source is None:
            continue
        present = frozenset(source)
        names: list[str] = []
        values: list[str] = []
        for name, target in documents.items():
            rule = BACKFILLS.get((DOCUMENTS_TABLE, name))
            if name == "doc_type":
                value: str | None = quote_literal(doc_type)
            elif name in source:
                value = _convert(source[name], target)
                if not target.nullable and rule is not None:
                    value = f"COALESCE({value}, {rule.sql(present)[0]})"
            elif not target.nullable and rule is not None:
                value = rule.sql(present)[0]
            else:
                value = None
            if value is not None:
                names.append(quote_ident(name))
                values.append(value)
        extras = [c for c in source if c not in documents]
        if extras:
            packed = ", ".join(f"{quote_literal(c)}, {quote_ident(c)}" for c in extras)
            extra_json = f"json_object({packed})"
            if "extensions" in source:
                position = names.index(quote_ident("extensions"))
                values[position] = f"json_merge_patch({values[position]}, {extra_json})"
            else:
                names.append(quote_ident("extensions"))
                values.append(extra_json)
        renamed = LEGACY_PREFIX + table
        steps.append(
            FoldStep(
                table=table,
                doc_type=doc_type,
                extras=extras,
                statements=[
                    f"INSERT INTO {quote_ident(DOCUMENTS_TABLE)} ({', '.join(names)}) "
                    f"SELECT {', '.join(values)} FROM {quote_ident(table)}",
                    f"ALTER TABLE {quote_ident(table)} RENAME TO {quote_ident(renamed)}",
                ],
            )
        )
    return steps
