"""Load one WhatsApp chat: parse it on the compute engine (DuckDB), hand its rows to a sink.

A chat is parsed by set-based SQL over Arrow data registered in DuckDB, the
parser's private compute engine (on a DuckDB warehouse, the warehouse
connection itself; for PostgreSQL, the sink's in-memory scratch):

1. **stage** (per block of the chat, :mod:`.blocks` with :mod:`.staging`): run
   the file's header pattern over every message, split author from text,
   classify the body into a session-local TEMP table;
2. decide the date order and check the times (:mod:`.datestats`,
   :mod:`.dateorder`, :mod:`.timestamps`), report what cannot be read;
3. **write** (once per chat): the rows of :func:`.rows.rows_sql` -- UTC
   timestamp, deterministic ``event_id`` and author pseudonyms
   (:mod:`.event_ids`) -- go to the sink's
   :class:`~egregora_pipeline.backends.sink_base.MessageWriter`, which adds the
   rows whose ``event_id`` is not stored yet.

System lines get a NULL ``author_raw`` and the pseudonym of
:data:`SYSTEM_AUTHOR_KEY` (``author_uuid`` is NOT NULL in the schema).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import duckdb

from egregora_pipeline.backends.sink_base import ChatParse, MessageWriter, RejectionSink
from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.ingestion.streams import ReadableBytes
from egregora_pipeline.ingestion.whatsapp.blocks import Replay, quietly, stage_blocks
from egregora_pipeline.ingestion.whatsapp.budget import chat_memory_budget
from egregora_pipeline.ingestion.whatsapp.dateorder import (
    DateOrder,
    OrderDecision,
    resolve_date_order,
)
from egregora_pipeline.ingestion.whatsapp.datestats import add_order_evidence, date_stats
from egregora_pipeline.ingestion.whatsapp.event_ids import (
    EVENT_FIELD_SEPARATOR,
    EVENT_NAMESPACE,
    NULL_AUTHOR_MARK,
    SYSTEM_AUTHOR_KEY,
    author_uuid,
    clean_author,
    event_id,
    event_name,
    uuid_format_sql,
)
from egregora_pipeline.ingestion.whatsapp.formats import (
    HeaderShape,
    describe_shape,
    diagnose_header,
)
from egregora_pipeline.ingestion.whatsapp.localtime import ClockChanges, clock_changes
from egregora_pipeline.ingestion.whatsapp.pages import pages
from egregora_pipeline.ingestion.whatsapp.parser import (
    DEFAULT_BLOCK_BYTES,
    MessageSplitter,
    sniff_shape,
)
from egregora_pipeline.ingestion.whatsapp.rows import MESSAGE_COLUMNS, SOURCE, rows_sql
from egregora_pipeline.ingestion.whatsapp.staging import (
    STAGE_COLUMNS,
    classify_sql,
    notices_sql,
    stage_sql,
)
from egregora_pipeline.ingestion.whatsapp.timestamps import (
    bad_dates,
    check_times,
    record_out_of_order,
    try_other_orders,
)
from egregora_pipeline.sql import quote_ident

__all__ = [
    "EVENT_FIELD_SEPARATOR",
    "EVENT_NAMESPACE",
    "MESSAGE_COLUMNS",
    "NULL_AUTHOR_MARK",
    "SOURCE",
    "SYSTEM_AUTHOR_KEY",
    "ChatLoad",
    "author_uuid",
    "chat_parse",
    "classify_sql",
    "clean_author",
    "event_id",
    "event_name",
    "load_chat",
    "notices_sql",
    "rows_sql",
    "stage_sql",
    "uuid_format_sql",
]


@dataclass
class ChatLoad:
    """Outcome of loading one chat: counts, rejections, and what was decided."""

    messages: int = 0
    added: int = 0
    skipped: int = 0
    date_order: DateOrder | None = None
    shape: HeaderShape | None = None
    decision: OrderDecision | None = None
    unreadable_headers: int = 0
    out_of_order: int = 0
    """Messages that step back in time by more than a clock change, after trying
    every plausible date order; they are loaded and flagged (``attrs.out_of_order``)."""
    first_out_of_order_line: int | None = None
    local_time_flags: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """What was detected and decided, for the per-input summary (CLI and UI)."""
        decision = self.decision
        return {
            "shape": describe_shape(self.shape, self.date_order or DateOrder.DMY)
            if self.shape
            else None,
            "date_order": self.date_order.value if self.date_order else None,
            "date_order_reason": decision.reason if decision else None,
            "unreadable_headers": self.unreadable_headers,
            "chronological": self.out_of_order == 0,
            "out_of_order_messages": self.out_of_order,
            "first_out_of_order_line": self.first_out_of_order_line,
        }


_STAGE: Final = "_egregora_stage_messages"


_AUTHORS: Final = "_egregora_authors"


_ATTACHMENTS: Final = "_egregora_attachments"


_OUT_OF_ORDER: Final = "_egregora_out_of_order"


_UNREADABLE: Final = "_egregora_unreadable"


def load_chat(
    conn: duckdb.DuckDBPyConnection,
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
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    progress: Callable[[int], None] | None = None,
    rejections: RejectionSink | None = None,
    write: MessageWriter,
) -> ChatLoad:
    """Parse the chat in ``stream`` on the DuckDB ``conn`` and write its new messages.

    ``write`` is the sink's :class:`~egregora_pipeline.backends.sink_base.MessageWriter`
    (what :meth:`Sink.load_chat <egregora_pipeline.backends.sink_base.Sink.load_chat>`
    hands over): the parse runs here, on the compute engine; which table the new
    messages go into, and how, is the sink's business.

    ``resolve_attachments`` receives the attachment file names the chat
    mentions and returns, for those it could store, their ``media_url`` (the
    key in the media store); the others are recorded as missing. The caller
    owns the transaction.

    Rejected lines go to ``rejections`` as they are found, a page at a time
    (a :class:`~egregora_pipeline.ingestion.rejection_log.RejectionLog` writes
    them in batches); without one they are collected in ``ChatLoad.rejections``.

    A chat bigger than one block loads under the chat memory limit
    (:mod:`.budget`); a smaller one does not need it, and the limit alone costs
    about 10 % more CPU on a 500k-message chat even when it is never reached.
    """
    result = ChatLoad()
    sink: RejectionSink = result.rejections if rejections is None else rejections
    first = stream.read(block_bytes)
    shape = sniff_shape(first, path=source_path)
    big = len(first) >= block_bytes
    source = Replay(first, stream)
    del first
    with chat_memory_budget(conn) if big else contextlib.nullcontext():
        return _load_chat(
            conn,
            source,
            shape,
            result,
            sink,
            source_path=source_path,
            thread_id=thread_id,
            tenant_id=tenant_id,
            timezone=timezone,
            namespace=namespace,
            run_id=run_id,
            resolve_attachments=resolve_attachments,
            date_order=date_order,
            write=write,
            block_bytes=block_bytes,
            progress=progress,
        )


def _load_chat(
    conn: duckdb.DuckDBPyConnection,
    stream: ReadableBytes,
    shape: HeaderShape,
    result: ChatLoad,
    sink: RejectionSink,
    *,
    source_path: str,
    thread_id: str,
    tenant_id: str,
    timezone: str,
    namespace: uuid.UUID | None,
    run_id: str,
    resolve_attachments: Callable[[list[str]], Mapping[str, str]] | None,
    date_order: DateOrder | None,
    write: MessageWriter,
    block_bytes: int,
    progress: Callable[[int], None] | None,
) -> ChatLoad:
    result.shape = shape
    splitter = MessageSplitter(shape, path=source_path)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(_STAGE)} ({STAGE_COLUMNS})")
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(_UNREADABLE)} (line BIGINT, text VARCHAR)"
    )
    try:
        stage_blocks(
            conn,
            stream,
            splitter,
            shape,
            block_bytes,
            progress,
            stage=_STAGE,
            unreadable=_UNREADABLE,
        )
        result.messages = splitter.result.messages
        conn.execute(notices_sql(_STAGE))
        result.unreadable_headers = splitter.result.unreadable_count
        stats = date_stats(conn, _STAGE)
        if date_order is None:
            stats = add_order_evidence(conn, _STAGE, stats)
        decision = resolve_date_order(stats, override=date_order, path=source_path)
        trim = not splitter.result.undecorated_headers
        times = check_times(conn, _STAGE, shape, decision.order, timezone, trim=trim)
        if times.out_of_order and date_order is None:
            decision, times = try_other_orders(
                conn, _STAGE, shape, decision, times, timezone, trim, stats
            )
        result.decision, result.date_order = decision, decision.order
        order = decision.order
        for page in _split_rejections(conn, splitter, shape, order, source_path):
            sink.extend(page)
        impossible = 0
        if times.bad:
            for page in bad_dates(conn, _STAGE, shape, order, source_path, timezone, trim=trim):
                impossible += len(page)
                sink.extend(page)
        result.out_of_order = times.out_of_order
        result.first_out_of_order_line = times.first_out_of_order_line
        changes = clock_changes(timezone, times.years) if timezone != "UTC" else ()
        named = [
            str(row[0])
            for row in conn.execute(
                f"SELECT DISTINCT media_file FROM {quote_ident(_STAGE)} "
                "WHERE media_file IS NOT NULL"
            ).fetchall()
        ]
        attachments = dict(resolve_attachments(named)) if resolve_attachments and named else {}
        del named
        for page in _missing_attachments(conn, attachments, source_path):
            sink.extend(page)
        if times.out_of_order:
            record_out_of_order(conn, _STAGE, _OUT_OF_ORDER, shape, order, timezone, trim=trim)
        result.added = _write(
            conn,
            shape,
            order,
            attachments,
            namespace,
            tenant_id,
            thread_id,
            timezone,
            run_id,
            write,
            skip_bad_dates=bool(impossible),
            trim_headers=trim,
            changes=changes,
            out_of_order=_OUT_OF_ORDER if times.out_of_order else None,
        )
        result.skipped = result.messages - impossible - result.added
        return result
    finally:
        for name in (_STAGE, _OUT_OF_ORDER, _UNREADABLE):
            quietly(conn.execute, f"DROP TABLE IF EXISTS {quote_ident(name)}")


def chat_parse(stream: ReadableBytes, **options: Any) -> ChatParse[ChatLoad]:
    """The chat in ``stream``, ready for a sink's :meth:`load_chat
    <egregora_pipeline.backends.sink_base.Sink.load_chat>`: :func:`load_chat` with
    ``options`` on the engine and writer the sink gives."""

    def parse(engine: Any, write: MessageWriter) -> ChatLoad:
        return load_chat(engine, stream, write=write, **options)

    return parse


def _split_rejections(
    conn: duckdb.DuckDBPyConnection,
    splitter: MessageSplitter,
    shape: HeaderShape,
    order: DateOrder,
    source_path: str,
) -> Iterator[list[Rejection]]:
    """Orphan text, unreadable headers and undecodable bytes the splitter saw, a page
    at a time (:mod:`.pages`)."""
    yield [
        Rejection(
            source_path,
            orphan.first_line,
            1,
            f"lines {orphan.first_line}-{orphan.last_line} come before the first "
            "message header and belong to no message",
            orphan.text[:2000],
        )
        for orphan in splitter.result.orphans
    ]
    if splitter.result.unreadable_count:
        example = shape.example(order)
        query = (
            f"SELECT line, split_part(text, chr(10), 1) AS first_line, left(text, 2000) AS raw "
            f"FROM {quote_ident(_UNREADABLE)}"
        )
        for page in pages(conn, query, order_by="line"):
            rejections = []
            for line, first_line, raw in page:
                column, why = diagnose_header(str(first_line), shape)
                rejections.append(
                    Rejection(
                        source_path,
                        int(line),
                        column,
                        f"starts like a message header but cannot be read: {why} "
                        f"(this chat's headers look like {example!r}); the message is "
                        "kept out rather than glued to the one before",
                        str(raw),
                    )
                )
            yield rejections
    if splitter.result.invalid_utf8_blocks:
        yield [
            Rejection(
                source_path,
                None,
                None,
                "the chat is not valid text in its encoding (UTF-8, or UTF-16/UTF-32 after a "
                "byte-order mark): undecodable bytes and unpaired surrogates were replaced "
                "by U+FFFD; save the file again as UTF-8 to keep what they were",
                None,
            )
        ]


def _missing_attachments(
    conn: duckdb.DuckDBPyConnection, attachments: Mapping[str, str], source_path: str
) -> Iterator[list[Rejection]]:
    """One rejection per message naming an attachment that was not stored, in order,
    a page at a time: the anti-join runs in DuckDB, the reason is written per page."""
    query = (
        f"SELECT ord, line_no, media_file FROM {quote_ident(_STAGE)} "
        "WHERE media_file IS NOT NULL "
        "AND media_file NOT IN (SELECT unnest($found::VARCHAR[]))"
    )
    for page in pages(conn, query, order_by="ord", params={"found": list(attachments)}):
        yield [
            Rejection(
                source_path,
                int(line),
                None,
                f"attachment {name!r} is named in the chat but missing from the export",
                str(name),
            )
            for _ord, line, name in page
        ]


def _write(
    conn: duckdb.DuckDBPyConnection,
    shape: HeaderShape,
    order: DateOrder,
    attachments: Mapping[str, str],
    namespace: uuid.UUID | None,
    tenant_id: str,
    thread_id: str,
    timezone: str,
    run_id: str,
    write: MessageWriter,
    *,
    skip_bad_dates: bool,
    trim_headers: bool,
    changes: ClockChanges,
    out_of_order: str | None,
) -> int:
    """Write the staged chat's rows through ``write``: the author pseudonyms and the stored
    attachments joined as two small lookup tables; how many messages were added."""
    raw = [
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT author FROM {quote_ident(_STAGE)} WHERE author IS NOT NULL"
        ).fetchall()
    ]
    clean = [clean_author(name) for name in raw]
    # Small lookup tables built from list parameters rather than Arrow: building
    # an Arrow array from Python objects imports pandas (about 0.5 s), and these
    # hold one row per distinct author / attachment only.
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(_AUTHORS)} AS SELECT "
        "unnest($raw::VARCHAR[]) AS raw, unnest($author::VARCHAR[]) AS author, "
        "unnest($uuid::VARCHAR[]) AS author_uuid",
        {"raw": raw, "author": clean, "uuid": [author_uuid(namespace, n) for n in clean]},
    )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(_ATTACHMENTS)} AS SELECT "
        "unnest($filename::VARCHAR[]) AS filename, unnest($url::VARCHAR[]) AS media_url",
        {"filename": list(attachments), "url": list(attachments.values())},
    )
    try:
        return write(
            conn,
            rows_sql(
                _STAGE,
                _AUTHORS,
                _ATTACHMENTS,
                shape,
                order,
                skip_bad_dates=skip_bad_dates,
                trim_headers=trim_headers,
                changes=changes,
                out_of_order=out_of_order,
            ),
            {
                "tz": timezone,
                "system_uuid": author_uuid(namespace, SYSTEM_AUTHOR_KEY),
                "tenant": tenant_id,
                "thread": thread_id,
                "created_at": datetime.now(UTC),
                "run_id": run_id,
            },
            MESSAGE_COLUMNS,
        )
    finally:
        quietly(conn.execute, f"DROP TABLE IF EXISTS {quote_ident(_AUTHORS)}")
        quietly(conn.execute, f"DROP TABLE IF EXISTS {quote_ident(_ATTACHMENTS)}")
