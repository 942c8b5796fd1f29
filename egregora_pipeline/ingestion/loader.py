"""Bulk, idempotent writes into the warehouse: ``documents`` upserts and ``ingest_rejections``.

Records are turned into one temporary table (one list parameter per column,
typed by the Arrow shapes below) and written with set-based SQL -- never row
by row:

* ``documents``: rows whose ``id`` is new are inserted; rows whose ``id``
  exists with the same ``source_checksum`` are skipped; rows whose checksum
  changed are updated in place (``created_at`` keeps the first ingestion time);
  when other tables' FOREIGN KEYs reference ``documents`` (upstream Egregora
  adds them), see :func:`_update_beside_references`.
* ``ingest_rejections``: keyed by a deterministic ``rejection_id``, so a
  re-run over the same bad file adds nothing.

Messages are written by :mod:`egregora_pipeline.ingestion.whatsapp.messages`,
which streams its own Arrow chunks through a staging table.
The caller owns the transaction; this module never creates or alters tables.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote_to_bytes

import duckdb
import pyarrow as pa

from egregora_pipeline.ingestion.ids import (
    REJECTION_NAMESPACE,
    rejection_name_sql,
    sha1_name_sql,
    uuid_from_sha1_sql,
)
from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.references import (
    ReferencedRowsError,
    foreign_keys_to,
    is_fk_refusal,
    lifted_references,
    referenced,
    referencing_tables,
    rewritten_by_update,
)
from egregora_pipeline.sql import quote_ident

_DOCS_VIEW: Final = "_egregora_documents_batch"
_REJECTIONS_VIEW: Final = "_egregora_rejections_batch"
_CLAIMS_VIEW: Final = "_egregora_claims_batch"


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


def _sql_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_list(arrow_type):
        return f"{_sql_type(arrow_type.value_type)}[]"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    return "VARCHAR"


def _create_batch(
    conn: duckdb.DuckDBPyConnection, name: str, records: Sequence[Mapping[str, Any]], table: str
) -> list[str]:
    """A session-local temp table ``name`` holding ``records`` in ``table``'s Arrow shape.

    Built from one list parameter per column (``unnest`` zips them) rather than
    an Arrow table: ``pa.array``/``pa.table`` on Python objects import pandas
    (about 0.5 s), which would otherwise be the biggest fixed cost of a
    chat-only ingest. Returns the column names.
    """
    schema = arrow_schema(table)
    columns = ", ".join(
        f"unnest(${i}::{_sql_type(field.type)}[]) AS {quote_ident(field.name)}"
        for i, field in enumerate(schema, start=1)
    )
    values = [[r.get(field.name) for r in records] for field in schema]
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS SELECT {columns}", values)
    return list(schema.names)


def _drop(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    with contextlib.suppress(duckdb.Error):
        conn.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")


def unchanged_sql(stored: str) -> str:
    """SQL: the stored row ``stored`` is left alone by the incoming ``s``: same file, and
    its ``authors`` resolve as before (a profile ingested since links the names of an
    unchanged post: ``identity.ProfileIndex``)."""
    return (
        f"{stored}.source_checksum IS NOT DISTINCT FROM s.source_checksum "
        f"AND {stored}.authors IS NOT DISTINCT FROM s.authors"
    )


def upsert_documents(
    conn: duckdb.DuckDBPyConnection,
    records: Sequence[Mapping[str, Any]],
    *,
    table: str = "documents",
) -> dict[str, str]:
    """Upsert ``records`` by ``id``; returns each id's outcome: ``added``/``updated``/``skipped``.

    Records must have distinct ids (the caller rejects duplicates first).
    """
    if not records:
        return {}
    target = quote_ident(table)
    columns = _create_batch(conn, _DOCS_VIEW, records, "documents")
    try:
        view = quote_ident(_DOCS_VIEW)
        outcome = {
            str(doc_id): str(status)
            for doc_id, status in conn.execute(
                f"""
                SELECT s.id, CASE WHEN d.id IS NULL THEN 'added'
                    WHEN {unchanged_sql("d")} THEN 'skipped'
                    ELSE 'updated' END
                FROM {view} s LEFT JOIN {target} d ON d.id = s.id
                """
            ).fetchall()
        }
        updatable = [c for c in columns if c not in ("id", "created_at")]
        if "updated" in outcome.values() and foreign_keys_to(conn, table):
            _update_beside_references(conn, table, view, updatable)
        else:
            _update(conn, target, view, updatable)
        names = ", ".join(quote_ident(c) for c in columns)
        conn.execute(
            f"INSERT INTO {target} ({names}) SELECT {names} FROM {view} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} d WHERE d.id = s.id)"
        )
    finally:
        _drop(conn, _DOCS_VIEW)
    return outcome


def _update(
    conn: duckdb.DuckDBPyConnection,
    target: str,
    view: str,
    columns: Sequence[str],
    where: str = "",
) -> None:
    """Set ``columns`` of every stored row whose checksum changed (and ``where``)."""
    assignments = ", ".join(f"{quote_ident(c)} = s.{quote_ident(c)}" for c in columns)
    conn.execute(
        f"UPDATE {target} SET {assignments} FROM {view} s "
        f"WHERE {target}.id = s.id AND NOT ({unchanged_sql(target)}){where}"
    )


def _update_beside_references(
    conn: duckdb.DuckDBPyConnection, table: str, view: str, columns: Sequence[str]
) -> None:
    """The update of changed rows on a ``documents`` other tables reference.

    Upstream Egregora's ``initialize_database`` adds ``PRIMARY KEY(id)``, indexes
    and tables with FOREIGN KEYs to ``documents(id)``. DuckDB runs an UPDATE that
    sets a list column or an indexed column as a delete and an insert, which it
    refuses on a referenced row, even when the values do not change. So: first the
    columns DuckDB rewrites, only on the rows where one of them really changes --
    with the referencing tables that hold a reference to one of those rows lifted
    (:func:`.references.lifted_references`) -- then every other column in place (the
    checksum last, as it selects the rows). A self-reference cannot be lifted:
    :class:`.references.ReferencedRowsError` names it.
    """
    target = quote_ident(table)
    rewritten = rewritten_by_update(conn, table)
    risky = [c for c in columns if c in rewritten]
    safe = [c for c in columns if c not in rewritten]
    if risky:
        differs = " OR ".join(
            f"{target}.{quote_ident(c)} IS DISTINCT FROM s.{quote_ident(c)}" for c in risky
        )
        where = f" AND ({differs})"
        ids = [
            str(r[0])
            for r in conn.execute(
                f"SELECT {target}.id FROM {target}, {view} s WHERE {target}.id = s.id "
                f"AND NOT ({unchanged_sql(target)}){where}"
            ).fetchall()
        ]
        holders = referenced(conn, table, "id", ids)
        if table in holders:
            raise ReferencedRowsError(table, sorted(holders), holders[table])
        everyone = referencing_tables(conn, table)  # read now: a refusal aborts the transaction
        try:
            if holders:
                with lifted_references(conn, table, only=sorted(holders)):
                    _update(conn, target, view, risky, where)
            else:
                _update(conn, target, view, risky, where)
        except duckdb.ConstraintException as error:
            if not is_fk_refusal(error):
                raise
            raise ReferencedRowsError(table, everyone, ids) from None
    _update(conn, target, view, safe)


STORED_PROFILES_SQL: Final = (
    "SELECT subject_uuid, title, alias, slug, CAST(extensions AS VARCHAR) "
    "FROM documents WHERE doc_type = 'profile' AND subject_uuid IS NOT NULL"
)
"""The profiles post authors may name (DuckDB and PostgreSQL read it alike)."""

PROFILE_COLUMNS: Final = ("subject_uuid", "title", "alias", "slug", "extensions")


def stored_profiles(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every stored profile's naming columns (a few per person: small)."""
    rows = conn.execute(STORED_PROFILES_SQL).fetchall()
    return [dict(zip(PROFILE_COLUMNS, row, strict=True)) for row in rows]


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


