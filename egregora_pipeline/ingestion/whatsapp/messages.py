"""Turn split messages into ``messages`` rows, in DuckDB, without per-row Python.

Two steps, both set-based SQL over Arrow data registered in DuckDB:

1. **stage** (per block of the chat): run the file's header pattern over every
   message, split author from text, classify the body (system line,
   attachment, omitted media, deleted, edited, mentions) into a session-local
   TEMP table. Only the date components are kept, not the timestamp, because
   the date order is decided from *all* headers (see
   :func:`formats.resolve_date_order`).
2. **load** (once per chat): compute the UTC timestamp, the deterministic
   ``event_id`` (MD5 of tenant, thread, ordinal, timestamp, author, text),
   join the author pseudonyms (UUIDv5, computed in Python once per distinct
   author) and insert the rows whose ``event_id`` is not in ``messages`` yet.

System lines get a NULL ``author_raw`` and the pseudonym of
:data:`SYSTEM_AUTHOR_KEY` (``author_uuid`` is NOT NULL in the schema).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import duckdb

from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.ingestion.streams import ReadableBytes
from egregora_pipeline.ingestion.whatsapp import content
from egregora_pipeline.ingestion.whatsapp.dateorder import (
    DateOrder,
    DateStats,
    OrderDecision,
    PartStats,
    resolve_date_order,
)
from egregora_pipeline.ingestion.whatsapp.formats import (
    INVISIBLE_MARKS,
    MARKS_CLASS,
    HeaderShape,
    date_components_pattern,
    describe_shape,
    diagnose_header,
    header_pattern,
    move_ampm_words_sql,
    strptime_formats,
)
from egregora_pipeline.ingestion.whatsapp.localtime import (
    ClockChanges,
    clock_changes,
    flag_sql,
    utc_sql,
)
from egregora_pipeline.ingestion.whatsapp.parser import (
    DEFAULT_BLOCK_BYTES,
    MessageSplitter,
    sniff_shape,
)
from egregora_pipeline.sql import quote_ident, quote_literal

SOURCE: Final = "whatsapp"
SYSTEM_AUTHOR_KEY: Final = "\x00whatsapp-system"
"""Key whose UUIDv5 is the ``author_uuid`` of system lines; it cannot be a real
exported name (names never contain NUL)."""

MESSAGE_COLUMNS: Final = (
    "event_id",
    "tenant_id",
    "source",
    "thread_id",
    "msg_id",
    "ts",
    "author_raw",
    "author_uuid",
    "text",
    "media_url",
    "media_type",
    "attrs",
    "pii_flags",
    "created_at",
    "created_by_run",
)

_STAGE_COLUMNS: Final = """
    ord BIGINT, line_no BIGINT, header VARCHAR, d1 INTEGER, d2 INTEGER, d3 INTEGER, wide INTEGER,
    author VARCHAR, text VARCHAR, kind VARCHAR, media_file VARCHAR, edited BOOLEAN,
    mentions VARCHAR[]
"""


_QUOTE_CLASS: Final = "[" + content.QUOTE_MARKS + "]"
_MENTION_NOISE: Final = "^\\s*@|" + MARKS_CLASS


def _lit(text: str) -> str:
    return quote_literal(text)


def stage_sql(stage: str, chunk: str, shape: HeaderShape) -> str:
    """``INSERT INTO stage`` parsing every message of the registered ``chunk``."""
    return f"INSERT INTO {quote_ident(stage)}\n{classify_sql(chunk, shape)}"


def classify_sql(chunk: str, shape: HeaderShape) -> str:
    """``SELECT`` parsing every message of the registered ``chunk`` into the stage columns.

    The splitter already matched each header, so the first occurrence of the
    shape's terminator (`` - `` or ``] ``) ends it; the first two date
    components come from one anchored prefix match
    (:func:`formats.date_components_pattern`). The author is the text before
    the first ``": "`` after the header (no header shape contains one) when
    it is short, on the first line and holds an even number of quotation marks
    (see :data:`content.QUOTE_MARKS`); the body is cut out of the message
    once, after it. Each body regex is guarded by a cheap test (a
    substring, a byte length) so that the common plain-text message costs a
    few ``strpos``.
    Author names keep their marks here; they are cleaned once per distinct
    name when pseudonyms are computed.
    """
    system_if_marked = "TRUE" if shape.bracketed else "FALSE"
    edited = _lit(content.EDITED_PATTERN)
    return f"""
