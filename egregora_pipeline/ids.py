"""Deterministic ids: the same input always gets the same ids, so re-ingesting adds nothing.

Each id has a Python form (used per record) and, where rows are many, an
equivalent SQL form so DuckDB computes it vectorized; tests pin that both
agree.
"""

from __future__ import annotations

import uuid
from typing import Final

from egregora_pipeline.sql import quote_literal

DOCUMENT_NAMESPACE: Final = uuid.UUID("0c4f6e0e-9a55-5b8e-8f0a-2f7b1d3c9e41")
"""Namespace of ``documents.id`` values this library derives (front matter ``id`` wins)."""

REJECTION_NAMESPACE: Final = uuid.UUID("d3a1f2b4-6c7e-5d8f-a9b0-1c2d3e4f5a6b")

REJECTION_FIELD_SEPARATOR: Final = "\x1f"


def document_id(doc_type: str, key: str) -> str:
    """``uuid5(DOCUMENT_NAMESPACE, "<doc_type>:<key>")``: a post's slug, a file's SHA-256, ..."""
    return str(uuid.uuid5(DOCUMENT_NAMESPACE, f"{doc_type}:{key}"))


def media_document_id(sha256: str) -> str:
    """Media rows are keyed by content, so the same photo from two exports is one row."""
    return document_id("media", sha256)


def rejection_id(
    source_path: str, line_number: int | None, column_number: int | None, reason: str
) -> str:
    """Same file, place and reason -> same id, so a re-run adds no duplicate rejection."""
    name = REJECTION_FIELD_SEPARATOR.join(
        (source_path, str(line_number), str(column_number), reason)
    )
    return str(uuid.uuid5(REJECTION_NAMESPACE, name))


def rejection_name_sql(source_path: str, line_number: str, column_number: str, reason: str) -> str:
    """SQL for the UUIDv5 name :func:`rejection_id` hashes, from four column expressions.

    ``str(None)`` is ``'None'`` on the Python side, hence the ``coalesce``.
    """
    return (
        f"concat_ws(chr(31), {source_path}, coalesce({line_number}::VARCHAR, 'None'), "
        f"coalesce({column_number}::VARCHAR, 'None'), {reason})"
    )


def sha1_name_sql(namespace: uuid.UUID, name_sql: str) -> str:
    """SQL for the SHA-1 hex digest that RFC 4122 UUIDv5 is built from."""
    return f"sha1(unhex({quote_literal(namespace.hex)}) || encode({name_sql}))"


def uuid_from_sha1_sql(digest: str) -> str:
    """SQL turning a SHA-1 hex column into ``str(uuid.uuid5(...))``.

    UUIDv5 is SHA-1 over namespace bytes + UTF-8 name, truncated to 128 bits,
    with the version nibble set to 5 and the variant bits to ``10``; doing it in
    DuckDB keeps ids vectorized (no Python call per row). The dashes are placed
    by plain concatenation (a round trip through DuckDB's UUID type costs
    several times as much). ``digest`` should be a column, not an expression:
    it is referenced six times.
    """
    variant = f"substr('89ab89ab89ab89ab', strpos('0123456789abcdef', substr({digest}, 17, 1)), 1)"
    return (
        f"concat(left({digest}, 8), '-', substr({digest}, 9, 4), '-5', substr({digest}, 14, 3), "
        f"'-', {variant}, substr({digest}, 18, 3), '-', substr({digest}, 21, 12))"
    )
