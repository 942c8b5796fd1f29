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
``upstream_constrained``
    a declared table carries upstream Egregora's indexes, keys, CHECKs or is
    referenced by FOREIGN KEYs (layouts 6, 9, 10): changed through the batch mode
    (:mod:`.batch`), CHECKs that contradict the declared rules widened
    (:mod:`.widening`), every other table kept as it is.
``atom_documents``
    upstream's Atom ``documents`` (December 2025): renamed
    ``legacy_atom_documents`` and copied into a new declared ``documents``
    (``authors`` JSON -> the author names as ``VARCHAR[]``, ``categories`` ->
    ``tags``, every Atom-only column kept under ``extensions.atom``).
``separate_media``
    a ``media`` table beside ``documents`` (January 2026): its rows are folded
    into ``documents`` as ``doc_type = 'media'`` (ids already there are left as
    they are) and it is renamed ``legacy_media``.

All of it runs inside the baseline revision's transaction, so a crash leaves
the warehouse as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from egregora_pipeline.backends import impl_for
from egregora_pipeline.backends.migration_base import LiveColumn
from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.ops import Column, CreateTable, Operation
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.migrations.reconcile import BACKFILLS, ReconcilePlan, plan_reconcile
from egregora_pipeline.schema.declared import DECLARED_TABLES, DOCUMENTS_TABLE
from egregora_pipeline.schema.duckdb_types import normalize_type
from egregora_pipeline.sql import quote_ident, quote_literal

Layout = Literal[
    "empty",
    "legacy_v2",
    "partial_unified",
    "unversioned_current",
    "upstream_constrained",
    "atom_documents",
    "separate_media",
]

V2_TABLES: Final[Mapping[str, str]] = {
    "posts": "post",
    "profiles": "profile",
    "journals": "journal",
    "media": "media",
}
"""V2 table name -> the ``doc_type`` its rows get in ``documents``."""

LEGACY_PREFIX: Final = "legacy_v2_"

ATOM_MARKERS: Final = frozenset({"updated", "links", "internal_metadata"})
"""Columns only upstream's Atom ``documents`` had (it had no ``created_at``)."""
ATOM_LEGACY: Final = "legacy_atom_documents"
MEDIA_TABLE: Final = "media"
MEDIA_LEGACY: Final = "legacy_media"


def is_atom(live: Mapping[str, Mapping[str, LiveColumn]]) -> bool:
    docs = live.get(DOCUMENTS_TABLE)
    return docs is not None and set(docs) >= ATOM_MARKERS and "created_at" not in docs


def has_separate_media(live: Mapping[str, Mapping[str, LiveColumn]]) -> bool:
    media = live.get(MEDIA_TABLE)
    return DOCUMENTS_TABLE in live and media is not None and "filename" in media


def _constrained(probe: Probe, tables: Sequence[str]) -> bool:
    impl, conn = impl_for(probe.catalog), probe.catalog
    return any(impl.dependents(conn, t).blocks_alter or impl.checks_of(conn, t) for t in tables)


def detect_layout(probe: Probe) -> Layout:
    """Which docs/schema.md layout a warehouse without bookkeeping is in."""
    live = catalog.all_columns(probe.catalog)
    if DOCUMENTS_TABLE not in live and any(t in live for t in V2_TABLES):
        return "legacy_v2"
    if is_atom(live):
        return "atom_documents"
    if has_separate_media(live):
        return "separate_media"
    declared_present = [t for t in DECLARED_TABLES if t in live]
    if not declared_present:
        return "empty"
    if _constrained(probe, declared_present):
        return "upstream_constrained"
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


