"""What both sinks share about the rows they write: shapes, identity rules, queries.

The DuckDB sink and the PostgreSQL sink write the same declared tables by the
same rules; the rules are written once, here, as data and SQL both engines read
alike: the new-messages insert a chat's parse ends with (on the DuckDB warehouse,
or on the PostgreSQL sink's scratch DuckDB), the Arrow shapes of the columns loaded,
when a stored document is left alone, the profiles query, and the identity claims
(which source owns an ``id`` or a post ``slug``) with the Python half that decides
which claims are real.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote_to_bytes

import pyarrow as pa

from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    import duckdb

_UTC_TS: Final = pa.timestamp("us", tz="UTC")
_TEXTS: Final = pa.list_(pa.string())

ARROW_SCHEMAS: Final[Mapping[str, pa.Schema]] = {
    "documents": pa.schema(
        [
            ("id", pa.string()),
            ("content", pa.string()),
            ("created_at", _UTC_TS),
            ("source_checksum", pa.string()),
            ("title", pa.string()),
            ("slug", pa.string()),
            ("date", pa.date32()),
            ("summary", pa.string()),
            ("authors", _TEXTS),
            ("tags", _TEXTS),
            ("status", pa.string()),
            ("subject_uuid", pa.string()),
            ("alias", pa.string()),
            ("avatar_url", pa.string()),
            ("interests", _TEXTS),
            ("filename", pa.string()),
            ("mime_type", pa.string()),
            ("media_type", pa.string()),
            ("phash", pa.string()),
            ("window_start", _UTC_TS),
            ("window_end", _UTC_TS),
            ("doc_type", pa.string()),
            ("extensions", pa.string()),
        ]
    ),
    "ingest_rejections": pa.schema(
        [
            ("rejection_id", pa.string()),
            ("run_id", pa.string()),
            ("input_kind", pa.string()),
            ("source_path", pa.string()),
            ("line_number", pa.int64()),
            ("column_number", pa.int64()),
            ("reason", pa.string()),
            ("raw", pa.string()),
            ("rejected_at", _UTC_TS),
        ]
    ),
}
"""Arrow shapes of the declared tables we write (JSON travels as text; DuckDB casts it).

Spelled out rather than derived from the Ibis declaration so that a chat-only
run never imports Ibis (and pandas behind it); ``tests/ingestion/test_loader.py``
asserts they match ``schema.DECLARED_TABLES`` column for column."""


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema used to load ``table``."""
    return ARROW_SCHEMAS[table]


def records_to_arrow(records: Sequence[Mapping[str, Any]], table: str) -> pa.Table:
    """Column-wise Arrow table of ``records`` (missing keys become NULL)."""
    schema = arrow_schema(table)
    return pa.table(
        {
            field.name: pa.array([r.get(field.name) for r in records], field.type)
            for field in schema
        },
        schema=schema,
    )


def unchanged_sql(stored: str) -> str:
    """SQL: the stored row ``stored`` is left alone by the incoming ``s``: same file, and
    its ``authors`` resolve as before (a profile ingested since links the names of an
    unchanged post: ``identity.ProfileIndex``)."""
    return (
        f"{stored}.source_checksum IS NOT DISTINCT FROM s.source_checksum "
        f"AND {stored}.authors IS NOT DISTINCT FROM s.authors"
    )


STORED_PROFILES_SQL: Final = (
    "SELECT subject_uuid, title, alias, slug, CAST(extensions AS VARCHAR) "
    "FROM documents WHERE doc_type = 'profile' AND subject_uuid IS NOT NULL"
)
"""The profiles post authors may name (DuckDB and PostgreSQL read it alike)."""

PROFILE_COLUMNS: Final = ("subject_uuid", "title", "alias", "slug", "extensions")


def _origin(record: Mapping[str, Any]) -> str | None:
    extensions = record.get("extensions")
    if not extensions:
        return None
    origin = json.loads(extensions).get("origin")
    return origin if isinstance(origin, str) else None


def _still_there(origin: str) -> bool:
    """Whether the file a row came from still exists (its name may be percent-encoded)."""
    if os.path.lexists(origin):
        return True
    return "%" in origin and os.path.lexists(os.fsdecode(unquote_to_bytes(origin)))


