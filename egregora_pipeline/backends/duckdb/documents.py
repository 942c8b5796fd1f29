"""The DuckDB sink's document writes: bulk, idempotent ``documents`` upserts and claims.

Records are turned into one temporary table (one list parameter per column,
typed by the Arrow shapes of :mod:`..sink_sql`) and written with set-based SQL --
never row by row: rows whose ``id`` is new are inserted; rows whose ``id``
exists with the same ``source_checksum`` are skipped; rows whose checksum
changed are updated in place (``created_at`` keeps the first ingestion time);
when other tables' FOREIGN KEYs reference ``documents`` (upstream Egregora
adds them), see :func:`_update_beside_references`.

The caller owns the transaction; this module never creates or alters tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import duckdb
import pyarrow as pa

from egregora_pipeline.backends.duckdb.references import (
    foreign_keys_to,
    is_fk_refusal,
    lifted_references,
    referencing_tables,
    rewritten_by_update,
)
from egregora_pipeline.backends.references_base import ReferencedRowsError
from egregora_pipeline.backends.sink_sql import (
    PROFILE_COLUMNS,
    STORED_PROFILES_SQL,
    arrow_schema,
    claim_origin,
    claims_sql,
    clash_reasons,
    unchanged_sql,
)
from egregora_pipeline.sql import quote_ident

_DOCS_VIEW: Final = "_egregora_documents_batch"
_CLAIMS_VIEW: Final = "_egregora_claims_batch"


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


def drop_quietly(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the batch table ``name``, without masking the error that got us here."""
    with contextlib.suppress(duckdb.Error):
        conn.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")


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
        drop_quietly(conn, _DOCS_VIEW)
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
    :class:`~egregora_pipeline.backends.references_base.ReferencedRowsError` names it.
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
        from egregora_pipeline.backends.duckdb.migration import DuckDBImpl

        holders = DuckDBImpl().referenced(conn, table, "id", ids)
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


def stored_profiles(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every stored profile's naming columns (a few per person: small)."""
    rows = conn.execute(STORED_PROFILES_SQL).fetchall()
    return [dict(zip(PROFILE_COLUMNS, row, strict=True)) for row in rows]


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
            "origin": [claim_origin(r) for r in records],
        },
    )
    try:
        found = conn.execute(claims_sql(batch, quote_ident(table))).fetchall()
    finally:
        drop_quietly(conn, _CLAIMS_VIEW)
    return clash_reasons(found, records)
