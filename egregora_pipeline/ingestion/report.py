"""What an ingestion run did, per input and in total, as plain data.

The Dagster layer turns an :class:`IngestReport` into asset metadata and the
CLI into a summary table; neither needs to know how the numbers were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Rejection:
    """One record ingestion refused: which file, where in it, why, and the raw text.

    ``line_number`` / ``column_number`` are 1-based and ``None`` when the
    problem concerns the file as a whole (e.g. a Markdown file without title).
    """

    source_path: str
    line_number: int | None
    column_number: int | None
    reason: str
    raw: str | None = None


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
    error: str | None = None
    """Set when the input was rejected as a whole (nothing from it was written)."""
    chat: dict[str, object] | None = None
    """For a chat: the header shape detected, the date order chosen and why, how many
    header-like lines could not be read, whether it is in time order."""

    @property
    def rejected(self) -> int:
        """Number of records refused (a whole-input failure counts as one)."""
        return len(self.rejections)


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
