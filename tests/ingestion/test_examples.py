"""The shipped ``examples/`` folder (what ``make run`` ingests) loads cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import messages, rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_examples_ingest_with_no_rejection(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings
) -> None:
    report = ingest(warehouse, [EXAMPLES], settings=settings, run_id="examples")
    assert report.ok
    assert report.rejected == 0, [r for i in report.inputs for r in i.rejections]
    assert report.messages_added == 12
    kinds = [json.loads(m["attrs"])["kind"] for m in messages(warehouse)]
    assert kinds.count("media") == 2
    assert kinds.count("system") == 4
    by_type = rows(warehouse, "SELECT doc_type, count(*) AS n FROM documents GROUP BY 1 ORDER BY 1")
    assert by_type == [
        {"doc_type": "journal", "n": 1},
        {"doc_type": "media", "n": 3},
        {"doc_type": "post", "n": 2},
        {"doc_type": "profile", "n": 2},
    ]


def test_examples_are_small() -> None:
    total = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert total < 200 * 1024
