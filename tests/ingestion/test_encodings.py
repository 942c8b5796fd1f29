"""A chat is read the same loose and zipped, in UTF-8, UTF-16 and UTF-32 with a byte-order
mark, and a damaged code unit is treated alike in every encoding: U+FFFD in the text and a
rejection saying so (issue 22, item 6)."""

from __future__ import annotations

import codecs
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import make_zip, messages

CHAT = "31/12/2019, 23:58 - Zoë: olá 😀\n31/12/2019, 23:59 - Ana: ok\nsecond line\n"
EXPECTED = ["olá 😀", "ok\nsecond line"]
ENCODINGS = {
    "utf-8": CHAT.encode(),
    "utf-8-bom": codecs.BOM_UTF8 + CHAT.encode(),
    "utf-16-le": codecs.BOM_UTF16_LE + CHAT.encode("utf-16-le"),
    "utf-16-be": codecs.BOM_UTF16_BE + CHAT.encode("utf-16-be"),
    "utf-32-le": codecs.BOM_UTF32_LE + CHAT.encode("utf-32-le"),
    "utf-32-be": codecs.BOM_UTF32_BE + CHAT.encode("utf-32-be"),
}
DAMAGE_REASON = "the chat is not valid text in its encoding"


def _run(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, path: Path
) -> tuple[list[str], list[str]]:
    report = ingest(warehouse, [path], settings=settings, run_id="t")
    assert report.inputs[0].error is None, report.inputs[0].error
    return [m["text"] for m in messages(warehouse)], [r.reason for r in report.inputs[0].rejections]


def _place(tmp_path: Path, data: bytes, zipped: bool) -> Path:
    if zipped:
        return make_zip(tmp_path / "WhatsApp Chat with Zoë.zip", {"_chat.txt": data})
    path = tmp_path / "WhatsApp Chat with Zoë.txt"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("zipped", [False, True], ids=["loose", "zipped"])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_every_encoding_reads_the_same_loose_and_zipped(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    encoding: str,
    zipped: bool,
) -> None:
    texts, reasons = _run(warehouse, settings, _place(tmp_path, ENCODINGS[encoding], zipped))
    assert texts == EXPECTED
    assert reasons == []


def _damaged(encoding: str) -> bytes:
    """``CHAT`` with an unpaired high surrogate (or, in UTF-8, a bad byte) inside "olá"."""
    if encoding == "utf-8":
        return CHAT.replace("olá", "ol\udcffá").encode("utf-8", "surrogateescape")
    unit = {"utf-16-le": b"\x00\xd8", "utf-16-be": b"\xd8\x00"}[encoding]
    bom = codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE
    before, after = CHAT.split("á", 1)
    return bom + before.encode(encoding) + unit + ("á" + after).encode(encoding)


@pytest.mark.parametrize("zipped", [False, True], ids=["loose", "zipped"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be"])
def test_an_unpaired_surrogate_is_a_rejection_like_a_bad_utf8_byte(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    encoding: str,
    zipped: bool,
) -> None:
    texts, reasons = _run(warehouse, settings, _place(tmp_path, _damaged(encoding), zipped))
    assert texts == ["ol\ufffdá 😀", "ok\nsecond line"]
    assert len(reasons) == 1
    assert reasons[0].startswith(DAMAGE_REASON)


def test_a_lone_low_surrogate_and_an_odd_last_byte_are_damage_too(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    data = codecs.BOM_UTF16_LE + CHAT.encode("utf-16-le") + b"\x00\xdcx"  # low, then half
    texts, reasons = _run(warehouse, settings, _place(tmp_path, data, False))
    assert texts == ["olá 😀", "ok\nsecond line\n\ufffd\ufffd"]
    assert [r[: len(DAMAGE_REASON)] for r in reasons] == [DAMAGE_REASON]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_markdown_post_with_an_unpaired_surrogate_is_refused_with_its_line(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path, encoding: str
) -> None:
    post = tmp_path / "posts" / "p.md"
    post.parent.mkdir()
    good = "---\ntitle: T\ndate: 2024-01-31\n---\n"
    unit = b"\x00\xd8" if encoding == "utf-16" else b"\x00\xd8\x00\x00"
    post.write_bytes(good.encode(encoding) + unit + "body\n".encode(f"{encoding}-le"))
    report = ingest(warehouse, [post], settings=settings, run_id="t")
    (rejection,) = report.inputs[0].rejections
    assert rejection.reason.startswith(f"not valid {encoding.upper()}")
    assert rejection.line_number == 5
