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

    Reads at most ``max_bytes + 1`` bytes, whatever the file claims its size is.
    """
    with open_regular(path) as handle:
        data = handle.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


class ReadableBytes(Protocol):
    """Anything with ``read(size) -> bytes`` (``b""`` at the end)."""

    def read(self, size: int = -1, /) -> bytes: ...


def is_utf16(head: bytes) -> bool:
    """True when ``head`` starts with a UTF-16 byte-order mark (Windows "Unicode" text)."""
    return head.startswith(UTF16_BOMS)


class Utf16AsUtf8:
    """Reads a UTF-16 stream (with its BOM) as UTF-8 bytes, block by block.

    WhatsApp writes UTF-8, but a chat opened and saved again with a Windows
    editor ("Unicode") is UTF-16; transcoding while reading keeps the splitter
    UTF-8 only and memory bounded. Undecodable units become U+FFFD.
    """

    def __init__(self, raw: ReadableBytes) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self._pending = bytearray()
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        """Exactly ``size`` bytes unless the stream ends (callers treat short as final)."""
        while not self._done and (size < 0 or len(self._pending) < size):
            block = self._raw.read(size if size > 0 else -1)
            self._done = not block
            self._pending += self._decoder.decode(block, final=self._done).encode("utf-8")
        if size < 0:
            size = len(self._pending)
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out
