"""The loader's Arrow shapes match the declared tables, and its writes are idempotent."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from egregora_pipeline.ingestion.loader import ARROW_SCHEMAS, insert_rejections, upsert_documents
from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.schema import DECLARED_TABLES
from tests.ingestion.conftest import rows


@pytest.mark.parametrize("table", sorted(ARROW_SCHEMAS))
def test_arrow_schema_matches_the_declared_table(
    warehouse: duckdb.DuckDBPyConnection, table: str
) -> None:
    assert ARROW_SCHEMAS[table].names == list(DECLARED_TABLES[table].schema.names)
    empty = ARROW_SCHEMAS[table].empty_table()
    warehouse.register("empty_batch", empty)
    # Every column casts into the live table without error.
    warehouse.execute(f'INSERT INTO "{table}" SELECT * FROM empty_batch')
    assert isinstance(empty, pa.Table)


def test_upsert_reports_added_skipped_updated(warehouse: duckdb.DuckDBPyConnection) -> None:
    from datetime import UTC, datetime

    base = {
        "id": "d1",
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "source_checksum": "a",
        "status": "published",
        "doc_type": "media",
        "filename": "x.png",
        "tags": ["t"],
    }
    assert upsert_documents(warehouse, [base]) == {"d1": "added"}
    assert upsert_documents(warehouse, [base]) == {"d1": "skipped"}
    changed = {**base, "source_checksum": "b", "filename": "y.png", "created_at": datetime.now(UTC)}
    assert upsert_documents(warehouse, [changed]) == {"d1": "updated"}
    (row,) = rows(warehouse, "SELECT filename, source_checksum, created_at FROM documents")
    assert row == {
        "filename": "y.png",
        "source_checksum": "b",
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
    }


def test_rejections_are_keyed_deterministically(warehouse: duckdb.DuckDBPyConnection) -> None:
    rejection = Rejection("a.md", 3, 1, "bad", "raw")
    assert (
        insert_rejections(warehouse, [rejection, rejection], run_id="r", input_kind="markdown") == 1
    )
    assert insert_rejections(warehouse, [rejection], run_id="r2", input_kind="markdown") == 0
