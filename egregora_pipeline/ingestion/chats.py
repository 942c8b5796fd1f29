"""One WhatsApp export into the warehouse: its media stored, its chat parsed and loaded.

A zip export or a loose ``_chat.txt``: the attachments the chat names are
copied into the media store (a zip's media first, any other member only if the
chat names it; beside a loose chat, only regular files directly beside it), the
chat is parsed and its new messages written through the sink, and the media
become ``documents`` rows -- all in one transaction, rolled back if the file
changed while it was read.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from egregora_pipeline.backends.sink_base import Sink
from egregora_pipeline.ingestion.discovery import DiscoveredInput
from egregora_pipeline.ingestion.documents import count_documents
from egregora_pipeline.ingestion.errors import UnsafeArchiveError
from egregora_pipeline.ingestion.media import (
    MEDIA_EXTENSIONS,
    ByteLimitExceeded,
    StoredMedia,
    media_record,
    safe_extension,
    store_stream,
)
from egregora_pipeline.ingestion.rejection_log import RejectionLog
from egregora_pipeline.ingestion.report import (
    InputReport,
    ProgressEvent,
    Rejection,
    canonical_name,
)
from egregora_pipeline.ingestion.stable_read import check_unchanged, snapshot
from egregora_pipeline.ingestion.streams import (
    ReadableBytes,
    as_utf8,
    file_type_name,
    open_regular,
)
from egregora_pipeline.ingestion.whatsapp.archive import ArchiveLimits, open_export, thread_name
from egregora_pipeline.ingestion.whatsapp.formats import DateOrder
from egregora_pipeline.ingestion.whatsapp.messages import chat_parse
from egregora_pipeline.settings import Settings

Progress = Callable[[ProgressEvent], None]


def ingest_chat(
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
                    chat_parse(
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
                count_documents(entry, outcome, list(media))
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
