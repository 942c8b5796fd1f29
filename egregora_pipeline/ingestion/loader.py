# SHIM(issue 21): remove after merge
"""Old home of the DuckDB document and rejection writes: now in :mod:`egregora_pipeline.backends`
(``duckdb/documents.py``, ``duckdb/rejections.py``; ``sink_sql.py``: what both sinks share)."""

from egregora_pipeline.backends.duckdb.documents import (
    claimed_elsewhere,
    stored_profiles,
    upsert_documents,
)
from egregora_pipeline.backends.duckdb.rejections import insert_rejections
from egregora_pipeline.backends.sink_sql import (
    ARROW_SCHEMAS,
    PROFILE_COLUMNS,
    STORED_PROFILES_SQL,
    arrow_schema,
    claim_origin,
    claims_sql,
    clash_reasons,
    records_to_arrow,
    unchanged_sql,
)

__all__ = [
    "ARROW_SCHEMAS",
    "PROFILE_COLUMNS",
    "STORED_PROFILES_SQL",
    "arrow_schema",
    "claim_origin",
    "claimed_elsewhere",
    "claims_sql",
    "clash_reasons",
    "insert_rejections",
    "records_to_arrow",
    "stored_profiles",
    "unchanged_sql",
    "upsert_documents",
]
