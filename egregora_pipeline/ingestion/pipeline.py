"""``ingest``: discover inputs, read each one, write what is good, record what is not.

Every input is handled in its own transaction and its own ``try``: a hostile
archive, a chat in an unknown format or a broken Markdown file is reported
(``InputReport.error`` and a row in ``ingest_rejections``) and the next input
still ingests (:mod:`.failures`). Record-level problems (a bad date on one
line, a missing attachment, a Markdown file without title) are rejections
inside an input that otherwise loads.

Chats are loaded one by one (:mod:`.chats`). Markdown and media files, each
tiny, are loaded in groups (:mod:`.documents`). Rejections are written in bulk
(:class:`.pending.PendingRejections`). Every write goes through a
:class:`~egregora_pipeline.backends.sink_base.Sink`, so nothing here knows
which warehouse it writes to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from egregora_pipeline.backends import connection_backend
from egregora_pipeline.backends.sink_base import Sink
from egregora_pipeline.ingestion.chats import ingest_chat
from egregora_pipeline.ingestion.discovery import DiscoveredInput, discover_inputs
from egregora_pipeline.ingestion.documents import DOCUMENT_GROUP, ingest_documents
from egregora_pipeline.ingestion.errors import InvalidSettingError
from egregora_pipeline.ingestion.failures import describe, fail, stop_if_fatal
from egregora_pipeline.ingestion.limits import InputLimits
from egregora_pipeline.ingestion.media import sweep_abandoned_copies
from egregora_pipeline.ingestion.pending import PendingRejections
from egregora_pipeline.ingestion.report import (
    IngestReport,
    InputReport,
    ProgressEvent,
    storable_name,
)
from egregora_pipeline.ingestion.whatsapp.archive import ArchiveLimits
from egregora_pipeline.ingestion.whatsapp.formats import DateOrder, date_order_override
from egregora_pipeline.ingestion.whatsapp.timezone_check import check_timezone
from egregora_pipeline.settings import Settings

__all__ = [
    "DEFAULT_TARGETS",
    "DOCUMENT_GROUP",
    "KNOWN_TARGETS",
    "ingest",
]

DEFAULT_TARGETS: Final = frozenset({"messages", "documents"})
KNOWN_TARGETS: Final = frozenset({"messages", "documents"})

Progress = Callable[[ProgressEvent], None]


def _check_settings(settings: Settings, targets: frozenset[str]) -> None:
    check_timezone(settings.timezone)  # both engines, before any input is read
    unknown = targets - KNOWN_TARGETS
    if unknown:
        raise InvalidSettingError(
            "targets", ",".join(sorted(unknown)), f"a subset of {sorted(KNOWN_TARGETS)}"
        )


def ingest(
    warehouse: Sink | Any,
    paths: Sequence[Path],
    *,
    settings: Settings,
    run_id: str,
    targets: frozenset[str] = DEFAULT_TARGETS,
    progress: Progress | None = None,
    date_order: DateOrder | str | None = None,
    archive_limits: ArchiveLimits | None = None,
    input_limits: InputLimits | None = None,
) -> IngestReport:
    """Ingest WhatsApp exports, Markdown and media under ``paths`` into the warehouse.

    Writes only to the tables named in ``targets`` (plus ``ingest_rejections``)
    and assumes they are at the declared schema (the caller's gate checks it).
    ``warehouse`` is a :class:`~egregora_pipeline.backends.sink_base.Sink` (what
    :meth:`Backend.open_sink <egregora_pipeline.backends.base.Backend.open_sink>`
    gives), or a session a backend opened, written through that backend's
    :meth:`~egregora_pipeline.backends.base.Backend.sink_over` (not inside a
    transaction: each input gets its own).
    ``date_order`` overrides the per-chat date-order rule (else
    ``EGREGORA_DATE_ORDER``); ``input_limits`` bound Markdown and media files
    (else ``EGREGORA_MAX_*``); see ``docs/ingestion.md``.
    """
    _check_settings(settings, targets)
    conn = (
        warehouse
        if isinstance(warehouse, Sink)
        else connection_backend(warehouse).sink_over(warehouse)
    )
    order = date_order_override(date_order)
    limits = archive_limits or ArchiveLimits()
    bounds = input_limits or InputLimits.from_env()
    report = IngestReport()
    if "documents" in targets:
        sweep_abandoned_copies(settings.media_store)  # what a killed run left half-copied
    pending = PendingRejections(conn, run_id)
    documents: list[DiscoveredInput] = []
    for item in discover_inputs(paths):
        if item.kind in ("markdown", "media"):
            documents.append(item)
            continue
        if item.kind in ("unsupported", "missing", "unreadable"):
            quiet = item.kind == "unsupported" and not item.explicit
            entry = InputReport(item.path, "skipped" if quiet else item.kind)
            if quiet:
                entry.note = item.reason
            else:
                fail(entry, f"{storable_name(item.path)}: {item.reason}")
                pending.add(entry)
            report.inputs.append(entry)
            continue
        entry = InputReport(item.path, "whatsapp")
        report.inputs.append(entry)
        try:
            ingest_chat(conn, item, entry, settings, run_id, targets, progress, order, limits)
        except Exception as error:  # one bad input never stops the others
            stop_if_fatal(conn, error)
            fail(entry, describe(conn, error))
            pending.add(entry)
    pending.flush()
    if documents:
        report.inputs.extend(
            ingest_documents(conn, documents, settings, targets, progress, bounds, pending)
        )
    pending.flush()
    return report
