"""Staging SQL: the per-block ``SELECT`` that classifies every message of a chat.

Per block of the chat, the file's header pattern runs over every message,
author is split from text, and the body classified (system line, attachment,
omitted media, deleted, edited, mentions) into a session-local TEMP table. Only
the date components are kept, not the timestamp, because the date order is
decided from *all* headers (:mod:`.datestats` measures, :mod:`.dateorder`
decides, :mod:`.timestamps` parses and checks). Plain SQL text for the parser's
compute engine (DuckDB); nothing here runs it.
"""

from __future__ import annotations

from typing import Final

from egregora_pipeline.ingestion.whatsapp import content
from egregora_pipeline.ingestion.whatsapp.formats import (
    INVISIBLE_MARKS,
    MARKS_CLASS,
    HeaderShape,
    date_components_pattern,
    header_pattern,
)
from egregora_pipeline.sql import quote_ident, quote_literal

STAGE_COLUMNS: Final = """
    ord BIGINT, line_no BIGINT, header VARCHAR, d1 INTEGER, d2 INTEGER, d3 INTEGER,
    author VARCHAR, text VARCHAR, kind VARCHAR, media_file VARCHAR, edited BOOLEAN,
    mentions VARCHAR[]
"""


_QUOTE_CLASS: Final = "[" + content.QUOTE_MARKS + "]"


_MENTION_NOISE: Final = "^\\s*@|" + MARKS_CLASS


def lit(text: str) -> str:
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
    # The old iOS marker (2015-2017) only occurs in iOS exports: Android files skip it.
    old_marker = lit(content.OLD_IOS_ATTACHED_PATTERN)
    old_ios = (
        f"WHEN ends_with(body, 'attached>') THEN nullif(regexp_extract(body, {old_marker}, 1), '')"
        if shape.bracketed
        else ""
    )
    edited = lit(content.EDITED_PATTERN)
    return f"""
WITH h AS (
    SELECT ord, line_no, m,
        {_header_end_sql(shape)} AS hend,
        regexp_extract(m, {lit(date_components_pattern(shape))}, ['p1', 'p2', 'p3']) AS date_parts
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
            ELSE (length(prefix) - length(regexp_replace(prefix, {lit(_QUOTE_CLASS)}, '', 'g')))
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
            WHEN regexp_matches(left(r2, 1), {lit(MARKS_CLASS)})
                THEN ltrim(r2, {lit(INVISIBLE_MARKS)})
            ELSE r2 END AS body
    FROM d
), e2 AS (
    SELECT *, contains(body, ' • ') AS captioned FROM e
), f AS (
    -- Every regex sits in a CASE branch: DuckDB evaluates both sides of AND/OR
    -- for every row, but a CASE branch only for the rows that reach it.
    SELECT *,
        CASE WHEN contains(body, ' (')
                THEN nullif(regexp_extract(body, {lit(content.ATTACHED_PATTERN)}, 1), '')
            WHEN starts_with(body, '<') OR captioned
                THEN nullif(regexp_extract(body, {lit(content.IOS_ATTACHED_PATTERN)}, 1), '')
            {old_ios}
        END AS media_file,
        CASE WHEN captioned THEN regexp_matches(body, {lit(content.CAPTIONED_OMITTED_PATTERN)})
            WHEN starts_with(body, '<') THEN regexp_matches(body, {lit(content.OMITTED_PATTERN)})
                OR regexp_matches(body, {lit(content.ANY_OMITTED_PATTERN)})
            WHEN strlen(body) <= {content.OMITTED_MAX_BYTES}
                THEN regexp_matches(body, {lit(content.OMITTED_PATTERN)})
            ELSE FALSE
        END AS omitted,
        CASE WHEN strlen(body) <= {content.DELETED_MAX_BYTES}
            THEN regexp_matches(body, {lit(content.DELETED_PATTERN)}) ELSE FALSE END AS deleted
    FROM e2
), g AS (
    SELECT *,
        author IS NULL OR ({system_if_marked} AND marked AND media_file IS NULL
            AND NOT omitted AND NOT deleted AND NOT edited) AS system
    FROM f
)
SELECT ord, line_no, header, TRY_CAST(p1 AS INTEGER) AS d1, TRY_CAST(p2 AS INTEGER) AS d2,
    TRY_CAST(p3 AS INTEGER) AS d3,
    CASE WHEN system THEN NULL ELSE author END AS author,
    CASE WHEN ends_with(body, chr(10)) THEN rtrim(body, chr(10)) ELSE body END AS text,
    CASE WHEN system THEN 'system' WHEN deleted THEN 'deleted'
        WHEN omitted THEN 'media_omitted' WHEN media_file IS NOT NULL THEN 'media'
        ELSE 'text' END AS kind,
    CASE WHEN system THEN NULL ELSE media_file END AS media_file,
    edited,
    CASE WHEN contains(body, '@') THEN list_transform(
        regexp_extract_all(body, {lit(content.MENTION_PATTERN)}),
        lambda mention: rtrim(regexp_replace(mention, {lit(_MENTION_NOISE)}, '', 'g'), '.'))
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
        return f"strpos(m, {lit(shape.terminator)}) + {len(shape.terminator) - 1}"
    return f"1 + length(regexp_extract(m, {lit(header_pattern(shape))}, 1))"


def _colon_sql(shape: HeaderShape) -> str:
    """SQL: position of the author's ``": "`` after the header (0 if none).

    `` - `` and ``] `` headers hold no ``": "``, so searching from the start is
    the same and cheaper; a ``": "``-terminated header holds one itself.
    """
    if shape.terminator in ("] ", " - "):
        return "greatest(strpos(m, ': ') - hend, 0)"
    return "strpos(substr(m, hend + 1), ': ')"


def notices_sql(stage: str) -> str:
    """``UPDATE`` turning end-to-end-encryption notices written with a sender into system
    lines (see :data:`content.E2E_NOTICE_PATTERN`).

    Only when that "sender" wrote nothing but the notice (it is the group's name):
    a person who writes "Messages and calls are end-to-end encrypted, so relax"
    keeps their message and their authorship.

    Once per chat over the staged rows rather than inside the per-row
    classification: as ``WHERE`` conjuncts, a byte length and a byte range of
    the text (every first word of the notice sorts between the lowest and the
    highest; a plain comparison) filter before the regex. Measured on 500k
    messages: 6 ms, where ``starts_with`` per word or ``ascii()`` cost 30 ms.
    """
    low = min(content.E2E_FIRST_WORDS)
    high = max(content.E2E_FIRST_WORDS) + "~"
    return f"""
UPDATE {quote_ident(stage)} SET author = NULL, kind = 'system', media_file = NULL
WHERE strlen(text) BETWEEN {content.E2E_MIN_BYTES} AND {content.E2E_MAX_BYTES}
    AND text >= {lit(low)} AND text < {lit(high)}
    AND regexp_matches(text, {lit(content.E2E_NOTICE_PATTERN)})
    AND author IS NOT NULL AND kind = 'text'
    AND author NOT IN (
        SELECT author FROM {quote_ident(stage)}
        WHERE author IS NOT NULL
          AND NOT coalesce(regexp_matches(text, {lit(content.E2E_NOTICE_PATTERN)}), false)
    )
"""


def _any_quote_sql(column: str) -> str:
    """``column`` holds a quotation mark (a ``contains`` each: far cheaper than a regex)."""
    return " OR ".join(f"contains({column}, {lit(mark)})" for mark in content.QUOTE_MARKS)
