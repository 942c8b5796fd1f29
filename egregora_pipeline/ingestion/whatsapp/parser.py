"""Split a WhatsApp chat into messages without a Python loop over lines.

The chat bytes are cut into lines with numpy (newline positions), the strict
header pattern of the file's shape (:func:`formats.header_pattern`) is run
over all lines at once by Arrow's RE2 kernel, and each message becomes one
element of a zero-copy Arrow string array whose offsets are the header lines'
positions. A message therefore keeps all its continuation lines, whatever
they start with, and no Python object is created per line or per message.

Input is consumed in blocks (``block_bytes``) so memory stays bounded on
huge exports: the last message of a block is carried into the next one,
because its continuation lines may follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from egregora_pipeline.ingestion.errors import ChatFormatError
from egregora_pipeline.ingestion.whatsapp.formats import (
    HeaderShape,
    detect_shape,
    header_like_pattern,
    header_pattern,
    split_lines,
)

DEFAULT_BLOCK_BYTES: Final = 64 * 1024 * 1024
"""Bytes read per step. The splitter alone peaks at about six times a block (the
block, its copy with the carried tail, line offsets, match masks, the Arrow chunk
DuckDB is still scanning: on a 2M-message chat 469 MB at 64 MiB, 191 MB at 16 MiB,
imports alone 83 MB), but a whole ingest is dominated by DuckDB: on a 6M-message
chat under the chat memory limit, 64/32/16 MiB blocks peaked at 2046/1983/1961 MB
and took 50/53/61 s (measured while every block was still held to the end, see
docs/ingestion.md, *Memory*), so the larger block stays."""
BATCH_ROWS: Final = 32_768
_BOM: Final = b"\xef\xbb\xbf"
_SNIFF_BYTES: Final = 1024 * 1024

CHUNK_SCHEMA: Final = pa.schema(
    [("ord", pa.int64()), ("line_no", pa.int64()), ("m", pa.large_string())]
)
"""One row per message: 1-based ordinal, 1-based line of its header, and the
message text *preceded by a newline* (header included), as the header
pattern expects."""


@dataclass(frozen=True)
class OrphanLines:
    """Text before the first header: it belongs to no message, so it is rejected."""

    first_line: int
    last_line: int
    text: str


@dataclass(frozen=True)
class UnreadableHeader:
    """A message whose header line starts like this file's headers but cannot be read.

    It ends the message before it (never glued onto it) and is rejected whole,
    its continuation lines included.
    """

    line: int
    text: str


@dataclass
class SplitResult:
    """What the splitter saw besides the messages it yielded."""

    messages: int = 0
    lines: int = 0
    invalid_utf8_blocks: int = 0
    orphans: list[OrphanLines] = field(default_factory=list)
    unreadable_count: int = 0
    """Messages set aside because their header cannot be read."""
    unreadable_chunks: list[pa.Table] = field(default_factory=list)
    """Those messages as Arrow tables of :data:`CHUNK_SCHEMA` (no Python object per
    message: a chat can hold a million); a reader may take them out as it goes."""
    undecorated_headers: bool = True
    """Every header starts with a digit (no ``[``, no bidi mark): the loader then
    skips trimming headers before parsing their dates, a measurable cost."""

    @property
    def unreadable(self) -> list[UnreadableHeader]:
        """The set-aside messages still in :attr:`unreadable_chunks`, as Python objects."""
        return [
            UnreadableHeader(int(line), str(text)[1:].rstrip("\n"))
            for chunk in self.unreadable_chunks
            for line, text in zip(
                chunk.column("line_no").to_pylist(), chunk.column("m").to_pylist(), strict=True
            )
        ]


def sniff_shape(head: bytes, *, path: str) -> HeaderShape:
    """Detect the header shape from the first bytes of a chat (raises if none)."""
    text = head.removeprefix(_BOM)[:_SNIFF_BYTES].decode("utf-8", errors="replace")
    shape = detect_shape(split_lines(text))
    if shape is None:
        raise ChatFormatError(
            path,
            "no line looks like a WhatsApp message header (e.g. '31/12/2019, 23:59 - Name: text' "
            "or '[31/12/2019, 23:59:59] Name: text')",
            line_number=1,
        )
    return shape


def normalize_line_ends(buf: bytes) -> bytes:
    """CRLF and lone CR become LF, so a header after any line ending starts a message."""
    if b"\r" not in buf:
        return buf
    return buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _to_lines(work: memoryview, nl: np.ndarray) -> pa.LargeStringArray:
    offsets = np.append(nl, len(work)).astype(np.int64)
    array = pa.LargeStringArray.from_buffers(len(nl), pa.py_buffer(offsets), pa.py_buffer(work))
    return array


def _int64s(values: np.ndarray) -> pa.Int64Array:
    """Zero-copy Arrow view of an int64 numpy array.

    ``pa.array(ndarray)`` would do too, but it imports pandas (about 0.5 s) to
    check whether the argument is a pandas object; a chat-only ingest never
    needs pandas.
    """
    array = pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])
    assert isinstance(array, pa.Int64Array)
    return array


def _numpy_view(indices: pa.Array) -> np.ndarray:
    """Zero-copy int64 numpy view of a null-free ``uint64`` index array.

    ``Array.to_numpy()`` imports pandas (about 0.5 s at start-up), which a
    chat-only ingest never needs otherwise.
    """
    data = indices.buffers()[1]
    if data is None or not len(indices):
        return np.zeros(0, dtype=np.int64)
    values = np.frombuffer(data, dtype=np.uint64)
    return values[indices.offset : indices.offset + len(indices)].astype(np.int64)


class MessageSplitter:
    """Turns blocks of chat bytes into Arrow tables of whole messages (see module doc)."""

    def __init__(self, shape: HeaderShape, *, path: str) -> None:
        self.pattern = header_pattern(shape)
        self.like_pattern = header_like_pattern(shape)
        self.path = path
        self.result = SplitResult()
        self._carry = b"\n"
        self._held_cr = False
        """The block ended in CR: held back, for the next block may start with its LF."""
        self._pending: list[bytes] = []
        """Blocks with no line end yet (one long line): joined once, when its end arrives,
        instead of copying and re-scanning the growing line at every block."""
        self._carry_is_message = False
        self._line_offset = 0
        self._first = True
        self._ords = 0
        """Ordinals handed out, unreadable headers included (they leave a gap)."""

    def _set_aside_unreadable(self, table: pa.Table, readable: pa.BooleanArray) -> pa.Table:
        """Move the messages whose header is unreadable out of ``table`` into the result."""
        unreadable = table.filter(pc.invert(readable))
        self.result.unreadable_chunks.append(unreadable)
        self.result.unreadable_count += unreadable.num_rows
        self.result.messages -= unreadable.num_rows
        return table.filter(readable)

    def feed(self, block: bytes, *, final: bool = False) -> pa.Table | None:
        """Add ``block``; return the messages now known to be complete (or ``None``)."""
        if self._first:
            block = block.removeprefix(_BOM)
        if self._held_cr:
            block = b"\r" + block
        self._held_cr = not final and block.endswith(b"\r")
        if self._held_cr:
            block = block[:-1]
        # the carry is already normalized and a CR at the block's end is held back, so
        # normalizing the block alone gives the bytes normalizing both together would
        piece = normalize_line_ends(block)
        if not final and b"\n" not in piece:
            self._pending.append(piece)
            return None
        buf = b"".join([self._carry, *self._pending, piece])
        self._pending.clear()
        del piece
        # ``work`` is a zero-copy view: slicing the bytes copied the whole block
        # (tens of MB) once more per block.
        if final:
            cut = len(buf)
            while cut and buf[cut - 1] == 10:
                cut -= 1
            work, tail = memoryview(buf)[:cut], b""
        else:
            cut = max(buf.rfind(b"\n"), 0)
            work, tail = memoryview(buf)[:cut], buf[cut:]
        if not work:
            self._carry = tail or b"\n"
            return None
        nl = np.flatnonzero(np.frombuffer(work, dtype=np.uint8) == 10)
        lines = _to_lines(work, nl)
        try:
            lines.validate(full=True)
        except pa.ArrowInvalid:
            self.result.invalid_utf8_blocks += 1
            work = memoryview(bytes(work).decode("utf-8", errors="replace").encode("utf-8"))
            nl = np.flatnonzero(np.frombuffer(work, dtype=np.uint8) == 10)
            lines = _to_lines(work, nl)
        strict = pc.match_substring_regex(lines, self.pattern)
        # Lines that start like a header of this file but are not one end the
        # message before them too: they become rejections, never continuation text.
        boundary = pc.or_(strict, pc.match_substring_regex(lines, self.like_pattern))
        headers = _numpy_view(pc.indices_nonzero(boundary))
        if self._first:
            self._first = False
            first_header = int(headers[0]) if len(headers) else len(nl)
            if first_header > 0:
                end = int(nl[first_header]) if first_header < len(nl) else len(work)
                orphan = bytes(work[1:end]).decode("utf-8", errors="replace")
                if orphan.strip():
                    self.result.orphans.append(OrphanLines(1, first_header, orphan))
            if not len(headers):
                raise ChatFormatError(self.path, "no message header found", line_number=1)
        keep = headers if final else headers[:-1]
        base = self._line_offset
        if final:
            self.result.lines = base + len(nl)
            end = len(work)
        else:
            end = int(nl[headers[-1]])
            self._carry = bytes(work[end:]) + tail
            self._line_offset += int(headers[-1])
        if not len(keep):
            return None
        starts = nl[keep]
        if self.result.undecorated_headers:
            first_bytes = np.frombuffer(work, dtype=np.uint8)[starts + 1]
            self.result.undecorated_headers = bool(((first_bytes - 48) <= 9).all())
        offsets = np.append(starts, end).astype(np.int64)
        messages = pa.LargeStringArray.from_buffers(
            len(keep), pa.py_buffer(offsets), pa.py_buffer(work)
        )
        first_ord = self._ords + 1
        self._ords += len(keep)
        self.result.messages += len(keep)
        table = pa.Table.from_arrays(
            [
                _int64s(np.arange(first_ord, first_ord + len(keep), dtype=np.int64)),
                _int64s(keep.astype(np.int64) + base + 1),
                messages,
            ],
            schema=CHUNK_SCHEMA,
        )
        readable = pc.array_take(strict, _int64s(keep.astype(np.int64)))
        if not pc.all(readable).as_py():
            table = self._set_aside_unreadable(table, readable)
        # Zero-copy slices: several record batches let DuckDB scan with all its threads.
        return pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), CHUNK_SCHEMA)
