# SHIM(issue 21): remove after merge
"""Old home of the deterministic ids: now :mod:`egregora_pipeline.ids` (foundation)."""

from egregora_pipeline.ids import (
    DOCUMENT_NAMESPACE,
    REJECTION_FIELD_SEPARATOR,
    REJECTION_NAMESPACE,
    document_id,
    media_document_id,
    rejection_id,
    rejection_name_sql,
    sha1_name_sql,
    uuid_from_sha1_sql,
)

__all__ = [
    "DOCUMENT_NAMESPACE",
    "REJECTION_FIELD_SEPARATOR",
    "REJECTION_NAMESPACE",
    "document_id",
    "media_document_id",
    "rejection_id",
    "rejection_name_sql",
    "sha1_name_sql",
    "uuid_from_sha1_sql",
]
