"""Zip exports: the chat is found by name in any language, hostile archives are refused
with a message naming them, and the other inputs of the run still ingest."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.ingestion import ArchiveLimits, ingest
from egregora_pipeline.ingestion.whatsapp.archive import thread_name
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import make_zip, messages, png_bytes, rows

CHAT = "31/12/2019, 23:59 - Ana: oi\n31/12/2019, 23:59 - Ana: IMG-20191231-WA0001.png (file attached)\n"


@pytest.mark.parametrize(
    ("member", "thread"),
    [
        ("_chat.txt", "Family"),
        ("WhatsApp Chat with Ana.txt", "Ana"),
        ("Conversa do WhatsApp com Teste.txt", "Teste"),
        ("WhatsApp Chat - Grupo.txt", "Grupo"),
        ("Chat de WhatsApp con Juan.txt", "Juan"),
        ("WhatsApp-Chat mit Jonas.txt", "Jonas"),
        ("notes.txt", "notes"),
    ],
)
def test_chat_member_is_found_by_name_and_names_the_thread(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    member: str,
    thread: str,
) -> None:
    archive = make_zip(
        tmp_path / "WhatsApp Chat - Family.zip",
        {member: CHAT, "IMG-20191231-WA0001.png": png_bytes(), "README.md": "not a chat"},
    )
    report = ingest(warehouse, [archive], settings=settings, run_id="r")
    assert report.ok, report.failed_inputs
    assert {m["thread_id"] for m in messages(warehouse)} == {thread}


def test_thread_name_strips_localized_prefixes() -> None:
    assert thread_name("WhatsApp Chat with Ana.txt") == "Ana"
    assert thread_name("_chat.txt", "WhatsApp Chat - Ana.zip") == "Ana"


def test_the_same_chat_keeps_its_thread_name_however_it_was_saved() -> None:
    # A second download gets a copy number; an iOS chat may sit in a folder of the zip.
    assert thread_name("_chat.txt", "WhatsApp Chat - Trip (1).zip") == "Trip"
    assert thread_name("WhatsApp Chat with Ana (2).txt") == "Ana"
    assert thread_name("WhatsApp Chat - Trip/_chat.txt", "export.zip") == "Trip"


def test_a_loose_chat_txt_named_by_a_relative_path_still_takes_its_folder_name(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "WhatsApp Chat - Family"
    folder.mkdir()
    (folder / "_chat.txt").write_text("[31/12/2019, 23:59:59] Ana: oi\n", encoding="utf-8")
    monkeypatch.chdir(folder)

    ingest(warehouse, [Path("_chat.txt")], settings=settings, run_id="r")

    assert {m["thread_id"] for m in messages(warehouse)} == {"Family"}


def test_attachments_are_copied_to_the_content_addressed_store(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    image = png_bytes()
    archive = make_zip(tmp_path / "chat.zip", {"_chat.txt": CHAT, "IMG-20191231-WA0001.png": image})
    report = ingest(warehouse, [archive], settings=settings, run_id="r")
    (entry,) = report.inputs
    assert entry.rejections == []
    media = messages(warehouse)[1]
    stored = settings.media_store / str(media["media_url"])
    assert stored.read_bytes() == image
    assert stored.relative_to(settings.media_store).parts[0] == stored.stem[:2]
    (document,) = rows(warehouse, "SELECT * FROM documents")
    assert document["doc_type"] == "media"
    assert document["filename"] == "IMG-20191231-WA0001.png"
    assert document["source_checksum"] == stored.stem
    assert document["phash"] is not None
    assert entry.documents_added == 1


def _ingest_one_bad_and_one_good(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    bad: Path,
    limits: ArchiveLimits | None = None,
) -> str:
    good = tmp_path / "good" / "WhatsApp Chat with Good.txt"
    good.parent.mkdir(parents=True, exist_ok=True)
    good.write_text("31/12/2019, 23:59 - Ana: still ingested\n", encoding="utf-8")
    report = ingest(warehouse, [bad, good], settings=settings, run_id="r", archive_limits=limits)
    (failed,) = report.failed_inputs
    assert failed.path == bad
    assert [m["text"] for m in messages(warehouse)] == ["still ingested"]
    recorded = rows(warehouse, "SELECT source_path, reason FROM ingest_rejections")
    assert recorded == [{"source_path": str(bad), "reason": failed.error}]
    assert failed.error is not None
    assert str(bad) in failed.error
    return failed.error


def test_zip_slip_member_refuses_the_archive(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = make_zip(tmp_path / "slip.zip", {"_chat.txt": CHAT, "../../evil.png": png_bytes()})
    error = _ingest_one_bad_and_one_good(warehouse, settings, tmp_path, bad)
    assert "zip slip" in error
    assert "../../evil.png" in error
    assert not (tmp_path / "evil.png").exists()


def test_absolute_member_name_refuses_the_archive(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = make_zip(tmp_path / "abs.zip", {"_chat.txt": CHAT, "/etc/passwd": "x"})
    assert "zip slip" in _ingest_one_bad_and_one_good(warehouse, settings, tmp_path, bad)


def test_too_many_members_refuses_the_archive(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    members: dict[str, bytes | str] = {f"f{i}.txt": "x" for i in range(20)}
    members["_chat.txt"] = CHAT
    bad = make_zip(tmp_path / "many.zip", members)
    error = _ingest_one_bad_and_one_good(
        warehouse, settings, tmp_path, bad, ArchiveLimits(max_members=10)
    )
    assert "21 members exceed the limit of 10" in error


def test_oversized_member_refuses_the_archive(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = make_zip(tmp_path / "big.zip", {"_chat.txt": CHAT, "VID.mp4": b"\x01" * 5000})
    error = _ingest_one_bad_and_one_good(
        warehouse, settings, tmp_path, bad, ArchiveLimits(max_member_bytes=4096)
    )
    assert "VID.mp4" in error
    assert "exceeds the limit" in error


def test_total_size_limit_refuses_the_archive(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = make_zip(tmp_path / "total.zip", {"_chat.txt": CHAT, "a.mp4": b"a" * 3000})
    error = _ingest_one_bad_and_one_good(
        warehouse, settings, tmp_path, bad, ArchiveLimits(max_total_bytes=2000)
    )
    assert "uncompressed exceed the limit" in error


def test_zip_bomb_compression_ratio_refuses_the_archive(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = make_zip(tmp_path / "bomb.zip", {"_chat.txt": CHAT, "bomb.pdf": b"\x00" * (4 << 20)})
    error = _ingest_one_bad_and_one_good(warehouse, settings, tmp_path, bad)
    assert "zip bomb" in error
    assert "bomb.pdf" in error


def test_corrupt_zip_is_refused_by_name(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "not a readable zip" in _ingest_one_bad_and_one_good(warehouse, settings, tmp_path, bad)


def test_archive_without_a_chat_is_refused(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = make_zip(tmp_path / "nochat.zip", {"notes.txt": "hello", "a.png": png_bytes()})
    assert "no WhatsApp chat .txt" in _ingest_one_bad_and_one_good(
        warehouse, settings, tmp_path, bad
    )


def test_symlink_members_are_ignored_and_reported(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("_chat.txt", CHAT)
        zf.writestr("IMG-20191231-WA0001.png", png_bytes())
        link = zipfile.ZipInfo("secret.png")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    report = ingest(warehouse, [archive], settings=settings, run_id="r")
    (entry,) = report.inputs
    assert entry.error is None
    assert [r.reason for r in entry.rejections] == ["symlink member ignored: 'secret.png'"]
    assert len(messages(warehouse)) == 2
    assert rows(warehouse, "SELECT filename FROM documents") == [
        {"filename": "IMG-20191231-WA0001.png"}
    ]


def test_the_only_parsing_txt_is_the_chat_when_no_name_matches(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    archive = make_zip(tmp_path / "export.zip", {"notes.txt": "hello", "conversation.txt": CHAT})
    report = ingest(warehouse, [archive], settings=settings, run_id="r")
    assert report.ok
    assert {m["thread_id"] for m in messages(warehouse)} == {"conversation"}


def test_many_small_highly_compressible_members_are_a_bomb_as_a_whole(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    members: dict[str, str | bytes] = {"_chat.txt": CHAT}
    members.update(
        {f"pad-{n}.pdf": b"\x00" * (60 << 10) for n in range(40)}
    )  # each under the floor
    bad = make_zip(tmp_path / "many.zip", members)

    error = _ingest_one_bad_and_one_good(warehouse, settings, tmp_path, bad)

    assert "whole-archive compression ratio" in error


def test_archive_members_that_are_neither_media_nor_attached_are_not_stored(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    archive = make_zip(
        tmp_path / "extra.zip",
        {"_chat.txt": CHAT, "IMG-20191231-WA0001.png": png_bytes(), "run.sh": b"rm -rf /"},
    )

    (entry,) = ingest(warehouse, [archive], settings=settings, run_id="r").inputs

    assert entry.error is None
    assert "not media nor named by the chat, ignored: 'run.sh'" in [
        r.reason for r in entry.rejections
    ]
    assert rows(warehouse, "SELECT filename FROM documents") == [
        {"filename": "IMG-20191231-WA0001.png"}
    ]


def test_a_document_of_any_type_the_chat_attaches_is_stored_and_linked(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    chat = "31/12/2019, 23:59 - Ana: notes.txt (file attached)\n"
    archive = make_zip(
        tmp_path / "WhatsApp Chat with Ana.zip",
        {"WhatsApp Chat with Ana.txt": chat.encode(), "notes.txt": b"shopping list"},
    )

    (entry,) = ingest(warehouse, [archive], settings=settings, run_id="r").inputs

    assert entry.error is None
    assert entry.rejections == []
    (message,) = messages(warehouse)
    assert json.loads(message["attrs"]).get("attachment_missing") is None
    (document,) = rows(warehouse, "SELECT filename, media_type FROM documents")
    assert document == {"filename": "notes.txt", "media_type": "document"}
    assert message["media_url"] != "notes.txt"  # the store's key, not the bare name


def test_a_symlink_beside_a_txt_chat_is_never_followed(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("private key")
    (folder / "IMG-20191231-WA0001.png").symlink_to(secret)
    chat = folder / "WhatsApp Chat with Ana.txt"
    chat.write_text(CHAT, encoding="utf-8")

    ingest(warehouse, [chat], settings=settings, run_id="r")

    assert rows(warehouse, "SELECT filename FROM documents") == []
    stored = [p for p in settings.media_store.rglob("*") if p.is_file()]
    assert all(p.read_bytes() != b"private key" for p in stored)


def test_a_loose_ios_chat_txt_takes_its_thread_name_from_its_folder(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "WhatsApp Chat - Family"
    folder.mkdir()
    chat = folder / "_chat.txt"
    chat.write_text("[31/12/2019, 23:59:59] Ana: oi\n", encoding="utf-8")

    ingest(warehouse, [chat], settings=settings, run_id="r")

    assert {m["thread_id"] for m in messages(warehouse)} == {"Family"}


def test_a_chat_export_forwarded_into_the_chat_does_not_hide_the_chat_itself(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    own = "31/12/2019, 23:59 - Bob: see the other chat\n"
    forwarded = "01/01/2019, 10:00 - Fwd: old news\n"
    archive = make_zip(
        tmp_path / "WhatsApp Chat with Bob.zip",
        {
            "WhatsApp Chat with Bob.txt": own.encode(),
            "WhatsApp Chat with Fwd.txt": forwarded.encode(),
        },
    )
    several = make_zip(
        tmp_path / "export.zip",
        {
            "WhatsApp Chat with Bob.txt": own.encode(),
            "WhatsApp Chat with Fwd.txt": forwarded.encode(),
        },
    )

    named, ambiguous = ingest(warehouse, [archive, several], settings=settings, run_id="r").inputs

    assert named.error is None
    assert [(m["thread_id"], m["text"]) for m in messages(warehouse)] == [
        ("Bob", "see the other chat")
    ]
    assert ambiguous.error is not None
    assert "holds several WhatsApp chats" in ambiguous.error
