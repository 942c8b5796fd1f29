"""The one declaration of the warehouse tables (see ``docs/schema.md``).

Everything else in the project -- migrations, reconcile, asset checks, the
ingestion loader, the docs -- derives from the objects in this module. Change a
column here, then run ``egregora-pipeline db revision --autogenerate``.

Nullability is carried by the Ibis dtype (``!string`` is NOT NULL), so a single
``ibis.Schema`` says name, type and nullability at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import ibis
import ibis.expr.datatypes as dt

_UTC: Final = "UTC"


def _required(dtype: dt.DataType) -> dt.DataType:
    return dtype.copy(nullable=False)


UNIFIED_SCHEMA: Final[ibis.Schema] = ibis.schema(
    {
        "id": _required(dt.string),
        "content": dt.string,
        "created_at": _required(dt.Timestamp(timezone=_UTC)),
        "source_checksum": _required(dt.string),
        "title": dt.string,
        "slug": dt.string,
        "date": dt.date,
        "summary": dt.string,
        "authors": dt.Array(dt.string),
        "tags": dt.Array(dt.string),
        "status": _required(dt.string),
        "subject_uuid": dt.string,
        "alias": dt.string,
        "avatar_url": dt.string,
        "interests": dt.Array(dt.string),
        "filename": dt.string,
        "mime_type": dt.string,
        "media_type": dt.string,
        "phash": dt.string,
        "window_start": dt.Timestamp(timezone=_UTC),
        "window_end": dt.Timestamp(timezone=_UTC),
        "doc_type": _required(dt.string),
        "extensions": dt.json,
    }
)
"""``documents``: one wide, sparse table for every kind of document."""

STAGING_MESSAGES_SCHEMA: Final[ibis.Schema] = ibis.schema(
    {
        "event_id": _required(dt.string),
        "tenant_id": _required(dt.string),
        "source": _required(dt.string),
        "thread_id": _required(dt.string),
        "msg_id": _required(dt.string),
        "ts": _required(dt.Timestamp(timezone=_UTC)),
        "author_raw": dt.string,
        "author_uuid": _required(dt.string),
        "text": dt.string,
        "media_url": dt.string,
        "media_type": dt.string,
        "attrs": dt.json,
        "pii_flags": dt.json,
        "created_at": _required(dt.Timestamp(timezone=_UTC)),
        "created_by_run": _required(dt.string),
    }
)
"""``messages``: the staging buffer that chat ingestion writes to."""

INGEST_REJECTIONS_SCHEMA: Final[ibis.Schema] = ibis.schema(
    {
        "rejection_id": _required(dt.string),
        "run_id": _required(dt.string),
        "input_kind": _required(dt.string),
        "source_path": _required(dt.string),
        "line_number": dt.int64,
        "column_number": dt.int64,
        "reason": _required(dt.string),
        "raw": dt.string,
        "rejected_at": _required(dt.Timestamp(timezone=_UTC)),
    }
)
"""``ingest_rejections``: every record ingestion refused, with where and why.

Not part of docs/schema.md's contract: this project adds it so that "bad input loses
nothing" -- a user can ``SELECT * FROM ingest_rejections`` to see each rejected
file, line or attachment. ``rejection_id`` is deterministic (source, location,
reason), so re-ingesting the same bad file does not pile up duplicates."""

DOCUMENTS_TABLE: Final = "documents"
MESSAGES_TABLE: Final = "messages"
INGEST_REJECTIONS_TABLE: Final = "ingest_rejections"


@dataclass(frozen=True)
class DeclaredTable:
    """A warehouse table the project owns: its name, columns and identity key.

    ``key`` is the column that identifies a row; the loader upserts on it and
    the asset checks assert it is unique.
    """

    name: str
    schema: ibis.Schema
    key: str

    def __post_init__(self) -> None:
        if self.key not in self.schema:
            raise ValueError(f"key column {self.key!r} is not in table {self.name!r}")


DOCUMENTS: Final = DeclaredTable(name=DOCUMENTS_TABLE, schema=UNIFIED_SCHEMA, key="id")
MESSAGES: Final = DeclaredTable(name=MESSAGES_TABLE, schema=STAGING_MESSAGES_SCHEMA, key="event_id")
INGEST_REJECTIONS: Final = DeclaredTable(
    name=INGEST_REJECTIONS_TABLE, schema=INGEST_REJECTIONS_SCHEMA, key="rejection_id"
)

DECLARED_TABLES: Final[Mapping[str, DeclaredTable]] = MappingProxyType(
    {table.name: table for table in (DOCUMENTS, MESSAGES, INGEST_REJECTIONS)}
)
"""Every table the migration engine reconciles and the checks verify, by name."""