def _local_path(origin: str) -> str:
    """The file system path of an ``origin`` (undoing the percent-encoding of bad bytes)."""
    if "%" in origin and not os.path.lexists(origin):
        return os.fsdecode(unquote_to_bytes(origin))
    return origin


def _same_file(first: str, second: str | None) -> bool:
    """Two origins naming one file (through a symlink or another path to it)."""
    if second is None:
        return False
    try:
        return os.path.samefile(_local_path(first), _local_path(second))
    except OSError:  # one of them is gone or unreadable: not provably the same
        return False


def claims_sql(batch: str, target: str) -> str:
    """The claims query of :func:`claimed_elsewhere` (DuckDB and PostgreSQL read it alike).

    ``batch`` (quoted) holds ``id, doc_type, slug, origin`` of the incoming
    records; each row found is ``(id, 'id'|'slug', doc_type, origin, always)``
    for :func:`clash_reasons`.
    """
    return f"""
            SELECT s.id, 'id', d.doc_type, d.extensions->>'origin', s.doc_type <> d.doc_type
            FROM {batch} s JOIN {target} d ON d.id = s.id
            WHERE d.doc_type IS DISTINCT FROM s.doc_type
               OR (d.doc_type <> 'media' AND s.origin IS NOT NULL
                   AND d.extensions->>'origin' IS NOT NULL
                   AND d.extensions->>'origin' <> s.origin)
            UNION ALL
            SELECT s.id, 'slug', d.doc_type, d.extensions->>'origin', true
            FROM {batch} s JOIN {target} d
              ON d.slug = s.slug AND d.doc_type = 'post' AND s.doc_type = 'post' AND d.id <> s.id
            """


def claim_origin(record: Mapping[str, Any]) -> str | None:
    """The ``extensions.origin`` of a record (the file it came from), if any."""
    return _origin(record)


def clash_reasons(
    found: Iterable[Sequence[Any]], records: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """The rows of :func:`claims_sql` that are real clashes, as id -> reason."""
    by_id = {r["id"]: r for r in records}
    clashes: dict[str, str] = {}
    for doc_id, what, doc_type, origin, always in found:
        if not always and origin is not None and not _still_there(origin):
            continue  # the first source is gone (moved or deleted): the new one takes over
        if not always and origin is not None and _same_file(origin, _origin(by_id[doc_id])):
            continue  # the same file, reached through another path: an update
        owner = f"the {doc_type} from {origin}" if origin else f"a {doc_type} ingested earlier"
        if what == "id":
            reason = f"id {doc_id!r} already belongs to {owner}; a different source cannot take it"
        else:
            slug = str(by_id[doc_id].get("slug"))
            reason = f"slug {slug!r} already belongs to {owner}; a different source cannot take it"
        clashes.setdefault(str(doc_id), reason)
    return clashes


def insert_new_messages(
    engine: duckdb.DuckDBPyConnection,
    rows_sql: str,
    params: Mapping[str, Any],
    columns: Sequence[str],
    *,
    table: str = "messages",
) -> int:
    """``INSERT INTO table`` of ``engine`` the rows of ``rows_sql`` whose ``event_id`` is
    not there yet (``engine`` is the warehouse, or the PostgreSQL sink's scratch).

    Only the chat's own thread is read for stored ids: an ``event_id`` hashes the
    tenant and the thread (``$tenant``, ``$thread`` of ``params``;
    :data:`~egregora_pipeline.ingestion.whatsapp.event_ids.EVENT_NAME_SQL`), so a
    stored row with the same id is in that thread. Reading every stored id instead
    made the anti-join hold all of them in memory: a one-message ingest into a
    5M-message warehouse cost what the warehouse held, not what the chat brought.
    """
    target = quote_ident(table)
    names = ", ".join(quote_ident(c) for c in columns)
    row = engine.execute(
        f"INSERT INTO {target} ({names})\nSELECT * FROM (\n{rows_sql}\n) AS r\n"
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} m WHERE m.event_id = r.event_id"
        " AND m.tenant_id = $tenant AND m.thread_id = $thread)",
        dict(params),
    ).fetchone()
    return int(row[0]) if row else 0
