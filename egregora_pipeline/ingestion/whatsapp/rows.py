"""The message rows SQL: from the staged chat to ``messages`` rows, in one ``SELECT``.

Computes, once per chat, the UTC timestamp (:mod:`.localtime`, :mod:`.timestamps`),
the deterministic ``event_id`` (:mod:`.event_ids`), joins the author pseudonyms
and the stored attachments, and builds ``attrs``. The ``SELECT`` runs on the
parser's compute engine (DuckDB); a sink's
:class:`~egregora_pipeline.backends.sink_base.MessageWriter` decides where its rows go
and skips the ``event_id``s already stored.
"""

from __future__ import annotations

from typing import Final

from egregora_pipeline.ingestion.whatsapp import content
from egregora_pipeline.ingestion.whatsapp.dateorder import DateOrder
from egregora_pipeline.ingestion.whatsapp.event_ids import EVENT_NAME_SQL, uuid_format_sql
from egregora_pipeline.ingestion.whatsapp.formats import HeaderShape
from egregora_pipeline.ingestion.whatsapp.localtime import ClockChanges, flag_sql, utc_sql
from egregora_pipeline.ingestion.whatsapp.staging import lit
from egregora_pipeline.ingestion.whatsapp.timestamps import VALID_RANGE, local_ts_sql
from egregora_pipeline.sql import quote_ident

SOURCE: Final = "whatsapp"


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


_EXTENSION: Final = "\\.([A-Za-z0-9]+)$"


def _media_type_case(column: str) -> str:
    branches = " ".join(
        f"WHEN {lit(ext)} THEN {lit(kind)}" for ext, kind in content.MEDIA_TYPE_BY_EXTENSION.items()
    )
    ext = f"lower(regexp_extract({column}, {lit(_EXTENSION)}, 1))"
    return f"CASE {ext} {branches} ELSE 'document' END"


def rows_sql(
    stage: str,
    authors: str,
    attachments: str,
    shape: HeaderShape,
    order: DateOrder,
    *,
    skip_bad_dates: bool = True,
    trim_headers: bool = True,
    changes: ClockChanges = (),
    out_of_order: str | None = None,
) -> str:
    """``SELECT`` of the ``messages`` rows (:data:`MESSAGE_COLUMNS`, in order) of the stage.

    ``skip_bad_dates=False`` drops the validity filter (which makes DuckDB
    compute the timestamp twice) when the caller knows every date is valid.
    ``changes`` are the clock changes the chat's years cross (see
    :mod:`.localtime`); ``out_of_order`` a table of ``(ord, line_no)`` of messages
    that step back in time, flagged in ``attrs``. Both are empty in the common
    case, and the SQL is then the plain, cheapest one.
    """
    low, high = VALID_RANGE
    valid_only = f"WHERE ts BETWEEN {low} AND {high}" if skip_bad_dates else ""
    # Extra attrs only exist for a few rows (clock changes, steps back in time): the
    # JSON is built for those alone, and not at all when the chat has none.
    extra_parts: list[str] = []
    flagged: list[str] = []
    join = ""
    if changes:
        extra_parts.append("'local_time', t.local_time")
        flagged.append("t.local_time IS NOT NULL")
    if out_of_order is not None:
        extra_parts.append("'out_of_order', CASE WHEN b.ord IS NOT NULL THEN true END")
        extra_parts.append("'line', b.line_no")
        flagged.append("b.ord IS NOT NULL")
        join = f"LEFT JOIN {quote_ident(out_of_order)} b ON b.ord = t.ord"
    extra = (
        f"CASE WHEN {' OR '.join(flagged)} THEN json_object({', '.join(extra_parts)}) END"
        if extra_parts
        else "NULL::JSON"
    )
    local_time = f", {flag_sql('t0.lts', changes)} AS local_time" if changes else ""
    plain = "k.kind = 'text' AND NOT k.edited AND k.mentions IS NULL"
    if extra_parts:
        plain += " AND k.extra IS NULL"
    return f"""
WITH t0 AS (
    SELECT s.*, {local_ts_sql(shape, order, trim=trim_headers)} AS lts
    FROM {quote_ident(stage)} s
), t AS (
    SELECT t0.*, {utc_sql("t0.lts", "$tz", changes)} AS ts{local_time} FROM t0
), u AS (
    SELECT t.* EXCLUDE (author), a.author, coalesce(a.author_uuid, $system_uuid) AS author_uuid,
        md5({EVENT_NAME_SQL}) AS name_digest, {extra} AS extra
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
SELECT k.event_id AS event_id, $tenant AS tenant_id, {lit(SOURCE)} AS source,
    $thread AS thread_id, k.ord::VARCHAR AS msg_id, k.ts AS ts, k.author AS author_raw,
    k.author_uuid AS author_uuid, k.text AS text,
    coalesce(att.media_url, k.media_file) AS media_url,
    CASE WHEN k.media_file IS NOT NULL THEN {_media_type_case("k.media_file")} END AS media_type,
    CASE WHEN {plain}
        THEN '{{"kind":"text"}}'::JSON
    ELSE json_merge_patch(json_object('kind', k.kind), json_object(
        'edited', CASE WHEN k.edited THEN true END,
        'mentions', CASE WHEN len(k.mentions) > 0 THEN k.mentions END,
        'attachment', k.media_file,
        'attachment_missing',
            CASE WHEN k.media_file IS NOT NULL AND att.media_url IS NULL THEN true END),
        coalesce(k.extra, '{{}}'::JSON)) END AS attrs,
    NULL AS pii_flags, $created_at AS created_at, $run_id AS created_by_run
FROM k LEFT JOIN {quote_ident(attachments)} att ON att.filename = k.media_file
"""