def claimed_elsewhere(
    conn: duckdb.DuckDBPyConnection,
    records: Sequence[Mapping[str, Any]],
    *,
    table: str = "documents",
) -> dict[str, str]:
    """Records whose ``id`` or post ``slug`` already belongs to another source: id -> reason.

    A document's identity belongs to the first source that claimed it:

    * a row of another ``doc_type`` is never overwritten (a Markdown file with
      ``id:`` set to a photo's id must not turn the photo into a post);
    * a Markdown row written from another file (``extensions.origin``) is not
      overwritten while that file still exists; an updated version of the
      *same* file updates its row, and a file that moved takes its row along;
    * a post's ``slug`` is not reused by a post with another ``id``.

    Media rows are keyed by content, so the same bytes from anywhere are the
    same row. One set-based query for the whole batch.
    """
    if not records:
        return {}
    batch = quote_ident(_CLAIMS_VIEW)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {batch} AS SELECT unnest($id::VARCHAR[]) AS id, "
        "unnest($doc_type::VARCHAR[]) AS doc_type, unnest($slug::VARCHAR[]) AS slug, "
        "unnest($origin::VARCHAR[]) AS origin",
        {
            "id": [r["id"] for r in records],
            "doc_type": [r.get("doc_type") for r in records],
            "slug": [r.get("slug") if r.get("doc_type") == "post" else None for r in records],
            "origin": [_origin(r) for r in records],
        },
    )
    try:
        found = conn.execute(claims_sql(batch, quote_ident(table))).fetchall()
    finally:
        _drop(conn, _CLAIMS_VIEW)
    return clash_reasons(found, records)


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


