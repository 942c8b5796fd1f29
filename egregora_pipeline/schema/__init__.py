"""The declared warehouse schema: tables, column types, per-``doc_type`` rules.

Names are loaded on first use (PEP 562): ``normalize_type`` or the rules need
no Ibis, and the commands that only read the bookkeeping (``db current``) start
without importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egregora_pipeline.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from egregora_pipeline.schema.declared import (
        DECLARED_TABLES,
        DOCUMENTS,
        DOCUMENTS_TABLE,
        INGEST_REJECTIONS,
        INGEST_REJECTIONS_SCHEMA,
        INGEST_REJECTIONS_TABLE,
        MESSAGES,
        MESSAGES_TABLE,
        STAGING_MESSAGES_SCHEMA,
        UNIFIED_SCHEMA,
        DeclaredTable,
    )
    from egregora_pipeline.schema.duckdb_types import (
        UnsupportedTypeError,
        column_definition,
        create_table_sql,
        duckdb_type,
        normalize_type,
    )
    from egregora_pipeline.schema.rules import (
        COLUMN_VALUE_SETS,
        DOC_TYPE_RULES,
        DOC_TYPES,
        MEDIA_TYPES,
        STATUSES,
        DocTypeRule,
        record_violations,
        violations_sql,
    )

_HOME: dict[str, str] = {
    "DECLARED_TABLES": "declared",
    "DOCUMENTS": "declared",
    "DOCUMENTS_TABLE": "declared",
    "INGEST_REJECTIONS": "declared",
    "INGEST_REJECTIONS_SCHEMA": "declared",
    "INGEST_REJECTIONS_TABLE": "declared",
    "MESSAGES": "declared",
    "MESSAGES_TABLE": "declared",
    "STAGING_MESSAGES_SCHEMA": "declared",
    "UNIFIED_SCHEMA": "declared",
    "DeclaredTable": "declared",
    "UnsupportedTypeError": "duckdb_types",
    "column_definition": "duckdb_types",
    "create_table_sql": "duckdb_types",
    "duckdb_type": "duckdb_types",
    "normalize_type": "duckdb_types",
    "COLUMN_VALUE_SETS": "rules",
    "DOC_TYPE_RULES": "rules",
    "DOC_TYPES": "rules",
    "MEDIA_TYPES": "rules",
    "STATUSES": "rules",
    "DocTypeRule": "rules",
    "record_violations": "rules",
    "violations_sql": "rules",
}

__getattr__ = lazy_getattr(__name__, _HOME)


__all__ = [
    "COLUMN_VALUE_SETS",
    "DECLARED_TABLES",
    "DOCUMENTS",
    "DOCUMENTS_TABLE",
    "DOC_TYPES",
    "DOC_TYPE_RULES",
    "INGEST_REJECTIONS",
    "INGEST_REJECTIONS_SCHEMA",
    "INGEST_REJECTIONS_TABLE",
    "MEDIA_TYPES",
    "MESSAGES",
    "MESSAGES_TABLE",
    "STAGING_MESSAGES_SCHEMA",
    "STATUSES",
    "UNIFIED_SCHEMA",
    "DeclaredTable",
    "DocTypeRule",
    "UnsupportedTypeError",
    "column_definition",
    "create_table_sql",
    "duckdb_type",
    "normalize_type",
    "record_violations",
    "violations_sql",
]
