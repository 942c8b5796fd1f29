"""Where an ingestion run writes: the operations the pipeline needs of a warehouse.

The pipeline (:mod:`egregora_pipeline.ingestion.pipeline`) reads inputs and
decides what to write; a *sink* writes it. Keeping the writes behind this small
protocol is what lets the same pipeline -- its per-input transactions, its retry
of a failed group input by input, its counts -- load a DuckDB file
(:class:`~egregora_pipeline.backends.duckdb.sink.DuckDBSink`, the embedded
default) or a PostgreSQL server
(:class:`~egregora_pipeline.backends.postgres.sink.PostgresSink`, parsing in
DuckDB, loading with COPY). A backend opens its sink with
:meth:`~egregora_pipeline.backends.base.Backend.open_sink`.

Every operation runs inside the sink's current :meth:`Sink.transaction`; a
sink never commits on its own.

The plain data a sink exchanges with the pipeline lives here too (a
:class:`Rejection`, the :class:`ChatParse` it runs), so no backend imports
the ingestion library: the pipeline hands the sink what to run. A chat is
parsed by DuckDB SQL (the parser's compute engine); the sink says *which*
DuckDB connection it runs on (the warehouse's own, or a private in-memory one)
and how the parsed rows are written (:class:`MessageWriter`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

from egregora_pipeline.names import canonical_name, storable_name

MAX_REASON_CHARS: Final = 1000
"""A reason longer than this is cut (the file and line say where the rest is):
a 10 MB front-matter value must not become a 20 MB reason."""


def _clip(reason: str) -> str:
    reason = storable_name(reason)
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    return f"{reason[:MAX_REASON_CHARS]}... (reason cut at {MAX_REASON_CHARS} characters)"


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

    def __post_init__(self) -> None:
        # Names and reasons are stored, printed and serialized: make them safe once, here.
        object.__setattr__(self, "source_path", canonical_name(self.source_path))
        object.__setattr__(self, "reason", _clip(self.reason))
        if self.raw is not None:
            object.__setattr__(self, "raw", storable_name(self.raw))


class RejectionSink(Protocol):
    """Where a reader puts the rejections it finds (a plain ``list`` is one)."""

    def extend(self, rejections: Iterable[Rejection], /) -> None: ...


class ChatCounts(Protocol):
    """What a sink may correct in a parsed chat's outcome: how many messages were added."""

    added: int
    skipped: int


Counts = TypeVar("Counts", bound=ChatCounts)
Counts_co = TypeVar("Counts_co", bound=ChatCounts, covariant=True)


class MessageWriter(Protocol):
    """Writes a chat's parsed message rows; returns how many were added.

    ``engine`` is the DuckDB connection the chat was parsed on; ``rows_sql`` a
    ``SELECT`` on it giving one row per message, ``columns`` in order (the first
    is ``event_id``), with ``params`` its named parameters. Rows whose
    ``event_id`` is stored already are not added.
    """

    def __call__(
        self,
        engine: Any,
        rows_sql: str,
        params: Mapping[str, Any],
        columns: Sequence[str],
    ) -> int: ...


class ChatParse(Protocol[Counts_co]):
    """One chat, ready to be parsed on the DuckDB ``engine`` a sink gives it, its rows
    handed to ``write``; what it returns carries the counts the sink may correct."""

    def __call__(self, engine: Any, write: MessageWriter) -> Counts_co: ...


@runtime_checkable
class Sink(Protocol):
    """The writes of one ingestion run, each inside :meth:`transaction`."""

    def transaction(self) -> AbstractContextManager[None]:
        """One input (or group), one transaction: all of it lands or none of it."""
        ...

    def load_chat(self, parse: ChatParse[Counts]) -> Counts:
        """Run ``parse`` on this sink's DuckDB engine and write the new messages it
        produces; its rejected lines go where ``parse`` was told to put them."""
        ...

    def claimed_elsewhere(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Records whose id or post slug belongs to another source: id -> reason."""
        ...

    def stored_profiles(self) -> list[dict[str, Any]]:
        """The profiles already in ``documents`` (what post authors may name):
        ``subject_uuid, title, alias, slug, extensions`` of each (see ``identity``)."""
        ...

    def upsert_documents(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Upsert by ``id``: each id's outcome, ``added`` / ``updated`` / ``skipped``."""
        ...

    def insert_rejections(
        self, rejections: Iterable[Rejection], *, run_id: str, input_kind: str
    ) -> int:
        """Record the rejections not recorded before; how many rows were added."""
        ...

    def fatal(self, error: BaseException) -> BaseException | None:
        """The error that must stop the whole run instead of failing one input (a
        Ctrl-C the engine reported as its own error, a full disk), or None."""
        ...

    def describe(self, error: BaseException) -> str | None:
        """A reason a person can act on for an engine error (out of memory), or None."""
        ...