def insert_rejections(
    conn: duckdb.DuckDBPyConnection,
    rejections: Iterable[Rejection],
    *,
    run_id: str,
    input_kind: str,
    table: str = "ingest_rejections",
) -> int:
    """Record rejections not recorded before; returns how many rows were added.

    Set-based: the per-rejection fields travel as one list parameter each, and
    the deterministic ``rejection_id`` (the SQL form of
    :func:`ids.rejection_id`), the de-duplication (first occurrence wins) and
    the anti-join against rows already recorded all run in DuckDB. A chat
    naming tens of thousands of missing attachments made the per-row Python
    version cost a tenth of a 500k-message ingest.
    """
    items = list(rejections)
    if not items:
        return 0
    target = quote_ident(table)
    batch = quote_ident(_REJECTIONS_VIEW)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {batch} AS SELECT "
        "unnest($path::VARCHAR[]) AS source_path, unnest($line::BIGINT[]) AS line_number, "
        "unnest($col::BIGINT[]) AS column_number, unnest($reason::VARCHAR[]) AS reason, "
        "unnest($raw::VARCHAR[]) AS raw, unnest(range(len($path::VARCHAR[]))) AS n",
        {
            "path": [r.source_path for r in items],
            "line": [r.line_number for r in items],
            "col": [r.column_number for r in items],
            "reason": [r.reason for r in items],
            "raw": [r.raw for r in items],
        },
    )
    names = ", ".join(quote_ident(c) for c in ARROW_SCHEMAS["ingest_rejections"].names)
    name = rejection_name_sql("source_path", "line_number", "column_number", "reason")
    try:
        row = conn.execute(
            f"""
            INSERT INTO {target} ({names})
            WITH d AS (
                SELECT *, {sha1_name_sql(REJECTION_NAMESPACE, name)} AS digest FROM {batch}
            ), k AS (
                SELECT *, {uuid_from_sha1_sql("digest")} AS rejection_id FROM d
                QUALIFY row_number() OVER (PARTITION BY rejection_id ORDER BY n) = 1
            )
            SELECT rejection_id, $run_id, $input_kind, source_path, line_number, column_number,
                reason, raw, $now
            FROM k
            WHERE NOT EXISTS (SELECT 1 FROM {target} r WHERE r.rejection_id = k.rejection_id)
            """,
            {"run_id": run_id, "input_kind": input_kind, "now": datetime.now(UTC)},
        ).fetchone()
    finally:
        _drop(conn, _REJECTIONS_VIEW)
    return int(row[0]) if row else 0
