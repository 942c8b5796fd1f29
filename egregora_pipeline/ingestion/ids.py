"""Deterministic ids: the same input always gets the same ids, so re-ingesting adds nothing."""

from __future__ import annotations

import uuid
from typing import Final

DOCUMENT_NAMESPACE: Final = uuid.UUID("0c4f6e0e-9a55-5b8e-8f0a-2f7b1d3c9e41")
"""Namespace of ``documents.id`` values this library derives (front matter ``id`` wins)."""

REJECTION_NAMESPACE: Final = uuid.UUID("d3a1f2b4-6c7e-5d8f-a9b0-1c2d3e4f5a6b")


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
    name = "\x1f".join((source_path, str(line_number), str(column_number), reason))
    return str(uuid.uuid5(REJECTION_NAMESPACE, name))
