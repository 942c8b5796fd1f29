"""The loader's Arrow shapes match the declared tables, and its writes are idempotent."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from egregora_pipeline.backends.duckdb.documents import upsert_documents
from egregora_pipeline.backends.duckdb.rejections import insert_rejections
from egregora_pipeline.backends.sink_sql import ARROW_SCHEMAS
from egregora_pipeline.ids import rejection_id
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


def test_rejection_rows_carry_the_documented_id_and_the_first_duplicate(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    first = Rejection("chats/Conversa com Zé.txt", None, None, "attachment 'ç.jpg' missing", "1")
    again = Rejection(first.source_path, None, None, first.reason, "second copy")
    other = Rejection("a.md", 12, 3, "bad date", None)
    added = insert_rejections(warehouse, [first, other, again], run_id="r", input_kind="whatsapp")
    assert added == 2
    stored = rows(
        warehouse,
        "SELECT rejection_id, run_id, input_kind, source_path, line_number, column_number, "
        "reason, raw FROM ingest_rejections ORDER BY source_path",
    )
    assert stored == [
        {
            "rejection_id": rejection_id("a.md", 12, 3, "bad date"),
            "run_id": "r",
            "input_kind": "whatsapp",
            "source_path": "a.md",
            "line_number": 12,
            "column_number": 3,
            "reason": "bad date",
            "raw": None,
        },
        {
            "rejection_id": rejection_id(first.source_path, None, None, first.reason),
            "run_id": "r",
            "input_kind": "whatsapp",
            "source_path": first.source_path,
            "line_number": None,
            "column_number": None,
            "reason": first.reason,
            "raw": "1",
        },
    ]
