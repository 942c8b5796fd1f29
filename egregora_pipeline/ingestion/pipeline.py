"""``ingest``: discover inputs, read each one, write what is good, record what is not.

Every input is handled in its own transaction and its own ``try``: a hostile
archive, a chat in an unknown format or a broken Markdown file is reported
(``InputReport.error`` and a row in ``ingest_rejections``) and the next input
still ingests. Record-level problems (a bad date on one line, a missing
attachment, a Markdown file without title) are rejections inside an input
that otherwise loads.

Chats are loaded one by one. Markdown and media files, each tiny, are loaded
in groups of :data:`DOCUMENT_GROUP` (one bulk upsert per group); a group whose
write fails is written again input by input, so no input can cost another
its write. Rejections are written in bulk (:class:`_PendingRejections`).
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final

import duckdb

from egregora_pipeline.connection import disk_full, is_interruption
from egregora_pipeline.errors import EgregoraError, WarehouseLockedError
from egregora_pipeline.ingestion.discovery import DiscoveredInput, discover_inputs
from egregora_pipeline.ingestion.errors import (
    InvalidSettingError,
    UnsafeArchiveError,
    WarehouseConnectionLostError,
)
from egregora_pipeline.ingestion.identity import ProfileIndex, index_profiles
from egregora_pipeline.ingestion.limits import InputLimits
from egregora_pipeline.ingestion.loader import (
    claimed_elsewhere,
    insert_rejections,
    stored_profiles,
    upsert_documents,
)
from egregora_pipeline.ingestion.markdown import parse_markdown
from egregora_pipeline.ingestion.media import (
    MEDIA_EXTENSIONS,
    ByteLimitExceeded,
    StoredMedia,
    media_record,
    read_media_file,
    safe_extension,
    store_stream,
    sweep_abandoned_copies,
)
from egregora_pipeline.ingestion.rejection_log import RejectionLog
from egregora_pipeline.ingestion.report import (
    IngestReport,
    InputReport,
    ProgressEvent,
    Rejection,
    canonical_name,
    shorten,
    storable_name,
)
from egregora_pipeline.ingestion.sinks import Sink
from egregora_pipeline.ingestion.stable_read import FileChangedError, check_unchanged, snapshot
from egregora_pipeline.ingestion.streams import (
    NotRegularFileError,
    ReadableBytes,
    as_utf8,
    file_type_name,
    open_regular,
)
from egregora_pipeline.ingestion.timezone_check import check_timezone
from egregora_pipeline.ingestion.whatsapp.archive import ArchiveLimits, open_export, thread_name
from egregora_pipeline.ingestion.whatsapp.formats import DateOrder, date_order_override
from egregora_pipeline.ingestion.whatsapp.messages import ChatLoad, load_chat
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
    if isinstance(error, WarehouseLockedError | WarehouseConnectionLostError):
        raise error  # a PostgreSQL lock wait, a session the server ended: not the input's fault


def _describe(error: BaseException) -> str:
    """A reason a person can act on; never a bare exception class name.

    Our errors already read well. For the rest, the cause is said in words
    and the exception's class is kept only as a detail in brackets.
    """
    if isinstance(error, EgregoraError):
        return str(error)
    detail = shorten(str(error), 300) if str(error) else ""
    if isinstance(error, NotRegularFileError | FileChangedError):
        return str(error)
    if isinstance(error, OSError):
        return f"cannot read the file: {error.strerror or detail or 'operating system error'}"
    if isinstance(error, MemoryError):
        return "reading this input needed more memory than is available"
    if isinstance(error, RecursionError):
        return "this input is nested too deeply to read"
    if isinstance(error, duckdb.OutOfMemoryException):
        return "the warehouse ran out of memory while loading this input"
    if isinstance(error, OverflowError):
        return f"a number or date in this input is too large to store ({detail})"
    return f"could not read this input ({type(error).__name__}: {detail or 'no detail'})"


@contextlib.contextmanager
def _transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One input, one transaction: either everything from it lands or nothing does."""
    try:
        conn.execute("BEGIN TRANSACTION")
    except BaseException:
        _rollback(conn)  # an interrupted BEGIN may have opened the transaction
        raise
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # Also when COMMIT itself failed (e.g. interrupted): the connection must not
        # be left inside the transaction, where later statements would see its rows.
        _rollback(conn)
        raise


