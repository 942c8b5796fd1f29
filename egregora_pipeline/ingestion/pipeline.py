"""``ingest``: discover inputs, read each one, write what is good, record what is not.

Every input is handled in its own transaction and its own ``try``: a hostile
archive, a chat in an unknown format or a broken Markdown file is reported
(``InputReport.error`` and a row in ``ingest_rejections``) and the next input
still ingests. Record-level problems (a bad date on one line, a missing
attachment, a Markdown file without title) are rejections inside an input
that otherwise loads.

Markdown and media files found in folders are loaded together in one
transaction (one bulk upsert), since each is tiny; chats are loaded one by one.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from egregora_pipeline.connection import disk_full, is_interruption
from egregora_pipeline.errors import EgregoraError
from egregora_pipeline.ingestion.discovery import DiscoveredInput, discover_inputs
from egregora_pipeline.ingestion.errors import InvalidSettingError, UnsafeArchiveError
from egregora_pipeline.ingestion.loader import insert_rejections, upsert_documents
from egregora_pipeline.ingestion.markdown import parse_markdown
from egregora_pipeline.ingestion.media import (
    MEDIA_EXTENSIONS,
    ByteLimitExceeded,
    StoredMedia,
    media_record,
    read_media_file,
    safe_extension,
    store_stream,
)
from egregora_pipeline.ingestion.report import IngestReport, InputReport, ProgressEvent, Rejection
from egregora_pipeline.ingestion.streams import ReadableBytes, Utf16AsUtf8, is_utf16
from egregora_pipeline.ingestion.whatsapp.archive import ArchiveLimits, open_export, thread_name
from egregora_pipeline.ingestion.whatsapp.formats import DateOrder, date_order_override
from egregora_pipeline.ingestion.whatsapp.messages import load_chat
from egregora_pipeline.settings import Settings

DEFAULT_TARGETS: Final = frozenset({"messages", "documents"})
KNOWN_TARGETS: Final = frozenset({"messages", "documents"})

Progress = Callable[[ProgressEvent], None]


def _stop_if_interrupted(error: Exception) -> None:
    """Ctrl-C is not a bad input: stop the whole run instead of reporting the input.

    DuckDB turns the ``KeyboardInterrupt`` into its own error; recording that
    as a rejection would blame the input and carry on with the next one.
    """
    if is_interruption(error):
        raise KeyboardInterrupt(str(error)) from error
    full = disk_full(error)  # neither is a full disk: every later input would fail too
    if full is not None:
        raise full from None  # from None: Dagster reports the innermost cause


def _describe(error: Exception) -> str:
    """Our errors already read well; anything else gets its type name for the report."""
    if isinstance(error, EgregoraError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@contextlib.contextmanager
def _transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One input, one transaction: either everything from it lands or nothing does."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # Also when COMMIT itself failed (e.g. interrupted): the connection must not
        # be left inside the transaction, where later statements would see its rows.
        with contextlib.suppress(duckdb.Error):
            conn.execute("ROLLBACK")
        raise


def _check_settings(settings: Settings, targets: frozenset[str]) -> None:
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSettingError(
            "EGREGORA_TIMEZONE", settings.timezone, "an IANA time zone such as Europe/Lisbon"
        ) from None
    unknown = targets - KNOWN_TARGETS
    if unknown:
        raise InvalidSettingError(
            "targets", ",".join(sorted(unknown)), f"a subset of {sorted(KNOWN_TARGETS)}"
        )


def ingest(
    conn: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    *,
    settings: Settings,
    run_id: str,
    targets: frozenset[str] = DEFAULT_TARGETS,
    progress: Progress | None = None,
    date_order: DateOrder | str | None = None,
    archive_limits: ArchiveLimits | None = None,
) -> IngestReport:
    """Ingest WhatsApp exports, Markdown and media under ``paths`` into the warehouse.

    Writes only to the tables named in ``targets`` (plus ``ingest_rejections``)
    and assumes they are at the declared schema (the caller's gate checks it).
    ``conn`` must not be inside a transaction: each input gets its own.
    ``date_order`` overrides the per-chat date-order rule (else
    ``EGREGORA_DATE_ORDER``); see ``docs/ingestion.md``.
    """
    _check_settings(settings, targets)
    order = date_order_override(date_order)
    limits = archive_limits or ArchiveLimits()
    report = IngestReport()
    documents: list[DiscoveredInput] = []
    for item in discover_inputs(paths):
        if item.kind in ("markdown", "media"):
            documents.append(item)
            continue
        if item.kind in ("unsupported", "missing"):
            entry = InputReport(item.path, "skipped" if not item.explicit else item.kind)
            if item.explicit:
                _fail(conn, entry, f"{item.path}: {item.reason}", run_id)
            report.inputs.append(entry)
            continue
        entry = InputReport(item.path, "whatsapp")
        report.inputs.append(entry)
        try:
            _ingest_chat(conn, item, entry, settings, run_id, targets, progress, order, limits)
        except Exception as error:  # one bad input never stops the others
            _stop_if_interrupted(error)
            _fail(conn, entry, _describe(error), run_id)
    if documents:
        report.inputs.extend(
            _ingest_documents(conn, documents, settings, run_id, targets, progress)
        )
    return report


def _fail(conn: duckdb.DuckDBPyConnection, entry: InputReport, message: str, run_id: str) -> None:
    """Mark an input as rejected as a whole and record why (in its own transaction)."""
    entry.error = message
    entry.messages_added = entry.messages_skipped = 0
    entry.documents_added = entry.documents_skipped = entry.documents_updated = 0
    entry.rejections = [Rejection(str(entry.path), None, None, message, None)]
    with contextlib.suppress(duckdb.Error), _transaction(conn):
        insert_rejections(conn, entry.rejections, run_id=run_id, input_kind=entry.kind)


def _count_documents(entry: InputReport, outcome: Mapping[str, str], ids: Sequence[str]) -> None:
    for doc_id in ids:
        status = outcome.get(doc_id)
        if status == "added":
            entry.documents_added += 1
        elif status == "updated":
            entry.documents_updated += 1
        elif status == "skipped":
            entry.documents_skipped += 1


def _ingest_chat(
    conn: duckdb.DuckDBPyConnection,
    item: DiscoveredInput,
    entry: InputReport,
    settings: Settings,
    run_id: str,
    targets: frozenset[str],
    progress: Progress | None,
    order: DateOrder | None,
    limits: ArchiveLimits,
) -> None:
    path = item.path
    store = settings.media_store
    media: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    notes: list[Rejection] = []
    others: dict[str, zipfile.ZipInfo] = {}  # non-media members: kept only if the chat names them

    def keep(stored: StoredMedia, name: str, origin: str) -> None:
        keys[name] = stored.key
        record, note = media_record(stored, name, origin=origin)
        media.setdefault(record["id"], record)
        if note:
            notes.append(Rejection(str(path), None, None, note, name))

    stream: ReadableBytes
    with contextlib.ExitStack() as stack:
        if path.suffix.lower() == ".zip":
            archive = open_export(path, limits)
            stack.callback(archive.close)
            thread = archive.thread_id
            for name, why in archive.ignored:
                notes.append(Rejection(str(path), None, None, f"{why}: {name!r}", name))

            def store_member(info: zipfile.ZipInfo, name: str) -> None:
                with archive.open_member(info) as reader:
                    try:
                        stored = store_stream(
                            reader, name, store, max_bytes=limits.max_member_bytes
                        )
                    except ByteLimitExceeded:
                        raise UnsafeArchiveError(
                            path, "member exceeds the size limit", info.filename
                        ) from None
                keep(stored, name, f"{path.name}/{info.filename}")

            for number, info in enumerate(archive.media, start=1):
                name = PurePosixPath(info.filename).name
                if safe_extension(name).lower() not in MEDIA_EXTENSIONS:
                    others[name] = info
                    continue
                store_member(info, name)
                if progress is not None:
                    progress(ProgressEvent(path, "media", number, len(archive.media), "files"))
            stream = stack.enter_context(archive.open_member(archive.chat))

            def resolve(names: list[str]) -> Mapping[str, str]:
                # A document of any type (.txt, .csv, .zip, ...) the chat attaches is kept.
                for name in names:
                    if name not in keys and name in others:
                        store_member(others.pop(name), name)
                return {n: keys[n] for n in names if n in keys}

        else:
            thread = thread_name(path.name, path.absolute().parent.name)  # a loose _chat.txt
            stream = stack.enter_context(path.open("rb"))
            if is_utf16(stream.peek(2)[:2]):
                stream = Utf16AsUtf8(stream)

            def resolve(names: list[str]) -> Mapping[str, str]:
                # One directory listing instead of a stat per name: a chat may name
                # tens of thousands of attachments. Only plain files directly beside
                # the chat qualify (a name cannot climb out of the folder).
                # Symlinks are never followed: a link named like an attachment
                # could otherwise copy any file of the machine into the store.
                beside = {
                    e.name for e in os.scandir(path.parent) if e.is_file(follow_symlinks=False)
                }
                for name in names:
                    if name in beside:
                        candidate = path.parent / name
                        with candidate.open("rb") as handle:
                            keep(store_stream(handle, name, store), name, str(candidate))
                return {n: keys[n] for n in names if n in keys}

        def tick(done: int) -> None:
            if progress is not None:
                progress(ProgressEvent(path, "whatsapp", done, None, "messages"))

        with _transaction(conn):
            if "messages" in targets:
                loaded = load_chat(
                    conn,
                    stream,
                    source_path=str(path),
                    thread_id=thread,
                    tenant_id=settings.tenant_id,
                    timezone=settings.timezone,
                    namespace=settings.author_namespace,
                    run_id=run_id,
                    resolve_attachments=resolve,
                    date_order=order,
                    progress=tick,
                )
                entry.messages_added = loaded.added
                entry.messages_skipped = loaded.skipped
                entry.rejections.extend(loaded.rejections)
            notes.extend(
                Rejection(
                    str(path), None, None, f"not media nor named by the chat, ignored: {n!r}", n
                )
                for n in others
            )
            entry.rejections.extend(notes)
            if "documents" in targets and media:
                outcome = upsert_documents(conn, list(media.values()))
                _count_documents(entry, outcome, list(media))
            insert_rejections(conn, entry.rejections, run_id=run_id, input_kind="whatsapp")


def _ingest_documents(
    conn: duckdb.DuckDBPyConnection,
    items: Sequence[DiscoveredInput],
    settings: Settings,
    run_id: str,
    targets: frozenset[str],
    progress: Progress | None,
) -> list[InputReport]:
    """Read every Markdown/media file, then load all good records in one upsert."""
    now = datetime.now(UTC)
    entries: list[InputReport] = []
    records: dict[str, dict[str, Any]] = {}
    owner: dict[str, InputReport] = {}
    for number, item in enumerate(items, start=1):
        entry = InputReport(item.path, item.kind)
        entries.append(entry)
        try:
            if item.kind == "markdown":
                parsed = parse_markdown(
                    item.path,
                    root=item.root,
                    timezone=settings.timezone,
                    author_namespace=settings.author_namespace,
                    now=now,
                )
                entry.rejections.extend(parsed.rejections)
                record = parsed.record
            else:
                record, _, note = read_media_file(item.path, settings.media_store)
                if note:
                    entry.rejections.append(Rejection(str(item.path), None, None, note, None))
        except Exception as error:  # one bad file never stops the others
            _stop_if_interrupted(error)
            entry.error = f"{item.path}: {_describe(error)}"
            entry.rejections.append(Rejection(str(item.path), None, None, _describe(error), None))
            continue
        if record is not None:
            doc_id = record["id"]
            if (
                doc_id in records
                and records[doc_id]["source_checksum"] != record["source_checksum"]
            ):
                first = owner[doc_id].path
                entry.rejections.append(
                    Rejection(
                        str(item.path),
                        None,
                        None,
                        f"id {doc_id!r} is already used by {first} in this run",
                        None,
                    )
                )
            elif doc_id not in records:
                records[doc_id] = record
                owner[doc_id] = entry
            else:
                entry.documents_skipped += 1
        if progress is not None:
            progress(ProgressEvent(item.path, item.kind, number, len(items), "files"))
    try:
        with _transaction(conn):
            if "documents" in targets and records:
                outcome = upsert_documents(conn, list(records.values()))
                for doc_id, entry in owner.items():
                    _count_documents(entry, outcome, [doc_id])
            for entry in entries:
                if entry.rejections:
                    insert_rejections(conn, entry.rejections, run_id=run_id, input_kind=entry.kind)
    except Exception as error:
        _stop_if_interrupted(error)
        for entry in owner.values():
            entry.error = f"could not write documents: {_describe(error)}"
    return entries
