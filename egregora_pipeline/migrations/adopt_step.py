"""Adopting a warehouse without bookkeeping, as the base revision's step.

A warehouse that predates the migration history is in one of the historical layouts
(:mod:`.adoption` detects it and plans the SQL); this step carries the plan out inside
the base revision's transaction: rename an Atom ``documents`` table out of the way,
create or repair the baseline tables (widening CHECKs that contradict the declared
rules unless adoption is strict), then fold the rows of the old tables into
``documents``, checking each copy's row count. Separate from :mod:`.steps` because it
is the only step whose SQL depends on what the warehouse looked like before.
"""

from __future__ import annotations

from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.adoption import (
    ATOM_LEGACY,
    LEGACY_PREFIX,
    MEDIA_TABLE,
    FoldStep,
    Layout,
    has_separate_media,
    is_atom,
    plan_atom,
    plan_baseline,
    plan_fold,
)
from egregora_pipeline.migrations.batch import plan_batches
from egregora_pipeline.migrations.errors import AdoptionError, ReconcileError
from egregora_pipeline.migrations.ops import CreateTable
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.reconcile import BACKFILLS, verify_reconciled
from egregora_pipeline.migrations.results import UpgradeResult
from egregora_pipeline.migrations.runner import Runner, execute_op
from egregora_pipeline.migrations.script import Revision
from egregora_pipeline.migrations.widening import plan_widenings
from egregora_pipeline.schema.declared import DECLARED_TABLES, DOCUMENTS_TABLE
from egregora_pipeline.sql import quote_ident


def adopt(
    runner: Runner,
    probe: Probe,
    rev: Revision,
    layout: Layout,
    result: UpgradeResult,
    *,
    strict: bool,
) -> str:
    """Run the base revision ``rev`` over a warehouse found in ``layout``; return its note.

    The note (layout, widened CHECKs, repairs, folded rows) goes into the base revision's
    bookkeeping row; every action is also listed in ``result.reconcile_actions``."""
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
        execute_op(runner, probe, op)
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
