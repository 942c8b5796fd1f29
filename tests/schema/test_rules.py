"""Per-doc_type rules: the same declaration validates records and queries the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from egregora_pipeline.schema import (
    UNIFIED_SCHEMA,
    create_table_sql,
    record_violations,
    violations_sql,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _doc(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "x",
        "created_at": NOW,
        "source_checksum": "c",
        "status": "published",
    }
    return base | fields


GOOD = [
    _doc(doc_type="post", title="T", slug="t"),
    _doc(doc_type="profile", title="P", subject_uuid="u"),
    _doc(doc_type="journal", title="J", window_start=NOW, window_end=NOW),
    _doc(doc_type="media", filename="a.jpg", media_type="image"),
    _doc(doc_type="note"),  # undocumented doc_types are allowed, without rules
]

BAD = [
    (_doc(doc_type="post", slug="t"), "title is required for doc_type='post'"),
    (_doc(doc_type="post", title="T", slug="t", status="live"), "status='live'"),
    (_doc(doc_type="profile", title="P"), "subject_uuid is required"),
    (_doc(doc_type="journal", title="J", window_start=NOW), "window_end is required"),
    (_doc(doc_type="media", media_type="image"), "filename is required"),
    (_doc(doc_type="media", filename="a", media_type="hologram"), "media_type='hologram'"),
    (_doc(doc_type="post", title="T", slug="t", id=None), "id is required"),
]


@pytest.mark.parametrize("record", GOOD)
def test_valid_records_have_no_violations(record: dict[str, object]) -> None:
    assert record_violations(record) == []


@pytest.mark.parametrize(("record", "reason"), BAD)
def test_invalid_records_name_the_broken_rule(record: dict[str, object], reason: str) -> None:
    assert any(reason in v for v in record_violations(record)), record_violations(record)


def test_violations_sql_finds_exactly_the_rows_that_break_rules() -> None:
    con = duckdb.connect()
    con.execute(create_table_sql("documents", UNIFIED_SCHEMA))
    columns = list(UNIFIED_SCHEMA.names)
    rows = [(f"good{i}", r) for i, r in enumerate(GOOD)] + [
        (f"bad{i}", r) for i, (r, _) in enumerate(BAD) if r.get("id") is not None
    ]
    for row_id, record in rows:
        values = {**record, "id": row_id}
        con.execute(
            f"INSERT INTO documents VALUES ({', '.join('?' for _ in columns)})",
            [values.get(c) for c in columns],
        )
    flagged = {row_id for row_id, _, _ in con.execute(violations_sql()).fetchall()}
    assert flagged == {row_id for row_id, _ in rows if row_id.startswith("bad")}
