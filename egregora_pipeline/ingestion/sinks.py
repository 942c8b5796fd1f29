"""Where an ingestion run writes: the five operations the pipeline needs of a warehouse.

The pipeline (:mod:`.pipeline`) reads inputs and decides what to write; a
*sink* writes it. Keeping the writes behind this small protocol is what lets
the same pipeline -- its per-input transactions, its retry of a failed group
input by input, its counts -- load a DuckDB file (:class:`.pipeline.DuckDBSink`,
the embedded default) or a PostgreSQL server
(:class:`.postgres_load.PostgresSink`, parsing in DuckDB, loading with COPY).

Every operation runs inside the sink's current :meth:`Sink.transaction`; a
sink never commits on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from egregora_pipeline.ingestion.rejection_log import RejectionSink
from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.ingestion.streams import ReadableBytes
from egregora_pipeline.ingestion.whatsapp.formats import DateOrder
from egregora_pipeline.ingestion.whatsapp.messages import ChatLoad


class Sink(Protocol):
    """The writes of one ingestion run, each inside :meth:`transaction`."""

    def transaction(self) -> AbstractContextManager[None]:
        """One input (or group), one transaction: all of it lands or none of it."""
        ...

    def load_chat(
        self,
        stream: ReadableBytes,
        *,
        source_path: str,
        thread_id: str,
        tenant_id: str,
        timezone: str,
        namespace: uuid.UUID | None,
        run_id: str,
        resolve_attachments: Callable[[list[str]], Mapping[str, str]] | None = None,
        date_order: DateOrder | None = None,
        progress: Callable[[int], None] | None = None,
        rejections: RejectionSink | None = None,
    ) -> ChatLoad:
        """Parse one chat and insert its new messages (see ``whatsapp.messages.load_chat``);
        its rejected lines go to ``rejections`` as they are found."""
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
