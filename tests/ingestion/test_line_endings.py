"""Every line ending ends a line: LF, CRLF and a lone CR (old Mac editors, some export
tools), in any mix, so a header after any of them starts a message (issue 22, item 1)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.whatsapp.parser import MessageSplitter, sniff_shape
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import ChatRun, make_zip, messages

LINES = [
    "31/12/2019, 23:55 - Ana: one",
    "still one",
    "31/12/2019, 23:56 - Bob: two",
    "31/12/2019, 23:57 - Ana: three",
    "more of three",
    "31/12/2019, 23:58 - Bob: four",
]
EXPECTED = ["one\nstill one", "two", "three\nmore of three", "four"]


def _join(endings: list[str]) -> bytes:
    """``LINES`` with the n-th line ended by ``endings[n % len(endings)]``."""
    return "".join(
        line + endings[number % len(endings)] for number, line in enumerate(LINES)
    ).encode()


@pytest.mark.parametrize(
    "endings",
    [["\r"], ["\r\n"], ["\n"], ["\r", "\n"], ["\r\n", "\r"], ["\n", "\r\n", "\r"], ["\r", "\r\n"]],
    ids=["CR", "CRLF", "LF", "CR+LF", "CRLF+CR", "LF+CRLF+CR", "CR+CRLF"],
)
def test_a_header_after_any_line_ending_starts_a_message(
    ingest_chat: Callable[..., ChatRun], endings: list[str]
) -> None:
    run = ingest_chat(_join(endings))
    assert [m["text"] for m in run.messages] == EXPECTED
    assert run.report.rejected == 0


def test_a_lone_cr_export_inside_a_zip_is_split_the_same(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    archive = make_zip(tmp_path / "WhatsApp Chat with Ana.zip", {"_chat.txt": _join(["\r"])})
    ingest(warehouse, [archive], settings=settings, run_id="t")
    assert [m["text"] for m in messages(warehouse)] == EXPECTED


def test_line_numbers_count_lone_cr_lines(ingest_chat: Callable[..., ChatRun]) -> None:
    data = b"31/12/2019, 23:55 - Ana: one\r31/12/2019, 25:56 - Bob: bad hour\r"
    run = ingest_chat(data)
    (bad,) = [r for r in run.report.inputs[0].rejections if "hour" in r.reason]
    assert bad.line_number == 2


def _split(data: bytes, block: int) -> list[tuple[int, str]]:
    splitter = MessageSplitter(sniff_shape(data, path="chat"), path="chat")
    stream = io.BytesIO(data)
    tables: list[pa.Table] = []
    while True:
        chunk = stream.read(block)
        final = len(chunk) < block
        table = splitter.feed(chunk, final=final)
        if table is not None:
            tables.append(table)
        if final:
            break
    return [(row["line_no"], row["m"]) for t in tables for row in t.to_pylist()]


def test_a_crlf_cut_between_two_blocks_is_one_line_ending() -> None:
    """The CR that ends one block and the LF that starts the next are one ending, not an
    empty line; a block ending in a lone CR still ends the line."""
    for endings in (["\r\n"], ["\r"], ["\r", "\r\n", "\n"]):
        data = _join(endings) * 3
        whole = _split(data, 1 << 20)
        assert len(whole) == 12
        for block in range(5, 80):
            assert _split(data, block) == whole, (endings, block)


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"], ids=["CR", "CRLF", "LF"])
def test_a_markdown_post_with_any_line_ending_keeps_its_front_matter(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path, ending: str
) -> None:
    post = tmp_path / "posts" / "hello.md"
    post.parent.mkdir()
    lines = ["---", "title: Hello", "date: 2024-01-31", "status: published", "---", "Body", "end"]
    post.write_bytes(ending.join(lines).encode())
    report = ingest(warehouse, [post], settings=settings, run_id="t")
    assert report.rejected == 0
    ((title, content),) = warehouse.execute("SELECT title, content FROM documents").fetchall()
    assert title == "Hello"
    assert content.splitlines() == ["Body", "end"]
