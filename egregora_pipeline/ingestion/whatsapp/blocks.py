"""Reading a chat block by block into the parser's compute engine (DuckDB).

The chat is read one block (64 MiB by default) at a time; the splitter
(:mod:`.parser`) cuts each block into messages, and each block's messages are
classified by the staging SQL (:mod:`.staging`) into the stage table, the
messages whose header cannot be read into theirs. One block in memory at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Final

import duckdb
import pyarrow as pa

from egregora_pipeline.ingestion.streams import ReadableBytes
from egregora_pipeline.ingestion.whatsapp.formats import HeaderShape
from egregora_pipeline.ingestion.whatsapp.parser import MessageSplitter
from egregora_pipeline.ingestion.whatsapp.staging import stage_sql
from egregora_pipeline.sql import quote_ident

_CHUNK: Final = "_egregora_chunk"


class Replay:
    """``stream`` with its first block, already read, given back by the first ``read``.

    The block is dropped once given: the caller's reference would otherwise
    keep 64 MiB alive for the whole load."""

    def __init__(self, first: bytes, stream: ReadableBytes) -> None:
        self._first: bytes | None = first
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        first, self._first = self._first, None
        return first if first is not None else self._stream.read(size)


def stage_blocks(
    conn: duckdb.DuckDBPyConnection,
    stream: ReadableBytes,
    splitter: MessageSplitter,
    shape: HeaderShape,
    block_bytes: int,
    progress: Callable[[int], None] | None,
    *,
    stage: str,
    unreadable: str,
) -> None:
    """Split the chat block by block into the stage table (and the unreadable-header
    messages into theirs): one block in memory at a time."""
    insert = stage_sql(stage, _CHUNK, shape)
    set_aside = (
        f"INSERT INTO {quote_ident(unreadable)} "
        f"SELECT line_no, rtrim(substr(m, 2), chr(10)) FROM {quote_ident(_CHUNK)}"
    )
    while True:
        block = stream.read(block_bytes)
        final = len(block) < block_bytes
        chunk = splitter.feed(block, final=final)
        del block  # ``chunk`` views what it needs; the next read must not double the peak
        if chunk is not None:
            _stage_chunk(conn, insert, chunk)
            del chunk
            if progress is not None:
                progress(splitter.result.messages)
        aside = splitter.result.unreadable_chunks
        while aside:
            _stage_chunk(conn, set_aside, aside.pop(0))
        if final:
            return


def _stage_chunk(conn: duckdb.DuckDBPyConnection, insert: str, chunk: pa.Table) -> None:
    """Run ``insert`` over ``chunk``, registered as a stream of record batches.

    Not as the table itself: inside a transaction DuckDB keeps a registered
    table alive until ``COMMIT``, even after ``unregister``, and each chunk
    views its whole read block, so every block of the chat stayed in memory
    until the chat was loaded (552 MiB of a 6M-message chat). A consumed
    stream keeps nothing.
    """
    reader = pa.RecordBatchReader.from_batches(chunk.schema, chunk.to_batches())
    conn.register(_CHUNK, reader)
    try:
        conn.execute(insert)
    finally:
        quietly(conn.unregister, _CHUNK)


def quietly(action: Callable[[str], object], argument: str) -> None:
    """Clean up without masking the error that got us here (an aborted transaction
    refuses even ``unregister``; the caller's ROLLBACK undoes everything anyway)."""
    with contextlib.suppress(duckdb.Error):
        action(argument)