def _rollback(conn: duckdb.DuckDBPyConnection, attempts: int = 20) -> None:
    """ROLLBACK, again if a Ctrl-C interrupted the ROLLBACK itself.

    An interrupted ROLLBACK leaves the connection in an aborted transaction
    where every later statement fails; any other error (no transaction
    active) means there is nothing left to roll back.
    """
    for _ in range(attempts):
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error as error:
            if is_interruption(error):
                continue
        return


class DuckDBSink:
    """The embedded default: every write goes straight to the DuckDB warehouse ``conn``."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return _transaction(self.conn)

    def load_chat(self, stream: ReadableBytes, **options: Any) -> ChatLoad:
        return load_chat(self.conn, stream, **options)

    def claimed_elsewhere(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        return claimed_elsewhere(self.conn, records)

    def stored_profiles(self) -> list[dict[str, Any]]:
        return stored_profiles(self.conn)

    def upsert_documents(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        return upsert_documents(self.conn, records)

    def insert_rejections(self, rejections: Any, *, run_id: str, input_kind: str) -> int:
        return insert_rejections(self.conn, rejections, run_id=run_id, input_kind=input_kind)


def _check_settings(settings: Settings, targets: frozenset[str]) -> None:
    check_timezone(settings.timezone)  # both engines, before any input is read
    unknown = targets - KNOWN_TARGETS
    if unknown:
        raise InvalidSettingError(
            "targets", ",".join(sorted(unknown)), f"a subset of {sorted(KNOWN_TARGETS)}"
        )


def ingest(
    warehouse: duckdb.DuckDBPyConnection | Sink,
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
    ``warehouse`` is a DuckDB connection (not inside a transaction: each input
    gets its own) or a :class:`~.sinks.Sink`, e.g. ``postgres_load.PostgresSink``.
    ``date_order`` overrides the per-chat date-order rule (else
    ``EGREGORA_DATE_ORDER``); ``input_limits`` bound Markdown and media files
    (else ``EGREGORA_MAX_*``); see ``docs/ingestion.md``.
    """
    _check_settings(settings, targets)
    conn = DuckDBSink(warehouse) if isinstance(warehouse, duckdb.DuckDBPyConnection) else warehouse
    order = date_order_override(date_order)
    limits = archive_limits or ArchiveLimits()
    bounds = input_limits or InputLimits.from_env()
    report = IngestReport()
    if "documents" in targets:
        sweep_abandoned_copies(settings.media_store)  # what a killed run left half-copied
    pending = _PendingRejections(conn, run_id)
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
                _fail(entry, f"{storable_name(item.path)}: {item.reason}")
                pending.add(entry)
            report.inputs.append(entry)
            continue
        entry = InputReport(item.path, "whatsapp")
        report.inputs.append(entry)
        try:
            _ingest_chat(conn, item, entry, settings, run_id, targets, progress, order, limits)
        except Exception as error:  # one bad input never stops the others
            _stop_if_interrupted(error)
            _fail(entry, _describe(error))
            pending.add(entry)
    pending.flush()
    if documents:
        report.inputs.extend(
            _ingest_documents(conn, documents, settings, targets, progress, bounds, pending)
        )
    pending.flush()
    return report


class _PendingRejections:
    """Rejections gathered across inputs and written in bulk (one statement per kind).

    Writing them input by input cost ~6 ms each: 10k undecodable images took
    two minutes. Rows are flushed after each group of documents and at the end.
    """

    def __init__(self, conn: Sink, run_id: str) -> None:
        self._conn = conn
        self._run_id = run_id
        self._by_kind: dict[str, list[Rejection]] = {}

    def add(self, entry: InputReport) -> None:
        if entry.rejections:
            self._by_kind.setdefault(entry.kind, []).extend(entry.rejections)

    def flush(self) -> None:
        by_kind, self._by_kind = self._by_kind, {}
        for kind, rejections in by_kind.items():
            try:
                with self._conn.transaction():
                    self._conn.insert_rejections(rejections, run_id=self._run_id, input_kind=kind)
            except duckdb.Error as error:
                _stop_if_interrupted(error)
                raise


def _fail(entry: InputReport, message: str) -> None:
    """Mark an input as rejected as a whole and say why (the caller records the row)."""
    message = storable_name(message)
    entry.error = message
    entry.messages_added = entry.messages_skipped = 0
    entry.documents_added = entry.documents_skipped = entry.documents_updated = 0
    entry.rejections = [Rejection(entry.source, None, None, message, None)]
    entry.rejections_not_listed = 0


