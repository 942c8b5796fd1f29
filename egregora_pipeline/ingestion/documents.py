"""Markdown and media files into ``documents``, in bounded groups.

Markdown and media files, each tiny, are loaded in groups of
:data:`DOCUMENT_GROUP` (one bulk upsert per group); a group whose write fails is
written again input by input, so no input can cost another its write. Ids and
slugs are claimed in the order files are read (a later file cannot take an
earlier one's), and post authors are linked to the profiles of the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from egregora_pipeline.backends.sink_base import Sink
from egregora_pipeline.ingestion.discovery import DiscoveredInput
from egregora_pipeline.ingestion.failures import describe, fail, stop_if_fatal
from egregora_pipeline.ingestion.identity import ProfileIndex, index_profiles
from egregora_pipeline.ingestion.limits import InputLimits
from egregora_pipeline.ingestion.markdown import parse_markdown
from egregora_pipeline.ingestion.media import read_media_file
from egregora_pipeline.ingestion.pending import PendingRejections
from egregora_pipeline.ingestion.report import InputReport, ProgressEvent, Rejection, shorten
from egregora_pipeline.settings import Settings

Progress = Callable[[ProgressEvent], None]


def count_documents(entry: InputReport, outcome: Mapping[str, str], ids: Sequence[str]) -> None:
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


DOCUMENT_GROUP: Final = 500
"""Markdown/media inputs written per transaction. A group that fails is written
again input by input, so one bad input never costs another its write, while
50k small files still cost about 100 statements, not 50k."""


@dataclass
class _Candidate:
    entry: InputReport
    record: dict[str, Any]


def ingest_documents(
    conn: Sink,
    items: Sequence[DiscoveredInput],
    settings: Settings,
    targets: frozenset[str],
    progress: Progress | None,
    limits: InputLimits,
    pending: PendingRejections,
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
            record = _read_document(conn, item, entry, settings, limits, now)
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
    conn: Sink,
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
        stop_if_fatal(conn, error)
        fail(entry, describe(conn, error))
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
        stop_if_fatal(conn, error)
        if len(group) > 1:
            for candidate in group:
                _write_documents(conn, [candidate])
            return
        (candidate,) = group
        fail(candidate.entry, f"could not write this document: {describe(conn, error)}")
        return
    for candidate in group:
        doc_id = candidate.record["id"]
        if doc_id in clashes:
            candidate.entry.rejections.append(
                Rejection(candidate.entry.source, None, None, clashes[doc_id])
            )
        else:
            count_documents(candidate.entry, outcome, [doc_id])
