"""The backend-neutral column comparison behind the blocking checks, by Ibis dtype."""

from __future__ import annotations

import ibis

from egregora_pipeline.orchestration.warehouse import table_drift

DECLARED = ibis.schema(
    {"id": "!string", "created_at": "!timestamp('UTC')", "tags": "array<string>"}
)


def test_the_same_types_spelt_as_a_backend_reads_them_back_are_no_drift() -> None:
    live = ibis.schema(
        {"id": "!string", "created_at": "!timestamp('UTC', 6)", "tags": "array<string>"}
    )
    drift = table_drift("documents", DECLARED, live)
    assert drift.ok
    assert (drift.missing, drift.mismatched, drift.extra) == ([], [], [])


def test_a_nullability_change_is_reported_as_nullability_only() -> None:
    live = ibis.schema(
        {"id": "!string", "created_at": "timestamp('UTC', 6)", "tags": "array<string>"}
    )
    (mismatch,) = table_drift("documents", DECLARED, live).mismatched
    assert mismatch.describe() == "created_at: nullable, declared NOT NULL"


def test_missing_and_retyped_columns_fail_and_undeclared_ones_do_not() -> None:
    live = ibis.schema({"id": "!int64", "tags": "array<string>", "legacy": "string"})
    drift = table_drift("documents", DECLARED, live)
    assert not drift.ok
    assert drift.missing == ["created_at"]
    assert [m.describe() for m in drift.mismatched] == ["id: type int64, declared string"]
    assert drift.extra == ["legacy"]
