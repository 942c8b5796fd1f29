"""The one thing readers need from a byte source: ``read(size)``.

Files, zip members and our size-limited member reader all satisfy it, so the
chat splitter and the media store never care where bytes come from.
"""

from __future__ import annotations

from typing import Protocol


class ReadableBytes(Protocol):
    """Anything with ``read(size) -> bytes`` (``b""`` at the end)."""

    def read(self, size: int = -1, /) -> bytes: ...
