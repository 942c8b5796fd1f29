"""The one thing readers need from a byte source: ``read(size)``.

Files, zip members and our size-limited member reader all satisfy it, so the
chat splitter and the media store never care where bytes come from.
"""

from __future__ import annotations

import codecs
from typing import Final, Protocol

UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


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