WITH h AS (
    SELECT ord, line_no, m,
        {_header_end_sql(shape)} AS hend,
        regexp_extract(m, {_lit(date_components_pattern(shape))}, ['p1', 'p2', 'p3']) AS date_parts
    FROM {quote_ident(chunk)}
), a AS (
    SELECT ord, line_no, m, hend, substr(m, 2, hend - 1) AS header,
        date_parts.p1 AS p1, date_parts.p2 AS p2, date_parts.p3 AS p3,
        {_colon_sql(shape)} AS colon
    FROM h
), s AS (
    SELECT ord, line_no, m, hend, header, p1, p2, p3, colon,
        CASE WHEN colon BETWEEN 2 AND {content.MAX_AUTHOR_CHARS}
            THEN substr(m, hend + 1, colon - 1) END AS prefix
    FROM a
), c AS (
    SELECT ord, line_no, header, p1, p2, p3,
        CASE WHEN contains(prefix, chr(10)) THEN FALSE
            WHEN NOT ({_any_quote_sql("prefix")}) THEN TRUE
            ELSE (length(prefix) - length(regexp_replace(prefix, {_lit(_QUOTE_CLASS)}, '', 'g')))
                % 2 = 0
        END AS has_author,
        CASE WHEN has_author THEN prefix END AS author,
        substr(m, CASE WHEN has_author THEN hend + colon + 2 ELSE hend + 1 END) AS rest
    FROM s
), d AS (
    SELECT ord, line_no, header, p1, p2, p3, author,
        starts_with(rest, chr(8206)) AS marked,
        CASE WHEN contains(rest, '<') THEN regexp_matches(rest, {edited}) ELSE FALSE END AS edited,
        CASE WHEN edited THEN regexp_replace(rest, {edited}, '') ELSE rest END AS r2
    FROM c
), e AS (
    SELECT ord, line_no, header, p1, p2, p3, author, marked, edited,
        CASE WHEN ascii(r2) <= 127 THEN r2
            WHEN regexp_matches(left(r2, 1), {_lit(MARKS_CLASS)})
                THEN ltrim(r2, {_lit(INVISIBLE_MARKS)})
            ELSE r2 END AS body
    FROM d
), e2 AS (
    SELECT *, contains(body, ' • ') AS captioned FROM e
), f AS (
    -- Every regex sits in a CASE branch: DuckDB evaluates both sides of AND/OR
    -- for every row, but a CASE branch only for the rows that reach it.
    SELECT *,
        CASE WHEN contains(body, ' (')
                THEN nullif(regexp_extract(body, {_lit(content.ATTACHED_PATTERN)}, 1), '')
            WHEN starts_with(body, '<') OR captioned
                THEN nullif(regexp_extract(body, {_lit(content.IOS_ATTACHED_PATTERN)}, 1), '')
            WHEN contains(body, 'attached>')
                THEN nullif(regexp_extract(body, {_lit(content.OLD_IOS_ATTACHED_PATTERN)}, 1), '')
        END AS media_file,
        CASE WHEN captioned THEN regexp_matches(body, {_lit(content.CAPTIONED_OMITTED_PATTERN)})
            WHEN starts_with(body, '<') THEN regexp_matches(body, {_lit(content.OMITTED_PATTERN)})
                OR regexp_matches(body, {_lit(content.ANY_OMITTED_PATTERN)})
            WHEN strlen(body) <= {content.OMITTED_MAX_BYTES}
                THEN regexp_matches(body, {_lit(content.OMITTED_PATTERN)})
            ELSE FALSE
        END AS omitted,
        CASE WHEN strlen(body) <= {content.DELETED_MAX_BYTES}
            THEN regexp_matches(body, {_lit(content.DELETED_PATTERN)}) ELSE FALSE END AS deleted,
        CASE WHEN strlen(body) > {content.E2E_MAX_BYTES} THEN FALSE
            WHEN contains(body, 'end') OR contains(body, 'Ende') OR contains(body, 'ponta')
                OR contains(body, 'extremo') OR contains(body, 'bout')
                THEN regexp_matches(body, {_lit(content.E2E_NOTICE_PATTERN)})
            ELSE FALSE END AS notice
    FROM e2
), g AS (
    SELECT *,
        author IS NULL OR notice OR ({system_if_marked} AND marked AND media_file IS NULL
            AND NOT omitted AND NOT deleted AND NOT edited) AS system
    FROM f
)
SELECT ord, line_no, header, TRY_CAST(p1 AS INTEGER) AS d1, TRY_CAST(p2 AS INTEGER) AS d2,
    TRY_CAST(p3 AS INTEGER) AS d3,
    (strlen(p1) > 2)::INTEGER + 2 * (strlen(p2) > 2)::INTEGER
        + 4 * (strlen(p3) > 2)::INTEGER AS wide,
    CASE WHEN system THEN NULL ELSE author END AS author,
    CASE WHEN ends_with(body, chr(10)) THEN rtrim(body, chr(10)) ELSE body END AS text,
    CASE WHEN system THEN 'system' WHEN deleted THEN 'deleted'
        WHEN omitted THEN 'media_omitted' WHEN media_file IS NOT NULL THEN 'media'
        ELSE 'text' END AS kind,
    CASE WHEN system THEN NULL ELSE media_file END AS media_file,
    edited,
    CASE WHEN contains(body, '@') THEN list_transform(
        regexp_extract_all(body, {_lit(content.MENTION_PATTERN)}),
        lambda mention: rtrim(regexp_replace(mention, {_lit(_MENTION_NOISE)}, '', 'g'), '.'))
    END AS mentions
