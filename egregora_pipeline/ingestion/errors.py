"""Typed errors of the ingestion library.

Each error names the input (and where known the line, member or column) and
says what was expected, so a user can fix the file without reading our code.
Only the CLI turns them into exit codes; :func:`~egregora_pipeline.ingestion.ingest`
catches them per input so that one bad input never stops the others.
"""

from __future__ import annotations

from pathlib import Path

from egregora_pipeline.errors import IngestionError, WarehouseConnectionLostError


class UnsupportedInputError(IngestionError):
    """A path given to ``ingest`` is not a WhatsApp export, Markdown file or media file."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsafeArchiveError(IngestionError):
    """A zip archive is hostile or broken (zip slip, zip bomb, too many members, corrupt)."""

    def __init__(self, path: Path, reason: str, member: str | None = None) -> None:
        where = f" (member {member!r})" if member is not None else ""
        super().__init__(f"refusing archive {path}{where}: {reason}")
        self.path = path
        self.member = member
        self.reason = reason


class ChatNotFoundError(IngestionError):
    """A zip archive holds no chat text file that parses as a WhatsApp export, or
    several that do and none named like the archive (``several=True``)."""

    def __init__(self, path: Path, candidates: list[str], *, several: bool = False) -> None:
        listed = ", ".join(repr(c) for c in candidates) or "none"
        if several:
            message = (
                f"{path}: the archive holds several WhatsApp chats ({listed}) and none is "
                "named like the archive; extract them and ingest each .txt on its own"
            )
        else:
            message = (
                f"{path}: no WhatsApp chat .txt found in the archive (text members: {listed}); "
                "expected e.g. '_chat.txt' or 'WhatsApp Chat with <name>.txt'"
            )
        super().__init__(message)
        self.path = path
        self.candidates = candidates


class ChatFormatError(IngestionError):
    """A chat text file does not look like any supported WhatsApp export shape."""

    def __init__(self, path: Path | str, reason: str, line_number: int | None = None) -> None:
        where = f":{line_number}" if line_number is not None else ""
        super().__init__(f"{path}{where}: {reason}")
        self.path = path
        self.line_number = line_number
        self.reason = reason


class DateOrderError(ChatFormatError):
    """No date order reads every header of a chat (the message names the orders that read most)."""


class InvalidSettingError(IngestionError):
    """A setting ingestion depends on (time zone, date order) has an unusable value."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r} is not usable: expected {expected}")
        self.name = name
        self.value = value
        self.expected = expected


__all__ = [
    "ChatFormatError",
    "ChatNotFoundError",
    "DateOrderError",
    "IngestionError",
    "InvalidSettingError",
    "UnsafeArchiveError",
    "UnsupportedInputError",
    "WarehouseConnectionLostError",
]
