"""The real pt-BR export in shared/fixtures: system lines, empty messages, attachments,
a mention and a multi-line message, ingested end to end."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.whatsapp.messages import EVENT_NAMESPACE, event_id
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import messages, rows


@pytest.fixture
def demo_zip(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "whatsapp" / "demo_chat.zip"


def test_demo_export_ingests_every_message(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, demo_zip: Path
) -> None:
    report = ingest(warehouse, [demo_zip], settings=settings, run_id="demo")
    (entry,) = report.inputs
    assert entry.error is None
    assert entry.rejections == []
    assert (entry.messages_added, entry.documents_added) == (19, 4)
    found = messages(warehouse)
    kinds = [json.loads(m["attrs"])["kind"] for m in found]
    assert kinds.count("system") == 7
    assert kinds.count("media") == 4
    assert {m["thread_id"] for m in found} == {"Teste"}
    assert found[0]["ts"] == datetime(2025, 10, 3, 9, 45, tzinfo=UTC)
    assert found[2]["text"] == "Iuri Brasil foi adicionado(a)"
    assert found[5]["author_raw"] == "Franklin"
    assert found[5]["text"] == ""
    multi = found[17]
    assert multi["author_raw"] == "Eurico Max"
    assert multi["text"].count("\n") == 6
    assert multi["text"].endswith("Sábado- 10h às 18:00h.")
    assert json.loads(found[16]["attrs"])["mentions"] == ["Eurico Max"]
    for media in found[7:11]:
        assert (settings.media_store / media["media_url"]).is_file()
    assert rows(warehouse, "SELECT DISTINCT media_type FROM documents") == [{"media_type": "image"}]


def test_demo_export_ids_are_deterministic_uuids(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, demo_zip: Path
) -> None:
    ingest(warehouse, [demo_zip], settings=settings, run_id="demo")
    for message in messages(warehouse):
        ts_us = int((message["ts"] - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
        # The documented recipe: MD5 of the namespace hex and the message's fields
        # joined by U+001F (U+001E for no author), written as a UUID.
        name = "\x1f".join(
            (
                EVENT_NAMESPACE.hex,
                "default",
                "Teste",
                message["msg_id"],
                str(ts_us),
                message["author_raw"] or "\x1e",
                message["text"],
            )
        )
        digest = hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()
        assert message["event_id"] == str(uuid.UUID(hex=digest))
        assert message["event_id"] == event_id(
            "default", "Teste", message["msg_id"], ts_us, message["author_raw"], message["text"]
        )
        if message["author_raw"]:
            expected = uuid.uuid5(settings.author_namespace, message["author_raw"])
            assert message["author_uuid"] == str(expected)


def test_reingesting_the_demo_export_adds_nothing(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, demo_zip: Path
) -> None:
    ingest(warehouse, [demo_zip], settings=settings, run_id="first")
    before = rows(warehouse, "SELECT event_id, created_by_run FROM messages ORDER BY event_id")
    again = ingest(warehouse, [demo_zip], settings=settings, run_id="second")
    (entry,) = again.inputs
    assert (entry.messages_added, entry.messages_skipped) == (0, 19)
    assert (entry.documents_added, entry.documents_skipped) == (0, 4)
    assert rows(warehouse, "SELECT event_id, created_by_run FROM messages ORDER BY event_id") == (
        before
    )
