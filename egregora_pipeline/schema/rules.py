"""Per-``doc_type`` rules of the ``documents`` table, as data.

The rules are declared once here and used twice: the ingestion library
validates each record before loading it (so a bad file is rejected with a
reason), and the Dagster asset checks run :func:`violations_sql` against the
warehouse (so rows written by anyone else are caught too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from egregora_pipeline.schema.declared import UNIFIED_SCHEMA
from egregora_pipeline.sql import quote_ident, quote_literal

DocType = Literal["post", "profile", "journal", "media"]
Status = Literal["draft", "published", "archived"]
MediaType = Literal["image", "video", "audio", "document"]

DOC_TYPES: Final[tuple[str, ...]] = ("post", "profile", "journal", "media")
"""The documented ``doc_type`` values. Other values are allowed by docs/schema.md,
but they get no per-type rule."""

STATUSES: Final[tuple[str, ...]] = ("draft", "published", "archived")

MEDIA_TYPES: Final[tuple[str, ...]] = ("image", "video", "audio", "document")
"""``image``, ``video`` and ``audio`` come from docs/schema.md; this project adds
``document`` for attachments such as PDFs and contact cards, which WhatsApp
exports carry as often as photos."""


@dataclass(frozen=True)
class DocTypeRule:
    """What a ``documents`` row of one ``doc_type`` must satisfy."""

    doc_type: str
    required: tuple[str, ...]
    allowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [c for c in (*self.required, *self.allowed) if c not in UNIFIED_SCHEMA]
        if unknown:
            raise ValueError(f"rule for {self.doc_type!r} names unknown columns {unknown}")

    def violations(self, record: Mapping[str, Any]) -> list[str]:
        """Human-readable reasons why ``record`` breaks this rule (empty if it holds)."""
        reasons = [
            f"{column} is required for doc_type={self.doc_type!r}"
            for column in self.required
            if record.get(column) is None
        ]
        for column, values in self.allowed.items():
            value = record.get(column)
            if value is not None and value not in values:
                reasons.append(
                    f"{column}={value!r} is not one of {', '.join(values)} "
                    f"(doc_type={self.doc_type!r})"
                )
        return reasons


DOC_TYPE_RULES: Final[Mapping[str, DocTypeRule]] = {
    rule.doc_type: rule
    for rule in (
        DocTypeRule("post", required=("title", "slug", "status"), allowed={"status": STATUSES}),
        DocTypeRule("profile", required=("title", "subject_uuid")),
        DocTypeRule("journal", required=("title", "window_start", "window_end")),
        DocTypeRule("media", required=("filename",), allowed={"media_type": MEDIA_TYPES}),
    )
}

COLUMN_VALUE_SETS: Final[Mapping[str, tuple[str, ...]]] = {"status": STATUSES}
"""Value sets that hold for every ``documents`` row, whatever its ``doc_type``."""


def record_violations(record: Mapping[str, Any]) -> list[str]:
    """Every reason ``record`` (a ``documents`` row as a dict) breaks the declared rules."""
    reasons = [
        f"{column} is required"
        for column, dtype in UNIFIED_SCHEMA.items()
        if not dtype.nullable and record.get(column) is None
    ]
    for column, values in COLUMN_VALUE_SETS.items():
        value = record.get(column)
        if value is not None and value not in values:
            reasons.append(f"{column}={value!r} is not one of {', '.join(values)}")
    rule = DOC_TYPE_RULES.get(str(record.get("doc_type")))
    if rule is not None:
        reasons.extend(r for r in rule.violations(record) if r not in reasons)
    return reasons


def violations_sql(table: str = "documents") -> str:
    """A query returning ``(id, doc_type, rule)`` for every row breaking a rule.

    Only declared names and constants are interpolated, and all of them quoted.
    """
    id_, doc_type = quote_ident("id"), quote_ident("doc_type")
    source = quote_ident(table)
    branches: list[str] = []

    def branch(reason: str, condition: str) -> None:
        branches.append(
            f"SELECT {id_}, {doc_type}, {quote_literal(reason)} AS rule "
            f"FROM {source} WHERE {condition}"
        )

    for rule in DOC_TYPE_RULES.values():
        of_type = f"{doc_type} = {quote_literal(rule.doc_type)}"
        for column in rule.required:
            branch(
                f"{column} is required for doc_type={rule.doc_type}",
                f"{of_type} AND {quote_ident(column)} IS NULL",
            )
        for column, values in rule.allowed.items():
            branch(
                f"{column} not in ({', '.join(values)}) for doc_type={rule.doc_type}",
                f"{of_type} AND {quote_ident(column)} NOT IN "
                f"({', '.join(quote_literal(v) for v in values)})",
            )
    for column, values in COLUMN_VALUE_SETS.items():
        branch(
            f"{column} not in ({', '.join(values)})",
            f"{quote_ident(column)} NOT IN ({', '.join(quote_literal(v) for v in values)})",
        )
    return "\nUNION ALL\n".join(branches)
