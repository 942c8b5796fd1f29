"""The real pt-BR export in tests/fixtures/whatsapp: system lines, empty messages, attachments,
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
def demo_zip(fixtures_dir: Path) -> Path:
    return fixtures_dir / "whatsapp" / "demo_chat.zip"


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
                str(ts_us),
                message["author_raw"] or "\x1e",
                message["text"],
            )
        )
        digest = hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()
        assert message["event_id"] == str(uuid.UUID(hex=digest))
        assert message["event_id"] == event_id(
            "default", "Teste", ts_us, message["author_raw"], message["text"]
        )
        if message["author_raw"]:
            # upstream's pseudonym (input_adapters/whatsapp/parsing.py, 1123bf243): these
            # names are plain ASCII without & < >, so upstream's rewriting leaves them as is
            expected = uuid.uuid5(uuid.NAMESPACE_OID, "whatsapp:" + message["author_raw"])
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


def test_a_later_export_that_lost_its_oldest_messages_adds_only_the_new_ones(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    # WhatsApp caps how much history an export holds, so ordinals shift between exports.
    lines = [f"14/02/2019, 10:0{i} - Ana: message {i}\n" for i in range(7)]
    first, later = tmp_path / "v1", tmp_path / "v2"
    for folder, chosen in ((first, lines[:4]), (later, lines[2:])):
        folder.mkdir()
        (folder / "WhatsApp Chat with Ana.txt").write_text("".join(chosen), encoding="utf-8")

    ingest(warehouse, [first / "WhatsApp Chat with Ana.txt"], settings=settings, run_id="1")
    (entry,) = ingest(
        warehouse, [later / "WhatsApp Chat with Ana.txt"], settings=settings, run_id="2"
    ).inputs

    assert (entry.messages_added, entry.messages_skipped) == (3, 2)
    assert [m["text"] for m in messages(warehouse)].count("message 3") == 1
    assert rows(warehouse, "SELECT count(*) AS n FROM messages") == [{"n": 7}]


def test_identical_messages_in_the_same_minute_are_both_kept_once(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    chat = tmp_path / "WhatsApp Chat with Ana.txt"
    chat.write_text("14/02/2019, 10:00 - Ana: ok\n14/02/2019, 10:00 - Ana: ok\n", encoding="utf-8")

    ingest(warehouse, [chat], settings=settings, run_id="1")
    (again,) = ingest(warehouse, [chat], settings=settings, run_id="2").inputs

    assert (again.messages_added, again.messages_skipped) == (0, 2)
    ts_us = int(datetime(2019, 2, 14, 10, 0, tzinfo=UTC).timestamp() * 1_000_000)
    assert [m["event_id"] for m in messages(warehouse)] == [
        event_id("default", "Ana", ts_us, "Ana", "ok"),
        event_id("default", "Ana", ts_us, "Ana", "ok", occurrence=2),
    ]
