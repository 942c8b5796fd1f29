"""What an ingestion run did, per input and in total, as plain data.

The Dagster layer turns an :class:`IngestReport` into asset metadata and the
CLI into a summary table; neither needs to know how the numbers were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from egregora_pipeline.backends.sink_base import MAX_REASON_CHARS, Rejection
from egregora_pipeline.names import canonical_name, storable_name

__all__ = [
    "MAX_REASON_CHARS",
    "MAX_VALUE_CHARS",
    "IngestReport",
    "InputReport",
    "ProgressEvent",
    "Rejection",
    "canonical_name",
    "shorten",
    "storable_name",
]

MAX_VALUE_CHARS: Final = 80
"""How much of an offending value a reason quotes."""


def shorten(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, saying how long it was.

    The ``repr`` of a huge string is built only from its head, so quoting a
    20 MB value costs nothing.
    """
    if isinstance(value, str | bytes) and len(value) > limit:
        head = repr(value[:limit])
        return f"{head}... ({len(value):,} characters)"
    if isinstance(value, list | tuple | dict) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value):,} items"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


@dataclass
class InputReport:
    """The outcome for one discovered input (a chat export, a Markdown file, a media file)."""

    path: Path
    kind: str
    messages_added: int = 0
    messages_skipped: int = 0
    documents_added: int = 0
    documents_skipped: int = 0
    documents_updated: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    """The rejections to show: all of them, except for a chat, whose rejections are
    written to ``ingest_rejections`` as they are found and only the first
    :data:`~egregora_pipeline.ingestion.rejection_log.SAMPLE_SIZE` are kept here."""
    rejections_not_listed: int = 0
    """Rejections recorded in ``ingest_rejections`` but left out of ``rejections``."""
    error: str | None = None
    """Set when the input was rejected as a whole (nothing from it was written)."""
    note: str | None = None
    """For an input left alone (``kind`` ``skipped``): why, e.g. the file it repeats."""
    chat: dict[str, object] | None = None
    """For a chat: the header shape detected, the date order chosen and why, how many
    header-like lines could not be read, whether it is in time order."""
    document_ids: list[str] = field(default_factory=list)
    """The ids of the documents this input names -- added, updated or found unchanged:
    what the run-scoped data checks of ``documents`` judge, so a stored row of the
    run's own input that breaks a rule (a hand edit) is still reported by the run
    that re-reads it. Kept when the input later fails: judging an id that was
    rolled back finds nothing, missing one would hide a row."""
    unresolved_authors: list[str] = field(default_factory=list)
    """For a post: the ``authors`` names that named no profile (or several), kept as
    written, each with why (``"bruno: names no profile"``); see ``identity.ProfileIndex``."""

    @property
    def source(self) -> str:
        """The input's path as storable text in NFC (see :func:`canonical_name`)."""
        return canonical_name(self.path)

    @property
    def rejected(self) -> int:
        """Number of records refused (a whole-input failure counts as one)."""
        return len(self.rejections) + self.rejections_not_listed


@dataclass
class IngestReport:
    """Every input's report plus totals; ``failed_inputs`` are those rejected as a whole."""

    inputs: list[InputReport] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(int(getattr(report, name)) for report in self.inputs)

    @property
    def messages_added(self) -> int:
        return self._sum("messages_added")

    @property
    def messages_skipped(self) -> int:
        return self._sum("messages_skipped")

    @property
    def documents_added(self) -> int:
        return self._sum("documents_added")

    @property
    def documents_skipped(self) -> int:
        return self._sum("documents_skipped")

    @property
    def documents_updated(self) -> int:
        return self._sum("documents_updated")

    @property
    def rejected(self) -> int:
        return self._sum("rejected")

    @property
    def document_ids(self) -> list[str]:
        """Every document id the run's inputs name, once each, in write order."""
        return list(dict.fromkeys(i for report in self.inputs for i in report.document_ids))

    @property
    def unresolved_authors(self) -> dict[str, list[str]]:
        """Post source -> its author names that link to no profile (never silent)."""
        return {r.source: r.unresolved_authors for r in self.inputs if r.unresolved_authors}

    @property
    def failed_inputs(self) -> list[InputReport]:
        return [report for report in self.inputs if report.error is not None]

    @property
    def ok(self) -> bool:
        """True when no input failed as a whole (record-level rejections are allowed)."""
        return not self.failed_inputs


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of one input: ``done`` of ``total`` (``None`` if unknown) in ``unit``."""

    path: Path
    kind: str
    done: int
    total: int | None
    unit: str