FROM g
"""


def _header_end_sql(shape: HeaderShape) -> str:
    """SQL: 1-based position of the header's last character in ``m`` (``"\\n" + message``).

    The first occurrence of a unique terminator (`` - ``, ``] ``, ``: ``) ends the
    header: one ``strpos``. A lone-space terminator is not unique, so the strict
    pattern is matched again for those (rare) files.
    """
    if shape.terminator_is_unique:
        return f"strpos(m, {_lit(shape.terminator)}) + {len(shape.terminator) - 1}"
    return f"1 + length(regexp_extract(m, {_lit(header_pattern(shape))}, 1))"


def _colon_sql(shape: HeaderShape) -> str:
    """SQL: position of the author's ``": "`` after the header (0 if none).

    `` - `` and ``] `` headers hold no ``": "``, so searching from the start is
    the same and cheaper; a ``": "``-terminated header holds one itself.
    """
    if shape.terminator in ("] ", " - "):
        return "greatest(strpos(m, ': ') - hend, 0)"
    return "strpos(substr(m, hend + 1), ': ')"


def _any_quote_sql(column: str) -> str:
    """``column`` holds a quotation mark (a ``contains`` each: far cheaper than a regex)."""
    return " OR ".join(f"contains({column}, {_lit(mark)})" for mark in content.QUOTE_MARKS)


def _trim_header_sql(column: str) -> str:
    """``column`` without leading invisible marks and ``[``.

    Leading marks or ``[`` are rare on Android: trim only when the first
    character is not ASCII or is a bracket (``ltrim`` with a character set
    costs about as much as the rest of the stage step together).
    """
    return (
        f"CASE WHEN ascii({column}) > 127 OR starts_with({column}, '[') "
        f"THEN ltrim({column}, {_lit(INVISIBLE_MARKS + '[')}) ELSE {column} END"
    )


_AMPM_SPELLINGS: Final = (
    ("\u202f", " "),
    ("\u00a0", " "),
    ("_", " "),
    ("P. M.", "PM"),
    ("A. M.", "AM"),
    ("P.M.", "PM"),
    ("A.M.", "AM"),
    ("PM", " PM"),
    ("AM", " AM"),
    ("  ", " "),
)


def _local_ts_sql(shape: HeaderShape, order: DateOrder, *, trim: bool = True) -> str:
    """The local (naive) timestamp of a staged row, NULL when the date is impossible.

    ``strptime`` with formats built from the detected shape and the decided
    order (:func:`formats.strptime_formats`); 12-hour headers with unusual
    AM/PM spellings (``p. m.``, U+202F, ...) are first upper-cased and unified.
    ``trim=False`` when the splitter saw every header start with a digit: the
    trimming expression costs about as much as the parsing.
    """
    header = _trim_header_sql("header") if trim else "header"
    if shape.ampm_before:
        header = move_ampm_words_sql(header)
    if shape.normalize_ampm:
        header = f"upper({header})"
        for old, new in _AMPM_SPELLINGS:
            header = f"replace({header}, {_lit(old)}, {_lit(new)})"
    formats = ", ".join(_lit(f) for f in strptime_formats(shape, order))
    parsed = f"try_strptime({header}, [{formats}])"
    if not shape.twelve_hour:
        return parsed
    # Some 12-hour locales write the first hour after midnight as 00 (``00:08 a. m.``),
    # which %I refuses: read it as 12. COALESCE only evaluates this for the rows
    # the plain parse left NULL, so common headers pay nothing.
    midnight = shape.date_time_sep + "00" + shape.time_sep
    noon = shape.date_time_sep + "12" + shape.time_sep
    if shape.normalize_ampm:
        midnight, noon = midnight.upper(), noon.upper()
    again = f"try_strptime(replace({header}, {_lit(midnight)}, {_lit(noon)}), [{formats}])"
    return f"coalesce({parsed}, {again})"


_EXTENSION: Final = "\\.([A-Za-z0-9]+)$"


def _media_type_case(column: str) -> str:
    branches = " ".join(
        f"WHEN {_lit(ext)} THEN {_lit(kind)}"
        for ext, kind in content.MEDIA_TYPE_BY_EXTENSION.items()
    )
    ext = f"lower(regexp_extract({column}, {_lit(_EXTENSION)}, 1))"
    return f"CASE {ext} {branches} ELSE 'document' END"


EVENT_NAMESPACE: Final = uuid.UUID("b8d1c0a4-3f5e-5c2b-9e61-7a0f4d2c8e13")
"""Salt of ``event_id``: its hex form is the first field of the hashed name."""

EVENT_FIELD_SEPARATOR: Final = "\x1f"
NULL_AUTHOR_MARK: Final = "\x1e"

_EVENT_NAME: Final = (
    f"concat_ws(chr(31), {quote_literal(EVENT_NAMESPACE.hex)}, $tenant, $thread, "
    "epoch_us(ts)::VARCHAR, coalesce(a.author, chr(30)), coalesce(t.text, ''))"
)


def event_name(
    tenant_id: str, thread_id: str, ts_epoch_us: int, author: str | None, text: str
) -> str:
    """The hashed name of a message: what makes it *this* message.

    Not its position in the file: WhatsApp caps how much history an export
    holds, so a later export of the same chat can start further on, and every
    ordinal shifts. The same message must keep its id in both exports.
    """
    return EVENT_FIELD_SEPARATOR.join(
        (
            EVENT_NAMESPACE.hex,
            tenant_id,
            thread_id,
            str(ts_epoch_us),
            author or NULL_AUTHOR_MARK,
            text,
        )
    )


def event_id(
    tenant_id: str,
    thread_id: str,
    ts_epoch_us: int,
    author: str | None,
    text: str,
    occurrence: int = 1,
) -> str:
    """``event_id`` of a message: MD5 of :func:`event_name`, written as a UUID (8-4-4-4-12).

    ``occurrence`` tells apart identical messages (same minute, author and text,
    e.g. two "ok"s): the n-th one in file order, n >= 2, hashes the first
    digest with ``␟n`` once more. 128 bits, deterministic, and what
    :func:`load_sql` computes in DuckDB (tests recompute it with this). MD5,
    not an RFC 4122 UUIDv5: SHA-1 plus setting the version/variant bits cost
    about 0.15 s per 500k messages, for no property the warehouse needs (the id
    is an opaque key; MD5 is not used for security here).
    """
    name = event_name(tenant_id, thread_id, ts_epoch_us, author, text)
    digest = hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()
    if occurrence > 1:
        again = f"{digest}{EVENT_FIELD_SEPARATOR}{occurrence}"
        digest = hashlib.md5(again.encode("utf-8"), usedforsecurity=False).hexdigest()
    return str(uuid.UUID(hex=digest))


def uuid_format_sql(digest: str) -> str:
    """SQL writing a 32-hex-digit column as ``8-4-4-4-12``, like ``str(uuid.UUID(hex=...))``.

    By plain concatenation: a round trip through DuckDB's UUID type costs
    several times as much. ``digest`` should be a column (it is used five times).
    """
    return (
        f"concat(left({digest}, 8), '-', substr({digest}, 9, 4), '-', substr({digest}, 13, 4), "
        f"'-', substr({digest}, 17, 4), '-', substr({digest}, 21, 12))"
    )


CLOCK_CHANGE_TOLERANCE: Final = 3600
"""Seconds a message may step back behind the one before it in file order without
the file counting as out of time order: the largest clock change (a daylight-saving
fall-back hour) can do that much; a wrong date order jumps days."""

_VALID_RANGE: Final = (
    "TIMESTAMPTZ '0001-01-01 00:00:00+00'",
    "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'",
)
"""Instants the warehouse and its clients read as datetimes (year 1-9999 in UTC)."""


def load_sql(
    stage: str,
    authors: str,
    attachments: str,
    shape: HeaderShape,
    order: DateOrder,
    table: str,
    *,
    skip_bad_dates: bool = True,
    trim_headers: bool = True,
    changes: ClockChanges = (),
    out_of_order: str | None = None,
) -> str:
    """``INSERT INTO messages`` from the stage, skipping ``event_id``s already present.

    ``skip_bad_dates=False`` drops the validity filter (which makes DuckDB
    compute the timestamp twice) when the caller knows every date is valid.
    ``changes`` are the clock changes the chat's years cross (see
    :mod:`.localtime`); ``out_of_order`` a table of ``(ord, line_no)`` of messages
    that step back in time, flagged in ``attrs``. Both are empty in the common
    case, and the SQL is then the plain, cheapest one.
    """
    low, high = _VALID_RANGE
    valid_only = f"WHERE ts BETWEEN {low} AND {high}" if skip_bad_dates else ""
    target = quote_ident(table)
    columns = ", ".join(quote_ident(c) for c in MESSAGE_COLUMNS)
    extra_parts = []
    join = ""
    if changes:
        extra_parts.append(f"'local_time', {flag_sql('t.lts', changes)}")
    if out_of_order is not None:
        extra_parts.append("'out_of_order', CASE WHEN b.ord IS NOT NULL THEN true END")
        extra_parts.append("'line', b.line_no")
        join = f"LEFT JOIN {quote_ident(out_of_order)} b ON b.ord = t.ord"
    extra = (
        f"nullif(json_object({', '.join(extra_parts)})::VARCHAR, '{{}}')::JSON"
        if extra_parts
        else "NULL::JSON"
    )
    plain = "k.kind = 'text' AND NOT k.edited AND k.mentions IS NULL"
    if extra_parts:
        plain += " AND k.extra IS NULL"
    return f"""
INSERT INTO {target} ({columns})
WITH t0 AS (
    SELECT s.*, {_local_ts_sql(shape, order, trim=trim_headers)} AS lts
    FROM {quote_ident(stage)} s
), t AS (
    SELECT t0.*, {utc_sql("t0.lts", "$tz", changes)} AS ts FROM t0
), u AS (
    SELECT t.* EXCLUDE (author), a.author, coalesce(a.author_uuid, $system_uuid) AS author_uuid,
        md5({_EVENT_NAME}) AS name_digest, {extra} AS extra
    FROM t LEFT JOIN {quote_ident(authors)} a ON a.raw = t.author {join}
    {valid_only}
), o AS (
    SELECT *, row_number() OVER (PARTITION BY name_digest ORDER BY ord) AS occurrence FROM u
), e AS (
    SELECT *, CASE WHEN occurrence = 1 THEN name_digest
        ELSE md5(concat(name_digest, chr(31), occurrence::VARCHAR)) END AS event_digest
    FROM o
), k AS (
    SELECT *, {uuid_format_sql("event_digest")} AS event_id FROM e
)
SELECT k.event_id, $tenant, {_lit(SOURCE)}, $thread, k.ord::VARCHAR, k.ts, k.author,
    k.author_uuid, k.text, coalesce(att.media_url, k.media_file),
    CASE WHEN k.media_file IS NOT NULL THEN {_media_type_case("k.media_file")} END,
    CASE WHEN {plain}
        THEN '{{"kind":"text"}}'::JSON
    ELSE json_merge_patch(json_object('kind', k.kind), json_object(
        'edited', CASE WHEN k.edited THEN true END,
        'mentions', CASE WHEN len(k.mentions) > 0 THEN k.mentions END,
        'attachment', k.media_file,
        'attachment_missing',
            CASE WHEN k.media_file IS NOT NULL AND att.media_url IS NULL THEN true END),
        coalesce(k.extra, '{{}}'::JSON)) END,
    NULL, $created_at, $run_id
FROM k LEFT JOIN {quote_ident(attachments)} att ON att.filename = k.media_file
WHERE NOT EXISTS (SELECT 1 FROM {target} m WHERE m.event_id = k.event_id)
"""


def _order_key_sql(order: DateOrder, prefix: str) -> str:
    """SQL: the date as ``yyyymmdd``-like integer for ``order`` (only compared, never shown)."""
    column = {letter: f"{prefix}{i + 1}" for i, letter in enumerate(order.value)}
    return f"({column['Y']} * 10000 + {column['M']} * 100 + {column['D']})"


def _unreadable_sql(order: DateOrder) -> str:
    column = {letter: f"d{i + 1}" for i, letter in enumerate(order.value)}
    return f"NOT ({column['M']} BETWEEN 1 AND 12 AND {column['D']} BETWEEN 1 AND 31)"


def date_stats(conn: duckdb.DuckDBPyConnection, stage: str) -> DateStats:
    """Aggregate the staged date parts for :func:`dateorder.resolve_date_order`.

    One pass: per part its range, width and number of changes; per order the
    headers it cannot read and the steps where the date goes back. Integer
    arithmetic only: no timestamp is parsed here.
    """
    orders = list(DateOrder)
    per_part = ", ".join(
        f"coalesce(max(d{i}), 0), coalesce(min(d{i}), 0), "
        f"coalesce(bool_or(wide & {1 << (i - 1)} <> 0), FALSE), "
        f"count(*) FILTER (WHERE d{i} <> p{i})"
        for i in (1, 2, 3)
    )
    per_order = ", ".join(
        f"count(*) FILTER (WHERE {_unreadable_sql(o)}), "
        f"count(*) FILTER (WHERE {_order_key_sql(o, 'd')} < {_order_key_sql(o, 'p')})"
        for o in orders
    )
    row = conn.execute(
        f"""
        SELECT count(*), {per_part}, {per_order}
        FROM (SELECT d1, d2, d3, wide, lag(d1) OVER w AS p1, lag(d2) OVER w AS p2,
                lag(d3) OVER w AS p3
              FROM {quote_ident(stage)} WINDOW w AS (ORDER BY ord))
        """
    ).fetchone()
    assert row is not None
    values = [int(v) for v in row]
    parts = tuple(
        PartStats(
            max_value=values[1 + 4 * i],
            min_value=values[2 + 4 * i],
            wide=bool(values[3 + 4 * i]),
            changes=values[4 + 4 * i],
        )
        for i in range(3)
    )
    tail = values[13:]
    return DateStats(
        headers=values[0],
        parts=(parts[0], parts[1], parts[2]),
        unreadable={o: tail[2 * n] for n, o in enumerate(orders)},
        backward={o: tail[2 * n + 1] for n, o in enumerate(orders)},
    )


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


_MARKS_TABLE: Final = str.maketrans("", "", INVISIBLE_MARKS)
_CONTROLS: Final = {c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0))}


def clean_author(raw: str) -> str:
    """An exported name as stored: bidi marks removed (``\u202a+55 11 ...\u202c`` ->
    ``+55 11 ...``), then every control character (U+0000-U+001F, U+007F-U+009F)
    replaced by U+FFFD. Names stay distinct and readable, and no name can equal
    :data:`SYSTEM_AUTHOR_KEY` (it holds a NUL), so none gets the system pseudonym."""
    return raw.translate(_MARKS_TABLE).strip().translate(_CONTROLS)


def author_uuid(namespace: uuid.UUID, author: str) -> str:
    """The stable pseudonym of an exported author name."""
    return str(uuid.uuid5(namespace, author))


_STAGE: Final = "_egregora_stage_messages"
_CHUNK: Final = "_egregora_chunk"
_AUTHORS: Final = "_egregora_authors"
_ATTACHMENTS: Final = "_egregora_attachments"
_OUT_OF_ORDER: Final = "_egregora_out_of_order"


def load_chat(
    conn: duckdb.DuckDBPyConnection,
    stream: ReadableBytes,
    *,
    source_path: str,
    thread_id: str,
    tenant_id: str,
    timezone: str,
    namespace: uuid.UUID,
    run_id: str,
    resolve_attachments: Callable[[list[str]], Mapping[str, str]] | None = None,
    date_order: DateOrder | None = None,
    table: str = "messages",
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    progress: Callable[[int], None] | None = None,
) -> ChatLoad:
    """Parse the chat in ``stream`` and insert its new messages into ``table``.

    ``resolve_attachments`` receives the attachment file names the chat
    mentions and returns, for those it could store, their ``media_url`` (the
    key in the media store); the others are recorded as missing. The caller
    owns the transaction.
    """
    result = ChatLoad()
    first = stream.read(block_bytes)
    shape = sniff_shape(first, path=source_path)
    result.shape = shape
    splitter = MessageSplitter(shape, path=source_path)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(_STAGE)} ({_STAGE_COLUMNS})")
    try:
        insert = stage_sql(_STAGE, _CHUNK, shape)
        block, final = first, len(first) < block_bytes
        while True:
            chunk = splitter.feed(block, final=final)
            if chunk is not None:
                conn.register(_CHUNK, chunk)
                try:
                    conn.execute(insert)
                finally:
                    _quietly(conn.unregister, _CHUNK)
                if progress is not None:
                    progress(splitter.result.messages)
            if final:
                break
            block = stream.read(block_bytes)
            final = len(block) < block_bytes
        result.messages = splitter.result.messages
        result.unreadable_headers = len(splitter.result.unreadable)
        decision = resolve_date_order(
            date_stats(conn, _STAGE), override=date_order, path=source_path
        )
        trim = not splitter.result.undecorated_headers
        times = _check_times(conn, shape, decision.order, timezone, trim=trim)
        if times.out_of_order and date_order is None:
            decision, times = _try_other_orders(conn, shape, decision, times, timezone, trim)
        result.decision, result.date_order = decision, decision.order
        order = decision.order
        result.rejections.extend(_split_rejections(splitter, shape, order, source_path))
        bad_dates = (
            _bad_dates(conn, shape, order, source_path, timezone, trim=trim) if (times.bad) else []
        )
        result.rejections.extend(bad_dates)
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
        result.rejections.extend(_missing_attachments(conn, attachments, source_path))
        if times.out_of_order:
            _record_out_of_order(conn, shape, order, timezone, trim=trim)
        result.added = _insert(
            conn,
            shape,
            order,
            attachments,
            namespace,
            tenant_id,
            thread_id,
            timezone,
            run_id,
            table,
            skip_bad_dates=bool(bad_dates),
            trim_headers=trim,
            changes=changes,
            out_of_order=_OUT_OF_ORDER if times.out_of_order else None,
        )
        result.skipped = result.messages - len(bad_dates) - result.added
        return result
    finally:
        _quietly(conn.execute, f"DROP TABLE IF EXISTS {quote_ident(_STAGE)}")
        _quietly(conn.execute, f"DROP TABLE IF EXISTS {quote_ident(_OUT_OF_ORDER)}")


def _split_rejections(
    splitter: MessageSplitter, shape: HeaderShape, order: DateOrder, source_path: str
) -> list[Rejection]:
    """Orphan text, unreadable headers and undecodable bytes the splitter saw."""
    rejections = [
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
    for unreadable in splitter.result.unreadable:
        first_line = unreadable.text.split("\n", 1)[0]
        column, why = diagnose_header(first_line, shape)
        rejections.append(
            Rejection(
                source_path,
                unreadable.line,
                column,
                f"starts like a message header but cannot be read: {why} "
                f"(this chat's headers look like {shape.example(order)!r}); the message is "
                "kept out rather than glued to the one before",
                unreadable.text[:2000],
            )
        )
    if splitter.result.invalid_utf8_blocks:
        rejections.append(
            Rejection(
                source_path,
                None,
                None,
                "the chat is not valid UTF-8; undecodable bytes were replaced by U+FFFD",
                None,
            )
        )
    return rejections


def _quietly(action: Callable[[str], object], argument: str) -> None:
    """Clean up without masking the error that got us here (an aborted transaction
    refuses even ``unregister``; the caller's ROLLBACK undoes everything anyway)."""
    with contextlib.suppress(duckdb.Error):
        action(argument)


@dataclass(frozen=True)
class _Times:
    """One parsing pass over the staged headers in a given order."""

    bad: int
    out_of_order: int
    first_out_of_order_line: int | None
    years: tuple[int, ...]


def _valid_sql(local: str) -> str:
    """SQL: ``local`` is a date the warehouse keeps (year 1-9999 once in UTC).

    Only local times within a day of the ends need the time-zone conversion."""
    low, high = _VALID_RANGE
    return (
        f"CASE WHEN {local} IS NULL THEN FALSE "
        f"WHEN {local} BETWEEN TIMESTAMP '0001-01-02' AND TIMESTAMP '9999-12-30' THEN TRUE "
        f"ELSE timezone($tz, {local}) BETWEEN {low} AND {high} END"
    )


def _check_times(
    conn: duckdb.DuckDBPyConnection,
    shape: HeaderShape,
    order: DateOrder,
    timezone: str,
    *,
    trim: bool,
) -> _Times:
    """Parse every header once in ``order``: how many are impossible, how many step
    back in time by more than a clock change, and which years the chat covers."""
    row = conn.execute(
        f"""
        WITH t AS (
            SELECT ord, line_no, lts, {_valid_sql("lts")} AS ok
            FROM (SELECT ord, line_no, {_local_ts_sql(shape, order, trim=trim)} AS lts
                  FROM {quote_ident(_STAGE)})
        ), w AS (
            SELECT line_no, ok, lts,
                lag(CASE WHEN ok THEN lts END IGNORE NULLS) OVER (ORDER BY ord) AS prev
            FROM t
        )
        SELECT count(*) FILTER (WHERE NOT ok),
            count(*) FILTER (WHERE {_steps_back_sql()}),
            min(line_no) FILTER (WHERE {_steps_back_sql()}),
            list(DISTINCT year(lts)) FILTER (WHERE ok)
        FROM w
        """,
        {"tz": timezone},
    ).fetchone()
    assert row is not None
    return _Times(
        bad=int(row[0]),
        out_of_order=int(row[1]),
        first_out_of_order_line=int(row[2]) if row[2] is not None else None,
        years=tuple(int(y) for y in row[3] or ()),
    )


def _steps_back_sql() -> str:
    return f"ok AND lts < prev - INTERVAL {CLOCK_CHANGE_TOLERANCE} SECOND"


def _try_other_orders(
    conn: duckdb.DuckDBPyConnection,
    shape: HeaderShape,
    decision: OrderDecision,
    times: _Times,
    timezone: str,
    trim: bool,
) -> tuple[OrderDecision, _Times]:
    """The chosen reading runs backwards: a wrong order is the likeliest cause, so
    every other order that reads all headers is tried; the first that keeps the
    file in time order (and reads no fewer dates) wins. Otherwise keep the choice."""
    for other in decision.plausible:
        if other is decision.order:
            continue
        again = _check_times(conn, shape, other, timezone, trim=trim)
        if again.out_of_order == 0 and again.bad <= times.bad:
            reason = (
                f"{other.value}: read as {decision.order.value} ({decision.reason}), "
                f"{times.out_of_order} messages went back in time (first at line "
                f"{times.first_out_of_order_line}); read as {other.value} none do"
            )
            return OrderDecision(other, reason, decision.plausible), again
    return decision, times


def _record_out_of_order(
    conn: duckdb.DuckDBPyConnection,
    shape: HeaderShape,
    order: DateOrder,
    timezone: str,
    *,
    trim: bool,
) -> None:
    """A temp table of the messages that step back in time, flagged by the insert."""
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(_OUT_OF_ORDER)} AS
        SELECT ord, line_no FROM (
            SELECT ord, line_no, lts, ok,
                lag(CASE WHEN ok THEN lts END IGNORE NULLS) OVER (ORDER BY ord) AS prev
            FROM (SELECT ord, line_no, lts, {_valid_sql("lts")} AS ok
                  FROM (SELECT ord, line_no, {_local_ts_sql(shape, order, trim=trim)} AS lts
                        FROM {quote_ident(_STAGE)})))
        WHERE {_steps_back_sql()}
        """,
        {"tz": timezone},
    )


def _bad_dates(
    conn: duckdb.DuckDBPyConnection,
    shape: HeaderShape,
    order: DateOrder,
    source_path: str,
    timezone: str,
    *,
    trim: bool,
) -> list[Rejection]:
    rows = conn.execute(
        f"SELECT line_no, header, lts IS NULL FROM "
        f"(SELECT ord, line_no, header, {_local_ts_sql(shape, order, trim=trim)} AS lts "
        f"FROM {quote_ident(_STAGE)}) WHERE NOT ({_valid_sql('lts')}) ORDER BY ord",
        {"tz": timezone},
    ).fetchall()
    rejections = []
    for line, header, impossible in rows:
        column, why = diagnose_header(str(header), shape)
        if not impossible:
            column, why = 1, "the year is outside 0001-9999 (once converted to UTC)"
        elif why.startswith(("hour", "minute", "second")):
            why = f"the time cannot be read: {why}"
        else:
            column, why = 1, f"the date is not a valid {order.value} date"
        rejections.append(
            Rejection(
                source_path,
                int(line),
                column,
                f"{why}; expected a header like {shape.example(order)!r}",
                str(header),
            )
        )
    return rejections


def _missing_attachments(
    conn: duckdb.DuckDBPyConnection, attachments: Mapping[str, str], source_path: str
) -> list[Rejection]:
    rows = conn.execute(
        f"SELECT line_no, media_file FROM {quote_ident(_STAGE)} "
        "WHERE media_file IS NOT NULL ORDER BY ord"
    ).fetchall()
    return [
        Rejection(
            source_path,
            int(line),
            None,
            f"attachment {name!r} is named in the chat but missing from the export",
            str(name),
        )
        for line, name in rows
        if name not in attachments
    ]


def _insert(
    conn: duckdb.DuckDBPyConnection,
    shape: HeaderShape,
    order: DateOrder,
    attachments: Mapping[str, str],
    namespace: uuid.UUID,
    tenant_id: str,
    thread_id: str,
    timezone: str,
    run_id: str,
    table: str,
    *,
    skip_bad_dates: bool,
    trim_headers: bool,
    changes: ClockChanges,
    out_of_order: str | None,
) -> int:
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
        row = conn.execute(
            load_sql(
                _STAGE,
                _AUTHORS,
                _ATTACHMENTS,
                shape,
                order,
                table,
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
        ).fetchone()
    finally:
        _quietly(conn.execute, f"DROP TABLE IF EXISTS {quote_ident(_AUTHORS)}")
        _quietly(conn.execute, f"DROP TABLE IF EXISTS {quote_ident(_ATTACHMENTS)}")
    return int(row[0]) if row else 0