def plan_fold(
    probe: Probe,
    sources: Mapping[str, str] = V2_TABLES,
    prefix: str = LEGACY_PREFIX,
    *,
    skip_existing: bool = False,
) -> list[FoldStep]:
    """The INSERT ... SELECT and RENAME of every table of ``sources`` present.

    ``skip_existing`` leaves out rows whose ``id`` ``documents`` already holds
    (upstream's separate ``media`` table could repeat a media document); they stay
    in the renamed table, and the copied rows get ``extensions.adopted_from``.
    """
    live = catalog.all_columns(probe.catalog)
    documents = live[DOCUMENTS_TABLE]
    steps: list[FoldStep] = []
    for table, doc_type in sources.items():
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
        pairs = [f"{quote_literal(c)}, {quote_ident(c)}" for c in extras]
        if skip_existing:  # mark the folded rows, so that the fold can be undone exactly
            pairs.append(f"'adopted_from', {quote_literal(prefix + table)}")
        if pairs:
            extra_json = f"json_object({', '.join(pairs)})"
            if "extensions" in source:
                position = names.index(quote_ident("extensions"))
                values[position] = f"json_merge_patch({values[position]}, {extra_json})"
            else:
                names.append(quote_ident("extensions"))
                values.append(extra_json)
        renamed = prefix + table
        where = (
            f" AS src WHERE NOT EXISTS (SELECT 1 FROM {quote_ident(DOCUMENTS_TABLE)} d "
            f"WHERE d.{quote_ident('id')} = src.{quote_ident('id')})"
            if skip_existing
            else ""
        )
        steps.append(
            FoldStep(
                table=table,
                doc_type=doc_type,
                extras=extras,
                statements=[
                    f"INSERT INTO {quote_ident(DOCUMENTS_TABLE)} ({', '.join(names)}) "
                    f"SELECT {', '.join(values)} FROM {quote_ident(table)}{where}",
                    f"ALTER TABLE {quote_ident(table)} RENAME TO {quote_ident(renamed)}",
                ],
            )
        )
    return steps


_ATOM_VERBATIM: Final = ("id", "title", "summary", "content")


def _json_field(present: frozenset[str], key: str) -> str:
    """``extensions.key``, else ``internal_metadata.key``, as text (NULL when neither has it)."""
    parts = [
        f"json_extract_string({quote_ident(col)}, {quote_literal('$.' + key)})"
        for col in ("extensions", "internal_metadata")
        if col in present
    ]
    if not parts:
        return "NULL"
    return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"


def plan_atom(probe: Probe, moment: str) -> str:
    """The INSERT that copies ``legacy_atom_documents`` into the declared ``documents``.

    ``moment`` is the migration-time literal, for rows that lack ``updated``.
    Every Atom column that is not copied verbatim is kept in ``extensions.atom``.
    """
    source = catalog.columns(probe.catalog, ATOM_LEGACY)
    present = frozenset(source)

    def col(name: str, fallback: str = "NULL") -> str:
        return quote_ident(name) if name in present else fallback

    doc_type = f"COALESCE({col('doc_type')}, 'post')"
    published_date = (
        f"CAST(timezone('UTC', {quote_ident('published')}) AS DATE)"
        if "published" in present
        else "NULL"
    )
    values: dict[str, str] = {name: col(name) for name in _ATOM_VERBATIM}
    values.update(
        {
            "created_at": f"COALESCE({col('updated')}, {col('published')}, {moment})",
            "source_checksum": "'unknown'",
            "slug": f"COALESCE({_json_field(present, 'slug')}, "
            f"CASE WHEN {doc_type} = 'post' THEN {col('id')} END)",
            "date": published_date,
            "authors": (
                f"CAST(json_extract_string({quote_ident('authors')}, '$[*].name') AS VARCHAR[])"
                if "authors" in present
                else "NULL"
            ),
            "tags": (
                f"CAST(json_extract_string({quote_ident('categories')}, '$[*].term') AS VARCHAR[])"
                if "categories" in present
                else "NULL"
            ),
            "status": f"COALESCE({col('status')}, 'published')",
            "subject_uuid": _json_field(present, "subject_uuid"),
            "alias": _json_field(present, "alias"),
            "avatar_url": _json_field(present, "avatar_url"),
            "filename": _json_field(present, "filename"),
            "mime_type": _json_field(present, "mime_type"),
            "media_type": _json_field(present, "media_type"),
            "phash": _json_field(present, "phash"),
            "doc_type": doc_type,
        }
    )
    kept = [c for c in source if c not in (*_ATOM_VERBATIM, "extensions", "doc_type", "status")]
    packed = ", ".join(f"{quote_literal(c)}, {quote_ident(c)}" for c in kept)
    atom = f"json_object('atom', json_object({packed}))" if kept else "NULL"
    base = f"COALESCE(CAST({col('extensions')} AS JSON), '{{}}')"
    values["extensions"] = f"json_merge_patch({base}, {atom})" if kept else base
    names = ", ".join(quote_ident(n) for n in values)
    return (
        f"INSERT INTO {quote_ident(DOCUMENTS_TABLE)} ({names}) "
        f"SELECT {', '.join(values.values())} FROM {quote_ident(ATOM_LEGACY)}"
    )
