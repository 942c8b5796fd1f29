"""Names spelled in NFC and in NFD (macOS writes decomposed names) are one input: one
thread, one slug, one id, one origin; a byte-identical twin is left alone saying so, and
re-ingesting the other spelling later adds nothing (issue 22, item 7)."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import duckdb

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.whatsapp.archive import thread_name
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import make_zip, rows

NFC = "Café"
NFD = unicodedata.normalize("NFD", NFC)
CHAT = b"31/12/2019, 23:55 - Ana: one\n31/12/2019, 23:56 - Bob: two\n"
POST = b"---\ntitle: T\ndoc_type: post\n---\nbody\n"


def _threads(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return conn.execute("SELECT thread_id, count(*) FROM messages GROUP BY 1 ORDER BY 1").fetchall()


def _counts(conn: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        for table in ("messages", "documents", "ingest_rejections")
    )


def test_the_thread_name_is_composed_whatever_the_spelling() -> None:
    assert thread_name(f"WhatsApp Chat with {NFD}.txt") == NFC
    assert thread_name("_chat.txt", f"WhatsApp Chat - {NFD}.zip") == NFC
    assert thread_name(f"WhatsApp Chat with {NFC}.txt") == NFC


def test_compatibility_forms_stay_other_names() -> None:
    # NFC only: a full-width or ligature title is another name, not another spelling
    assert thread_name("WhatsApp Chat with Ｃａｆé.txt") == "Ｃａｆé"
    assert thread_name("WhatsApp Chat with ﬁlm.txt") == "ﬁlm"


def test_nfc_and_nfd_twins_in_one_folder_are_one_input(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for form in (NFC, NFD):
        (folder / f"WhatsApp Chat with {form}.txt").write_bytes(CHAT)
        (folder / f"{form.lower()}.md").write_bytes(POST)
    report = ingest(warehouse, [folder], settings=settings, run_id="t")
    assert _threads(warehouse) == [(NFC, 2)]
    docs = rows(warehouse, "SELECT slug, extensions->>'origin' AS origin FROM documents")
    assert [d["slug"] for d in docs] == ["cafe"]
    assert unicodedata.is_normalized("NFC", docs[0]["origin"])
    skipped = [i for i in report.inputs if i.kind == "skipped"]
    assert len(skipped) == 2
    for entry in skipped:
        assert "the same source as" in (entry.note or "")
        assert "decomposed (NFD" in (entry.note or "")
        assert "composed (NFC)" in (entry.note or "")


def test_twins_whose_bytes_differ_are_read_into_one_thread(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / f"WhatsApp Chat with {NFC}.txt").write_bytes(CHAT)
    later = CHAT + b"01/01/2020, 00:01 - Ana: three\n"
    (folder / f"WhatsApp Chat with {NFD}.txt").write_bytes(later)
    report = ingest(warehouse, [folder], settings=settings, run_id="t")
    assert _threads(warehouse) == [(NFC, 3)]
    assert sorted((i.messages_added, i.messages_skipped) for i in report.inputs) == [
        (0, 2),
        (3, 0),
    ]


def test_the_nfd_twin_in_a_later_run_adds_no_row(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for form in (NFC, NFD):  # the same folder copied again, this time from a Mac
        for old in folder.iterdir():
            old.unlink()
        # a line before any header: its rejection must not be recorded twice either
        (folder / f"WhatsApp Chat with {form}.txt").write_bytes(b"before any header\n" + CHAT)
        (folder / f"{form}.md").write_bytes(POST)
        report = ingest(warehouse, [folder], settings=settings, run_id=form)
        if form == NFC:
            before = _counts(warehouse)
            assert before[:2] == (2, 1)
            assert before[2] >= 1
    assert (report.messages_added, report.messages_skipped) == (0, 2)
    assert (report.documents_added, report.documents_skipped) == (0, 1)
    assert _counts(warehouse) == before  # no message, document or rejection twice
    assert _threads(warehouse) == [(NFC, 2)]


def test_two_zips_whose_titles_differ_only_in_normalization(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    make_zip(tmp_path / "in" / f"WhatsApp Chat - {NFC}.zip", {"_chat.txt": CHAT})
    make_zip(tmp_path / "in" / "other.zip", {f"WhatsApp Chat with {NFD}.txt": CHAT})
    report = ingest(warehouse, [tmp_path / "in"], settings=settings, run_id="t")
    assert _threads(warehouse) == [(NFC, 2)]
    assert (report.messages_added, report.messages_skipped) == (2, 2)


def test_a_zip_member_in_nfd_and_a_loose_file_in_nfc_are_one_thread(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    make_zip(tmp_path / "in" / "mac.zip", {f"WhatsApp Chat with {NFD}.txt": CHAT})
    (tmp_path / "in" / f"WhatsApp Chat with {NFC}.txt").write_bytes(CHAT)  # make_zip made in/
    ingest(warehouse, [tmp_path / "in"], settings=settings, run_id="t")
    assert _threads(warehouse) == [(NFC, 2)]


def test_an_attachment_named_nfc_in_the_chat_is_found_under_its_nfd_member_name(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    chat = f"31/12/2019, 23:55 - Ana: {NFC}.vcf (file attached)\n".encode()
    archive = make_zip(
        tmp_path / "WhatsApp Chat with Ana.zip",
        {"WhatsApp Chat with Ana.txt": chat, f"{NFD}.vcf": b"BEGIN:VCARD\nEND:VCARD\n"},
    )
    report = ingest(warehouse, [archive], settings=settings, run_id="t")
    assert report.rejected == 0, report.inputs[0].rejections
    (doc,) = rows(warehouse, "SELECT filename FROM documents")
    assert doc["filename"] == f"{NFC}.vcf"
    (message,) = rows(warehouse, "SELECT media_url FROM messages")
    assert str(message["media_url"]).endswith(".vcf")


def test_the_cli_lists_the_twin_as_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for form in (NFC, NFD):
        (folder / f"WhatsApp Chat with {form}.txt").write_bytes(CHAT)
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("egregora-pipeline")),
            "ingest",
            "--ephemeral",
            "-d",
            str(tmp_path / "w.duckdb"),
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "left alone" in done.stdout
    assert "the same source as" in done.stdout
    conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert _threads(conn) == [(NFC, 2)]
    finally:
        conn.close()
