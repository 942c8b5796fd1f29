"""CHECK constraints that contradict the declared rules, and how adoption widens them.

Upstream Egregora wrote CHECKs such as ``media_type IN ('image', 'video',
'audio')`` on ``documents`` and ``messages``; this project also writes
``media_type = 'document'`` (PDFs and other attachments), so keeping that CHECK
would make every chat with a PDF fail to ingest. A CHECK is tested against
*sample rows this project writes* (one per documented value of each rule
column); a CHECK that rejects one is widened to ``(old) OR (column IN
(declared values))`` -- never narrower than before, no wider than the declared
rule -- and the old definition is kept in ``egregora_widened_checks``. With
strict adoption the upgrade refuses instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from egregora_pipeline.backends import impl_for
from egregora_pipeline.backends.dependents_base import CheckDef
from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.batch import Widening
from egregora_pipeline.migrations.errors import StrictAdoptionError, UnwidenableCheckError
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.schema.rules import DOC_TYPES, MEDIA_TYPES, STATUSES
from egregora_pipeline.sql import quote_ident, quote_literal

Sample = Mapping[str, str]

_WHEN: Final = "2024-01-01 00:00:00+00"
_DOCUMENT: Final[Sample] = {
    "id": "d",
    "created_at": _WHEN,
    "source_checksum": "c",
    "title": "t",
    "status": "published",
}
_MESSAGE: Final[Sample] = {
    "event_id": "e",
    "tenant_id": "default",
    "source": "whatsapp",
    "thread_id": "t",
    "msg_id": "1",
    "ts": _WHEN,
    "author_uuid": "u",
    "created_at": _WHEN,
    "created_by_run": "r",
}

SAMPLES: Final[Mapping[str, tuple[Sample, ...]]] = {
    "documents": (
        *({**_DOCUMENT, "doc_type": "post", "slug": "s", "status": s} for s in STATUSES),
        {**_DOCUMENT, "doc_type": "profile", "subject_uuid": "u"},
        {**_DOCUMENT, "doc_type": "journal", "window_start": _WHEN, "window_end": _WHEN},
        *(
            {**_DOCUMENT, "doc_type": "media", "filename": "f", "media_type": m}
            for m in MEDIA_TYPES
        ),
    ),
    "messages": (
        _MESSAGE,
        *({**_MESSAGE, "media_url": "f", "media_type": m} for m in MEDIA_TYPES),
    ),
}
"""Rows of each declared table as this project writes them: every NOT NULL column filled,
one row per documented value of each rule column."""

RULE_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    "media_type": MEDIA_TYPES,
    "status": STATUSES,
    "doc_type": DOC_TYPES,
}
"""Declared value sets a widened CHECK may be opened to, in the order they are tried."""


def _holds(probe: Probe, table: str, expression: str, sample: Sample) -> bool:
    """Whether ``expression`` accepts ``sample`` (NULL counts as accepted, as in SQL)."""
    live = catalog.columns(probe.catalog, table)
    values: list[object] = []
    parts: list[str] = []
    for name, column in live.items():
        values.append(sample.get(name))
        parts.append(f"CAST(? AS {column.type}) AS {quote_ident(name)}")
    row = probe.catalog.execute(
        f"SELECT ({expression}) IS NOT FALSE FROM (SELECT {', '.join(parts)})", values
    ).fetchone()
    return bool(row and row[0])


def _describe(sample: Sample) -> str:
    shown = ("doc_type", "status", "media_type")
    return ", ".join(f"{k}={sample[k]!r}" for k in shown if k in sample)


def _widen(probe: Probe, check: CheckDef, failing: Sequence[Sample]) -> Widening:
    """The smallest widening found: ``(old) OR (column IN (the refused declared values)))``.

    ``doc_type`` is tried last: opening the discriminator would let rows escape
    every other rule of the CHECK."""
    candidates = [c for c in RULE_VALUES if c in check.columns]
    for column in candidates:
        refused = sorted({s[column] for s in failing if s.get(column) in RULE_VALUES[column]})
        if not refused:
            continue
        listed = ", ".join(quote_literal(v) for v in refused)
        expression = f"({check.expression}) OR ({quote_ident(column)} IN ({listed}))"
        if all(_holds(probe, check.table, expression, s) for s in SAMPLES[check.table]):
            reason = "rejects rows this project writes: " + "; ".join(_describe(s) for s in failing)
            return Widening(check, expression, reason)
    raise UnwidenableCheckError(check.table, check.text, _describe(failing[0]))


def plan_widenings(probe: Probe, tables: Sequence[str], *, strict: bool) -> list[Widening]:
    """The CHECKs of ``tables`` that reject declared rows, each with its widened form."""
    widenings: list[Widening] = []
    live = catalog.table_names(probe.catalog)
    for table in tables:
        samples = SAMPLES.get(table)
        if not samples or table not in live:
            continue
        for check in impl_for(probe.catalog).checks_of(probe.catalog, table):
            failing = [s for s in samples if not _holds(probe, table, check.expression, s)]
            if not failing:
                continue
            if strict:
                raise StrictAdoptionError(
                    table, check.text, "rejects " + "; ".join(_describe(s) for s in failing)
                )
            widenings.append(_widen(probe, check, failing))
    return widenings
