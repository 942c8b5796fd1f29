"""The one thing readers need from a byte source: ``read(size)``.

Files, zip members and our size-limited member reader all satisfy it, so the
chat splitter and the media store never care where bytes come from.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
from pathlib import Path
from typing import Final, Protocol

from egregora_pipeline.ingestion.stable_read import check_unchanged, snapshot

UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

_FILE_TYPES: Final = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class NotRegularFileError(OSError):
    """A path that is a pipe, device, socket or folder where a file was expected.

    Reading one could block forever (a FIFO with no writer) or never end
    (``/dev/zero``), so such paths are refused by type before any read.
    """

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(f"{what}, not a regular file; only regular files are read")
        self.path = path
        self.what = what


def file_type_name(mode: int) -> str | None:
    """What a ``st_mode`` is when it is not a regular file (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _FILE_TYPES:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading only if it is a regular file (symlinks to one are followed).

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a
    writer; the type is then checked on the open descriptor (no window between
    the check and the read), and the flag is cleared for ordinary reads.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        what = file_type_name(os.fstat(fd).st_mode)
        if what is not None:
            raise NotRegularFileError(path, what)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return io.BufferedReader(io.FileIO(fd, "rb"))
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, max_bytes: int) -> bytes | None:
    """The whole file if it is a regular file of at most ``max_bytes``, else ``None`` when larger.

    Reads at most ``max_bytes + 1`` bytes, whatever the file claims its size is, and
    raises :class:`~.stable_read.FileChangedError` when the file changed meanwhile.
    """
    with open_regular(path) as handle:
        before = snapshot(handle.fileno())
        data = handle.read(max_bytes + 1)
        if len(data) <= max_bytes:
            check_unchanged(handle.fileno(), before, path)
    return None if len(data) > max_bytes else data


class ReadableBytes(Protocol):
    """Anything with ``read(size) -> bytes`` (``b""`` at the end)."""

    def read(self, size: int = -1, /) -> bytes: ...


UTF32_BOMS: Final = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_BAD_UNIT: Final = "egregora.bad-unit"
_BAD_TO_INVALID_UTF8: Final = "egregora.bad-unit-to-invalid-utf8"


def _mark_bad_unit(error: UnicodeError) -> tuple[str, int]:
    """Decoding: an undecodable code unit (an unpaired surrogate, a cut unit) becomes a
    lone surrogate, which no valid decode ever produces."""
    assert isinstance(error, UnicodeDecodeError)
    return "\udcff", error.end


def _bad_unit_as_invalid_utf8(error: UnicodeError) -> tuple[bytes, int]:
    """Encoding: each marked unit becomes the byte 0xFF, never valid in UTF-8, so the chat
    reader treats it exactly like a bad byte of a UTF-8 export (U+FFFD and a rejection)."""
    assert isinstance(error, UnicodeEncodeError)
    return b"\xff" * (error.end - error.start), error.end


codecs.register_error(_BAD_UNIT, _mark_bad_unit)
codecs.register_error(_BAD_TO_INVALID_UTF8, _bad_unit_as_invalid_utf8)


def bom_encoding(head: bytes) -> str | None:
    """``utf-32``/``utf-16`` when ``head`` starts with that byte-order mark, else ``None``.

    UTF-32 is tried first: its little-endian mark begins with UTF-16's."""
    if head.startswith(UTF32_BOMS):
        return "utf-32"
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    return None


class Utf16AsUtf8:
    """Reads a UTF-16 or UTF-32 stream (with its BOM) as UTF-8 bytes, block by block.

    WhatsApp writes UTF-8, but a chat opened and saved again with a Windows
    editor ("Unicode") is UTF-16; transcoding while reading keeps the splitter
    UTF-8 only and memory bounded. An undecodable unit (an unpaired surrogate,
    an odd last byte) becomes the invalid UTF-8 byte 0xFF, so the splitter
    replaces it with U+FFFD and records the same rejection as bad UTF-8.
    """

    def __init__(self, raw: ReadableBytes, head: bytes = b"") -> None:
        self._raw = raw
        self._head = head
        encoding = bom_encoding(head) or "utf-16"
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=_BAD_UNIT)
        self._pending = bytearray()
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        """Exactly ``size`` bytes unless the stream ends (callers treat short as final)."""
        while not self._done and (size < 0 or len(self._pending) < size):
            block = self._head + self._raw.read(size if size > 0 else -1)
            self._head = b""
            self._done = not block
            text = self._decoder.decode(block, final=self._done)
            self._pending += text.encode("utf-8", errors=_BAD_TO_INVALID_UTF8)
        if size < 0:
            size = len(self._pending)
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out


class _Replayed:
    """``head`` then the rest of ``raw``: the bytes read to sniff the encoding are not lost."""

    def __init__(self, head: bytes, raw: ReadableBytes) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1, /) -> bytes:
        if not self._head:
            return self._raw.read(size)
        if size < 0:
            out, self._head = self._head + self._raw.read(), b""
            return out
        out = self._head[:size] + self._raw.read(max(size - len(self._head), 0))
        self._head = self._head[size:]
        return out


def as_utf8(raw: ReadableBytes) -> ReadableBytes:
    """``raw`` as UTF-8 bytes whatever its byte-order mark says: loose or zipped, a chat is
    read the same way (a UTF-16 member once had "no headers" while the same file loose
    was read)."""
    head = raw.read(4)
    if bom_encoding(head) is not None:
        return Utf16AsUtf8(raw, head)
    return _Replayed(head, raw)
