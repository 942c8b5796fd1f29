"""Initial schema: the declared ``documents``, ``messages`` and ``ingest_rejections`` tables.

The DDL is frozen here on purpose (as Alembic does): it must not follow later
edits of ``egregora_pipeline/schema/declared.py``, otherwise the checksum and
the history would mean nothing. Later declared changes arrive as new revisions
(``db revision --autogenerate``) or, for added columns, through reconcile.

No PRIMARY KEY / UNIQUE constraint: adopted legacy tables cannot gain one
without a rewrite, DuckDB's ALTER restrictions around indexed columns would
get in the way of in-place changes, and the uniqueness of ``id`` is enforced
by the asset checks instead.
"""

from __future__ import annotations

from egregora_pipeline.migrations.ops import Column, Operations

revision = "0001"
down_revision = None
message = "initial schema: documents, messages, ingest_rejections"


def upgrade(op: Operations) -> None:
    op.create_table(
        "documents",
        [
            Column("id", "VARCHAR", nullable=False),
            Column("content", "VARCHAR"),
            Column("created_at", "TIMESTAMP WITH TIME ZONE", nullable=False),
            Column("source_checksum", "VARCHAR", nullable=False),
            Column("title", "VARCHAR"),
            Column("slug", "VARCHAR"),
            Column("date", "DATE"),
            Column("summary", "VARCHAR"),
            Column("authors", "VARCHAR[]"),
            Column("tags", "VARCHAR[]"),
            Column("status", "VARCHAR", nullable=False),
            Column("subject_uuid", "VARCHAR"),
            Column("alias", "VARCHAR"),
            Column("avatar_url", "VARCHAR"),
            Column("interests", "VARCHAR[]"),
            Column("filename", "VARCHAR"),
            Column("mime_type", "VARCHAR"),
            Column("media_type", "VARCHAR"),
            Column("phash", "VARCHAR"),
            Column("window_start", "TIMESTAMP WITH TIME ZONE"),
            Column("window_end", "TIMESTAMP WITH TIME ZONE"),
            Column("doc_type", "VARCHAR", nullable=False),
            Column("extensions", "JSON"),
        ],
    )
    op.create_table(
        "messages",
        [
            Column("event_id", "VARCHAR", nullable=False),
            Column("tenant_id", "VARCHAR", nullable=False),
            Column("source", "VARCHAR", nullable=False),
            Column("thread_id", "VARCHAR", nullable=False),
            Column("msg_id", "VARCHAR", nullable=False),
            Column("ts", "TIMESTAMP WITH TIME ZONE", nullable=False),
            Column("author_raw", "VARCHAR"),
            Column("author_uuid", "VARCHAR", nullable=False),
            Column("text", "VARCHAR"),
            Column("media_url", "VARCHAR"),
            Column("media_type", "VARCHAR"),
            Column("attrs", "JSON"),
            Column("pii_flags", "JSON"),
            Column("created_at", "TIMESTAMP WITH TIME ZONE", nullable=False),
            Column("created_by_run", "VARCHAR", nullable=False),
        ],
    )
    op.create_table(
        "ingest_rejections",
        [
            Column("rejection_id", "VARCHAR", nullable=False),
            Column("run_id", "VARCHAR", nullable=False),
            Column("input_kind", "VARCHAR", nullable=False),
            Column("source_path", "VARCHAR", nullable=False),
            Column("line_number", "BIGINT"),
            Column("column_number", "BIGINT"),
            Column("reason", "VARCHAR", nullable=False),
            Column("raw", "VARCHAR"),
            Column("rejected_at", "TIMESTAMP WITH TIME ZONE", nullable=False),
        ],
    )


def downgrade(op: Operations) -> None:
    op.drop_table("ingest_rejections")
    op.drop_table("messages")
    op.drop_table("documents")
