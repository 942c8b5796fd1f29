"""A zip member is read as what its bytes are, and refused when its headers lie about it
(issue 22, item 2), or when the chat itself is encrypted (item 5). Archives are built byte
by byte (``tests/ingestion/zip_bytes.py``) so each header can say something else."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import messages, png_bytes
from tests.ingestion.zip_bytes import Declared, Entry, ZipBytes, deflate, honest

CHAT = (
    b"31/12/2019, 23:55 - Ana: one\n"
    b"31/12/2019, 23:56 - Bob: two, a longer message\n"
    b"31/12/2019, 23:57 - Ana: three\n"
    b"31/12/2019, 23:58 - Bob: four\n"
)
PREFIX = CHAT[: CHAT.index(b"two") + 8]  # cut mid-message: "two, a l"


def _ingest(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, archive: Path
) -> tuple[str | None, list[str]]:
    report = ingest(warehouse, [archive], settings=settings, run_id="t")
    return report.inputs[0].error, [m["text"] for m in messages(warehouse)]


def _refused(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, archive: Path, member: str
) -> str:
    error, texts = _ingest(warehouse, settings, archive)
    assert texts == []  # never the prefix
    assert error is not None
    assert f"(member {member!r})" in error
    assert "member headers lie" in error
    return error


def _lying(stored: bytes, declared: bytes, *, method: int = 8, after: bytes = b"") -> Entry:
    """``stored`` as the data, every header declaring the CRC and size of ``declared``."""
    packed = len(stored) if method == 8 else len(declared)
    say = Declared(zlib.crc32(declared), packed, len(declared))
    return Entry("_chat.txt", stored, method, say, Declared(**vars(say)), after=after)


def test_a_deflated_member_longer_than_its_declared_size_and_crc_is_refused(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    archive = ZipBytes([_lying(deflate(CHAT), PREFIX)]).write(tmp_path / "Chat.zip")
    assert zipfile.ZipFile(archive).read("_chat.txt") == PREFIX  # what the stdlib gives
    error = _refused(warehouse, settings, archive, "_chat.txt")
    assert f"inflates past its declared/allowed size of {len(PREFIX)} bytes" in error


def test_a_stored_member_with_its_rest_hidden_after_its_declared_end_is_refused(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    entry = _lying(PREFIX, PREFIX, method=0, after=CHAT[len(PREFIX) :])
    archive = ZipBytes([entry]).write(tmp_path / "Chat.zip")
    error = _refused(warehouse, settings, archive, "_chat.txt")
    assert f"{len(CHAT) - len(PREFIX)} bytes lie between its end and the next header" in error


@pytest.mark.parametrize(
    ("lie", "words"),
    [
        ("local size", "its size is 10 in the local header but"),
        ("local crc", "its CRC is 1 in the local header but"),
        ("local packed", "its compressed size is 10 in the local header but"),
        ("local name", "the local header names it 'other.txt'"),
        ("local method", "the local header says method 0, the central directory 8"),
        ("crc everywhere", "its CRC is"),
        ("size everywhere", f"it holds {len(CHAT)} bytes but declares {len(CHAT) + 5}"),
        ("descriptor", "its data descriptor says CRC"),
        ("junk after stream", "its compressed stream ends before its declared compressed size"),
        ("cut stream", "its compressed stream does not end at its declared compressed size"),
        ("encryption bit", "disagree on encryption"),
    ],
)
def test_headers_that_disagree_with_each_other_or_the_bytes_are_refused(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    lie: str,
    words: str,
) -> None:
    entry = honest("_chat.txt", CHAT)
    if lie == "local size":
        entry.local.size = 10
    elif lie == "local crc":
        entry.local.crc = 1
    elif lie == "local packed":
        entry.local.packed = 10
    elif lie == "local name":
        entry.local.name = "other.txt"
    elif lie == "local method":
        entry.local.method = 0
    elif lie == "crc everywhere":
        entry.local.crc = entry.central.crc = 12345
    elif lie == "size everywhere":
        entry.local.size = entry.central.size = len(CHAT) + 5
    elif lie == "descriptor":
        entry.descriptor = Declared(entry.central.crc, entry.central.packed, len(CHAT) - 3)
        entry.local = Declared(0, 0, 0)
    elif lie == "junk after stream":
        entry.stored += b"\x00junk"
        entry.local.packed = entry.central.packed = len(entry.stored)
    elif lie == "cut stream":
        entry.stored = entry.stored[:-4]
        entry.local.packed = entry.central.packed = len(entry.stored)
        entry.after = b"tail"
    archive = ZipBytes([entry]).write(tmp_path / "Chat.zip")
    if lie == "encryption bit":  # set the bit in the local header only
        data = bytearray(archive.read_bytes())
        data[6] |= 0x1
        archive.write_bytes(bytes(data))
    error, texts = _ingest(warehouse, settings, archive)
    assert texts == []
    assert error is not None
    assert words in error, error


def test_honest_archives_with_data_descriptors_zip64_stored_and_bzip2_load(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    photo = png_bytes()
    streamed = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            return streamed.write(data)

    with zipfile.ZipFile(Unseekable(), "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("_chat.txt", "w", force_zip64=True) as member:
            member.write(CHAT.replace(b"four", b"IMG-1.png (file attached)"))
        archive.writestr("IMG-1.png", photo, compress_type=zipfile.ZIP_BZIP2)
        archive.writestr("notes.txt", b"hello", compress_type=zipfile.ZIP_STORED)
    assert zipfile.ZipFile(io.BytesIO(streamed.getvalue())).infolist()[0].flag_bits & 0x8
    path = tmp_path / "WhatsApp Chat with Ana.zip"
    path.write_bytes(streamed.getvalue())
    error, texts = _ingest(warehouse, settings, path)
    assert error is None
    assert texts[:3] == ["one", "two, a longer message", "three"]
    ((count,),) = warehouse.execute(
        "SELECT count(*) FROM documents WHERE doc_type = 'media'"
    ).fetchall()
    assert count == 1


def test_a_lying_media_member_refuses_the_archive_naming_it(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    photo = png_bytes()
    bad = _lying(deflate(photo), photo[:50])
    bad.name = "IMG-1.png"
    archive = ZipBytes([honest("_chat.txt", CHAT), bad]).write(tmp_path / "Chat.zip")
    _refused(warehouse, settings, archive, "IMG-1.png")


def _encrypted(name: str, content: bytes) -> Entry:
    entry = honest(name, content, method=0)
    entry.flags = 0x1
    return entry


@pytest.mark.parametrize("name", ["_chat.txt", "WhatsApp Chat with Ana.txt", "notes.txt"])
def test_an_encrypted_chat_member_is_named_as_encrypted(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path, name: str
) -> None:
    archive = ZipBytes([_encrypted(name, b"\x8a\x01garbled" * 20)]).write(tmp_path / "Ana.zip")
    error, texts = _ingest(warehouse, settings, archive)
    assert texts == []
    assert error is not None
    assert f"the chat member is encrypted (a password-protected zip: {name!r})" in error
    assert "no WhatsApp chat .txt found" not in error


def test_an_encrypted_chat_is_refused_even_beside_a_readable_forwarded_chat(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    forwarded = honest("forwarded.txt", CHAT)
    archive = ZipBytes([_encrypted("_chat.txt", b"\x00" * 64), forwarded]).write(
        tmp_path / "Ana.zip"
    )
    error, texts = _ingest(warehouse, settings, archive)
    assert texts == []
    assert error is not None
    assert "the chat member is encrypted" in error