def _count_documents(entry: InputReport, outcome: Mapping[str, str], ids: Sequence[str]) -> None:
    for doc_id in ids:
        status = outcome.get(doc_id)
        if status == "added":
            entry.documents_added += 1
            entry.document_ids.append(doc_id)
        elif status == "updated":
            entry.documents_updated += 1
            entry.document_ids.append(doc_id)
        elif status == "skipped":
            entry.documents_skipped += 1
            entry.document_ids.append(doc_id)


def _ingest_chat(
    conn: Sink,
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
    not_regular: dict[str, str] = {}  # attachments beside a loose chat that are links, pipes...

    def keep(stored: StoredMedia, name: str, origin: str) -> None:
        keys[name] = stored.key
        record, note = media_record(stored, name, origin=origin)
        media.setdefault(record["id"], record)
        if note:
            notes.append(Rejection(entry.source, None, None, note, name))

    stream: ReadableBytes
    with contextlib.ExitStack() as stack:
        if path.suffix.lower() == ".zip":
            archive = open_export(path, limits)
            stack.callback(archive.close)
            if archive.zip.fp is None:
                raise UnsafeArchiveError(path, "the archive was closed before it was read")
            watched = archive.zip.fp.fileno()
            opened = snapshot(watched)
            thread = archive.thread_id
            for name, why in archive.ignored:
                notes.append(Rejection(entry.source, None, None, f"{why}: {name!r}", name))

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
                # NFC: a zip made on macOS names ``café.jpg`` decomposed, the chat composed
                name = unicodedata.normalize("NFC", PurePosixPath(info.filename).name)
                if safe_extension(name).lower() not in MEDIA_EXTENSIONS:
                    others[name] = info
                    continue
                store_member(info, name)
                if progress is not None:
                    progress(ProgressEvent(path, "media", number, len(archive.media), "files"))
            stream = as_utf8(stack.enter_context(archive.open_member(archive.chat)))

            def resolve(names: list[str]) -> Mapping[str, str]:
                # A document of any type (.txt, .csv, .zip, ...) the chat attaches is kept.
                for name in names:
                    key = _nfc(name)
                    if key not in keys and key in others:
                        store_member(others.pop(key), key)
                return {n: keys[_nfc(n)] for n in names if _nfc(n) in keys}

        else:
            thread = thread_name(path.name, path.absolute().parent.name)  # a loose _chat.txt
            handle = stack.enter_context(open_regular(path))
            watched = handle.fileno()
            opened = snapshot(watched)
            stream = as_utf8(handle)

            def resolve(names: list[str]) -> Mapping[str, str]:
                # One directory listing instead of a stat per name: a chat may name
                # tens of thousands of attachments. Only regular files directly beside
                # the chat qualify (a name cannot climb out of the folder).
                # Symlinks are never followed: a link named like an attachment
                # could otherwise copy any file of the machine into the store.
                # Pipes and devices are never opened (a FIFO would block forever).
                # Names compare in NFC: a file saved on macOS is decomposed, the chat's
                # text composed. An exact name wins over a spelling twin beside it.
                with os.scandir(path.parent) as listing:
                    entries = list(listing)
                beside = {_nfc(e.name): e for e in entries}
                beside.update({_nfc(e.name): e for e in entries if e.name == _nfc(e.name)})
                for name in names:
                    key = _nfc(name)
                    found = beside.get(key)
                    if found is None or key in keys:
                        continue
                    what = file_type_name(found.stat(follow_symlinks=False).st_mode)
                    if what is not None:
                        not_regular[name] = what
                        continue
                    candidate = path.parent / found.name
                    with open_regular(candidate) as attached:
                        seen = snapshot(attached.fileno())
                        stored = store_stream(attached, key, store)
                        check_unchanged(attached.fileno(), seen, candidate)
                    keep(stored, key, canonical_name(candidate))
                return {n: keys[_nfc(n)] for n in names if _nfc(n) in keys}

        def tick(done: int) -> None:
            if progress is not None:
                progress(ProgressEvent(path, "whatsapp", done, None, "messages"))

        with conn.transaction():
            # The chat's rejections are written as they are found, in batches (a chat can
            # reject a line per message); the report keeps their count and the first few.
            log = RejectionLog(
                lambda batch: conn.insert_rejections(batch, run_id=run_id, input_kind="whatsapp"),
                transform=lambda rejection: _explain_missing(rejection, not_regular),
            )
            if "messages" in targets:
                loaded = conn.load_chat(
                    stream,
                    source_path=entry.source,
                    thread_id=canonical_name(thread),
                    tenant_id=settings.tenant_id,
                    timezone=settings.timezone,
                    namespace=settings.author_namespace,
                    run_id=run_id,
                    resolve_attachments=resolve,
                    date_order=order,
                    progress=tick,
                    rejections=log,
                )
                entry.messages_added = loaded.added
                entry.messages_skipped = loaded.skipped
                entry.chat = loaded.summary()
            notes.extend(
                Rejection(
                    entry.source, None, None, f"not media nor named by the chat, ignored: {n!r}", n
                )
                for n in others
            )
            log.extend(notes)
            if "documents" in targets and media:
                clashes = conn.claimed_elsewhere(list(media.values()))
                for doc_id, reason in clashes.items():
                    log.extend([Rejection(entry.source, None, None, reason)])
                    del media[doc_id]
                outcome = conn.upsert_documents(list(media.values()))
                _count_documents(entry, outcome, list(media))
            log.flush()
            check_unchanged(watched, opened, path)  # else roll back the mix
            entry.rejections = log.sample
            entry.rejections_not_listed = log.count - len(log.sample)


def _nfc(name: str) -> str:
    """An attachment or member name in composed form (see ``report.canonical_name``)."""
    return unicodedata.normalize("NFC", name)


def _explain_missing(rejection: Rejection, not_regular: Mapping[str, str]) -> Rejection:
    """An attachment present beside the chat as a link or pipe says so, not "missing"."""
    what = not_regular.get(rejection.raw or "") if not_regular else None
    if what is None or "missing from the export" not in rejection.reason:
        return rejection
    return Rejection(
        rejection.source_path,
        rejection.line_number,
        rejection.column_number,
        f"attachment {rejection.raw!r} is named in the chat, but beside it is {what}, "
        "not a regular file: not read",
        rejection.raw,
    )


DOCUMENT_GROUP: Final = 500
"""Markdown/media inputs written per transaction. A group that fails is written
again input by input, so one bad input never costs another its write, while
50k small files still cost about 100 statements, not 50k."""


@dataclass
class _Candidate:
    entry: InputReport
    record: dict[str, Any]


def _ingest_documents(
    conn: Sink,
    items: Sequence[DiscoveredInput],
    settings: Settings,
    targets: frozenset[str],
    progress: Progress | None,
    limits: InputLimits,
    pending: _PendingRejections,
) -> list[InputReport]:
    """Read every Markdown/media file and write the good records in bounded groups."""
    now = datetime.now(UTC)
    entries: list[InputReport] = []
    claimed_ids: dict[str, _Candidate] = {}
    claimed_slugs: dict[str, _Candidate] = {}
    profiles = index_profiles(conn.stored_profiles()) if "documents" in targets else ProfileIndex()
    waiting: list[_Candidate] = []  # posts naming a profile not read yet
    for start in range(0, len(items), DOCUMENT_GROUP):
        group: list[_Candidate] = []
        group_entries: list[InputReport] = []
        for number, item in enumerate(items[start : start + DOCUMENT_GROUP], start=start + 1):
            entry = InputReport(item.path, item.kind)
            group_entries.append(entry)
            record = _read_document(item, entry, settings, limits, now)
            if record is not None:
                if record.get("doc_type") == "profile":
                    profiles.add(_with_extensions(record), item.path.stem)
                candidate = _Candidate(entry, record)
                problem = _claimed_in_run(candidate, claimed_ids, claimed_slugs)
                if problem is None:
                    group.append(candidate)
                elif problem:
                    entry.rejections.append(Rejection(entry.source, None, None, problem))
                else:
                    entry.documents_skipped += 1
            if progress is not None:
                progress(ProgressEvent(item.path, item.kind, number, len(items), "files"))
        earlier = {id(c) for c in waiting}
        group = _link_authors(group, profiles, waiting, final=False)
        if "documents" in targets and group:
            _write_documents(conn, group)
        for entry in group_entries:
            pending.add(entry)
        for candidate in group:  # a waiting post's write may have failed: its rejection
            if id(candidate) in earlier:
                pending.add(candidate.entry)  # (ids are deterministic: no row twice)
        entries.extend(group_entries)
        pending.flush()
    last = _link_authors([], profiles, waiting, final=True)
    if "documents" in targets and last:
        _write_documents(conn, last)
    for candidate in last:
        pending.add(candidate.entry)
    return entries


def _with_extensions(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with its ``extensions`` JSON read (where ``name`` / ``author`` may be)."""
    import json

    extensions = record.get("extensions")
    return {**record, "extensions": json.loads(extensions) if extensions else None}


def _link_authors(
    group: list[_Candidate], profiles: ProfileIndex, waiting: list[_Candidate], *, final: bool
) -> list[_Candidate]:
    """Replace each post's author names by the ``subject_uuid`` of the profile they name.

    Upstream finds a person's posts by ``authors.contains(subject_uuid)``
    (``database/profile_cache.py`` ``get_profile_posts_from_db``, 1123bf243).
    A post naming a profile not read yet waits for the end of the run (or for
    :data:`DOCUMENT_GROUP` such posts), so profiles anywhere in the batch count;
    what still names no profile then is kept as written and reported
    (``InputReport.unresolved_authors``). Returns the candidates to write now.
    """
    flush = final or len(waiting) >= DOCUMENT_GROUP
    todo = [*waiting, *group] if flush else group
    if flush:
        waiting.clear()
    ready: list[_Candidate] = []
    for candidate in todo:
        record = candidate.record
        if record.get("doc_type") != "post" or not record.get("authors"):
            ready.append(candidate)
            continue
        resolved, unresolved = profiles.resolve_all(record["authors"])
        if unresolved and not flush and len(waiting) < DOCUMENT_GROUP:
            waiting.append(candidate)
            continue
        record["authors"] = resolved
        candidate.entry.unresolved_authors = [f"{name}: {why}" for name, why in unresolved]
        ready.append(candidate)
    return ready


def _read_document(
    item: DiscoveredInput,
    entry: InputReport,
    settings: Settings,
    limits: InputLimits,
    now: datetime,
) -> dict[str, Any] | None:
    """One Markdown or media file as a record; any failure is a rejection of this file."""
    try:
        if item.kind == "markdown":
            parsed = parse_markdown(
                item.path,
                root=item.root,
                timezone=settings.timezone,
                author_namespace=settings.author_namespace,
                now=now,
                limits=limits,
            )
            entry.rejections.extend(parsed.rejections)
            return parsed.record
        record, note = read_media_file(
            item.path, settings.media_store, max_bytes=limits.max_media_bytes
        )
        if note:
            entry.rejections.append(Rejection(entry.source, None, None, note, None))
        return record
    except Exception as error:  # one bad file never stops the others
        _stop_if_interrupted(error)
        _fail(entry, _describe(error))
        return None


def _claimed_in_run(
    candidate: _Candidate,
    claimed_ids: dict[str, _Candidate],
    claimed_slugs: dict[str, _Candidate],
) -> str | None:
    """Why ``candidate`` clashes with a file read earlier in this run ("" for an exact copy)."""
    record = candidate.record
    first = claimed_ids.get(record["id"])
    if first is not None:
        if first.record["source_checksum"] == record["source_checksum"]:
            return ""
        return f"id {record['id']!r} is already used by {first.entry.source} in this run"
    slug = record.get("slug") if record.get("doc_type") == "post" else None
    if slug is not None:
        owner = claimed_slugs.get(slug)
        if owner is not None:
            return f"slug {shorten(slug)} is already used by {owner.entry.source} in this run"
        claimed_slugs[slug] = candidate
    claimed_ids[record["id"]] = candidate
    return None


def _write_documents(conn: Sink, group: Sequence[_Candidate]) -> None:
    """Upsert ``group`` in one transaction; if that fails, each input alone.

    Ids and slugs already owned by another source are refused first (see
    :func:`claimed_elsewhere`), inside the same transaction as the write.
    """
    try:
        with conn.transaction():
            clashes = conn.claimed_elsewhere([c.record for c in group])
            accepted = [c for c in group if c.record["id"] not in clashes]
            outcome = conn.upsert_documents([c.record for c in accepted])
    except Exception as error:
        _stop_if_interrupted(error)
        if len(group) > 1:
            for candidate in group:
                _write_documents(conn, [candidate])
            return
        (candidate,) = group
        _fail(candidate.entry, f"could not write this document: {_describe(error)}")
        return
    for candidate in group:
        doc_id = candidate.record["id"]
        if doc_id in clashes:
            candidate.entry.rejections.append(
                Rejection(candidate.entry.source, None, None, clashes[doc_id])
            )
        else:
            _count_documents(candidate.entry, outcome, [doc_id])
