"""The ``ingest`` entry point: discovery, targets, progress, and one bad input never
stopping the others."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.ingestion import (
    IngestReport,
    InvalidSettingError,
    ProgressEvent,
    discover_inputs,
    ingest,
)
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import make_zip, messages, png_bytes, rows

CHAT = "31/12/2019, 23:59 - Ana: oi\n31/12/2019, 23:59 - Ana: IMG-1.png (file attached)\n"


def test_discovery_recognises_each_file_by_type(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text("---\ntitle: a\n---\n")
    (tmp_path / "chat.txt").write_text("31/12/2019, 23:59 - Ana: oi\n")
    (tmp_path / "notes.txt").write_text("groceries\n")
    (tmp_path / "photo.JPG").write_bytes(b"x")
    (tmp_path / ".hidden.md").write_text("x")
    (tmp_path / "make.py").write_text("print()")
    make_zip(tmp_path / "export.zip", {"_chat.txt": CHAT})
    found = {p.path.name: p.kind for p in discover_inputs([tmp_path])}
    assert found == {
        "a.md": "markdown",
        "chat.txt": "whatsapp",
        "notes.txt": "unsupported",
        "photo.JPG": "media",
        "make.py": "unsupported",
        "export.zip": "whatsapp",
    }


def test_unknown_files_in_folders_are_skipped_but_named_ones_fail(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "make.py").write_text("print()")
    report = ingest(warehouse, [folder], settings=settings, run_id="r")
    assert report.ok
    assert [e.kind for e in report.inputs] == ["skipped"]
    named = ingest(warehouse, [folder / "make.py", folder / "nope"], settings=settings, run_id="r")
    assert [e.kind for e in named.failed_inputs] == ["unsupported", "missing"]


def test_targets_limit_what_is_written(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    archive = make_zip(tmp_path / "c.zip", {"_chat.txt": CHAT, "IMG-1.png": png_bytes()})
    ingest(warehouse, [archive], settings=settings, run_id="r", targets=frozenset({"documents"}))
    assert messages(warehouse) == []
    assert rows(warehouse, "SELECT count(*) AS n FROM documents") == [{"n": 1}]
    ingest(warehouse, [archive], settings=settings, run_id="r", targets=frozenset({"messages"}))
    assert len(messages(warehouse)) == 2


def test_progress_events_report_each_input(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    archive = make_zip(tmp_path / "c.zip", {"_chat.txt": CHAT, "IMG-1.png": png_bytes()})
    events: list[ProgressEvent] = []
    ingest(warehouse, [archive], settings=settings, run_id="r", progress=events.append)
    assert (events[0].unit, events[0].done, events[0].total) == ("files", 1, 1)
    assert (events[-1].unit, events[-1].done, events[-1].total) == ("messages", 2, None)


def test_unknown_time_zone_is_refused_before_anything_is_read(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    from dataclasses import replace

    with pytest.raises(InvalidSettingError, match="EGREGORA_TIMEZONE"):
        ingest(warehouse, [tmp_path], settings=replace(settings, timezone="Mars/Base"), run_id="r")


def test_txt_export_resolves_attachments_beside_it(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "unzipped"
    folder.mkdir()
    (folder / "WhatsApp Chat with Ana.txt").write_text(CHAT, encoding="utf-8")
    (folder / "IMG-1.png").write_bytes(png_bytes())
    report = ingest(
        warehouse, [folder / "WhatsApp Chat with Ana.txt"], settings=settings, run_id="r"
    )
    (entry,) = report.inputs
    assert entry.rejections == []
    media = messages(warehouse)[1]
    assert (settings.media_store / media["media_url"]).is_file()


def test_ctrl_c_stops_the_run_instead_of_blaming_the_input(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    # DuckDB answers Ctrl-C by failing the running query; that must stop the
    # run (and roll the chat back), not become a rejection of the chat.
    chat = tmp_path / "WhatsApp Chat with Big.txt"
    chat.write_text(
        "".join(f"01/01/2020, 10:{i % 60:02d} - Ana: message {i}\n" for i in range(200_000)),
        encoding="utf-8",
    )
    outcome: list[BaseException | IngestReport] = []

    def run() -> None:
        try:
            outcome.append(ingest(warehouse, [chat], settings=settings, run_id="r"))
        except BaseException as error:  # the test inspects what escaped
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive():  # interrupt whatever query is running, until one is
        warehouse.interrupt()
        worker.join(0.01)
    (result,) = outcome
    assert isinstance(result, KeyboardInterrupt), result
    assert rows(warehouse, "SELECT count(*) AS n FROM messages") == [{"n": 0}]
    assert rows(warehouse, "SELECT count(*) AS n FROM ingest_rejections") == [{"n": 0}]
