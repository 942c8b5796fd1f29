"""The streaming splitter gives the same messages whatever the block size, so huge exports
can be read with bounded memory."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from egregora_pipeline.backends.sink_sql import insert_new_messages
from egregora_pipeline.ingestion.errors import InvalidSettingError
from egregora_pipeline.ingestion.whatsapp.budget import MEMORY_LIMIT_ENV, chat_memory_budget
from egregora_pipeline.ingestion.whatsapp.messages import load_chat
from egregora_pipeline.ingestion.whatsapp.parser import MessageSplitter, sniff_shape

CHAT = (
    "\ufeff31/12/2019, 23:59 - Ana: first\ncontinued\n"
    + "".join(f"01/01/2020, 00:{i:02d} - Bob: message {i}\nline two\n" for i in range(40))
    + "01/01/2020, 01:00 - Ana: last\n"
).encode()


def _split(data: bytes, block: int) -> tuple[list[tuple[int, int, str]], int]:
    shape = sniff_shape(data, path="chat")
    splitter = MessageSplitter(shape, path="chat")
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
    out = [(row["ord"], row["line_no"], row["m"]) for t in tables for row in t.to_pylist()]
    return out, splitter.result.lines


def test_block_size_does_not_change_the_messages() -> None:
    whole, lines = _split(CHAT, 1 << 20)
    assert len(whole) == 42
    assert lines == 83
    assert whole[0] == (1, 1, "\n31/12/2019, 23:59 - Ana: first\ncontinued")
    assert whole[-1][:2] == (42, 83)
    for block in (7, 64, 100, 333):
        assert _split(CHAT, block)[0] == whole


def test_a_line_longer_than_many_blocks_is_one_message_whatever_the_line_ends() -> None:
    """A message line spanning blocks that hold no line end (kept aside, joined once its
    end arrives) splits as it does read in one block, CRLF and lone CR ends included."""
    long_text = "x" * 997
    for end in ("\n", "\r\n", "\r"):
        data = (
            f"01/01/2020, 00:00 - Ana: {long_text}{end}continued{end}"
            f"01/01/2020, 00:01 - Bob: after{end}01/01/2020, 00:02 - Ana: {long_text}{end}"
        ).encode()
        whole, lines = _split(data, 1 << 20)
        assert [m for _, _, m in whole][1:] == [
            "\n01/01/2020, 00:01 - Bob: after",
            f"\n01/01/2020, 00:02 - Ana: {long_text}",
        ]
        assert lines == 4
        for block in (5, 64, 101, 999):
            assert _split(data, block) == (whole, lines), (repr(end), block)


def test_lines_before_the_first_header_are_orphans() -> None:
    data = b"exported by someone\n31/12/2019, 23:59 - Ana: hi\n"
    splitter = MessageSplitter(sniff_shape(data, path="c"), path="c")
    table = splitter.feed(data, final=True)
    assert table is not None
    assert table.num_rows == 1
    (orphan,) = splitter.result.orphans
    assert (orphan.first_line, orphan.last_line, orphan.text) == (1, 1, "exported by someone")


def test_invalid_utf8_and_crlf_are_repaired_in_every_block() -> None:
    data = (
        b"31/12/2019, 23:59 - Ana: caf\xe9 com p\xe3o\r\n"
        b"01/01/2020, 00:01 - Bob: ok\r\nsecond line\r\n\r\n"
    )
    for block in (16, 1 << 20):
        shape = sniff_shape(data, path="c")
        splitter = MessageSplitter(shape, path="c")
        stream = io.BytesIO(data)
        texts: list[str] = []
        while True:
            chunk = stream.read(block)
            final = len(chunk) < block
            table = splitter.feed(chunk, final=final)
            if table is not None:
                texts.extend(table.column("m").to_pylist())
            if final:
                break
        assert texts == [
            "\n31/12/2019, 23:59 - Ana: caf\ufffd com p\ufffdo",
            "\n01/01/2020, 00:01 - Bob: ok\nsecond line",
        ]
        assert splitter.result.invalid_utf8_blocks >= 1


def test_a_marked_or_bracketed_header_in_any_block_is_noticed() -> None:
    plain = b"".join(b"01/01/2020, 00:%02d - Bob: message\n" % i for i in range(30))
    marked = plain + "\u200e01/01/2020, 00:59 - Ana: late\n".encode()
    for data, expected in ((plain, True), (marked, False)):
        for block in (64, 1 << 20):
            splitter = MessageSplitter(sniff_shape(data, path="c"), path="c")
            stream = io.BytesIO(data)
            while True:
                chunk = stream.read(block)
                final = len(chunk) < block
                splitter.feed(chunk, final=final)
                if final:
                    break
            assert splitter.result.undecorated_headers is expected, (block, expected)


def test_unreadable_headers_are_set_aside_whatever_the_block_size() -> None:
    data = (
        "31/12/2019, 23:59 - Ana: first\n"
        + "".join(
            f"01/01/2020, 00:{i:02d} - Bob: message {i}\n"
            + (f"01/01/2020, 0:{i:03d} - Bob: broken {i}\nits tail\n" if i % 5 == 0 else "")
            for i in range(20)
        )
    ).encode()

    def split(block: int) -> tuple[list[tuple[int, int, str]], list[tuple[int, str]]]:
        splitter = MessageSplitter(sniff_shape(data, path="c"), path="c")
        stream = io.BytesIO(data)
        rows: list[tuple[int, int, str]] = []
        while True:
            chunk = stream.read(block)
            final = len(chunk) < block
            table = splitter.feed(chunk, final=final)
            if table is not None:
                rows += [(r["ord"], r["line_no"], r["m"]) for r in table.to_pylist()]
            if final:
                break
        assert splitter.result.messages == len(rows)
        return rows, [(u.line, u.text) for u in splitter.result.unreadable]

    rows, unreadable = split(1 << 20)
    assert len(rows) == 21
    assert unreadable[0] == (3, "01/01/2020, 0:000 - Bob: broken 0\nits tail")
    assert len(unreadable) == 4
    assert all("broken" not in text for _, _, text in rows)
    assert len({ordinal for ordinal, _, _ in rows}) == 21  # ordinals stay unique
    for block in (9, 50, 128):
        assert split(block) == (rows, unreadable)


def test_a_chat_loads_under_its_memory_limit_and_the_connection_gets_its_own_back(
    tmp_path: Path,
) -> None:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    before = conn.execute("SELECT current_setting('memory_limit')").fetchone()  # DuckDB's
    seen: list[object] = []
    with chat_memory_budget(conn, {}):
        seen.append(conn.execute("SELECT current_setting('memory_limit')").fetchone())
    assert seen == [("953.6 MiB",)]  # the 1GB default while the chat loads
    assert conn.execute("SELECT current_setting('memory_limit')").fetchone() == before
    with chat_memory_budget(conn, {MEMORY_LIMIT_ENV: "default"}):
        assert conn.execute("SELECT current_setting('memory_limit')").fetchone() == before
    with (
        pytest.raises(InvalidSettingError, match=MEMORY_LIMIT_ENV),
        chat_memory_budget(conn, {MEMORY_LIMIT_ENV: "lots"}),
    ):
        pass
    assert conn.execute("SELECT current_setting('memory_limit')").fetchone() == before


def test_only_a_chat_bigger_than_one_block_loads_under_the_memory_limit(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    default = warehouse.execute("SELECT current_setting('memory_limit')").fetchone()
    seen: list[object] = []
    probe = warehouse.cursor()  # the limit is the database's: another cursor sees it

    def load(block_bytes: int) -> None:
        seen.clear()
        load_chat(
            warehouse,
            io.BytesIO(CHAT),
            source_path="chat.txt",
            thread_id=f"t{block_bytes}",
            tenant_id="default",
            timezone="UTC",
            namespace=uuid.UUID(int=1),
            run_id="r",
            write=insert_new_messages,
            block_bytes=block_bytes,
            progress=lambda _: seen.append(
                probe.execute("SELECT current_setting('memory_limit')").fetchone()
            ),
        )

    load(1 << 20)  # the whole chat in one block
    assert set(seen) == {default}
    load(256)  # many blocks: a big chat
    assert set(seen) == {("953.6 MiB",)}
    assert warehouse.execute("SELECT current_setting('memory_limit')").fetchone() == default
