"""The declared warehouse schema: tables, column types, per-``doc_type`` rules."""

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
