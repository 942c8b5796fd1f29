"""The column order of ``messages`` is part of the contract (docs/schema.md).

Upstream Egregora's enricher appends enrichment rows by position: ``agents/enricher.py``
builds each row with ``_create_enrichment_row`` (keys in declared order: event_id,
tenant_id, source, thread_id, msg_id, ts, author_raw, author_uuid, text, media_url,
media_type, attrs, pii_flags, created_at, created_by_run; ``media_type`` 'URL' or
'Media', ``author_raw`` 'egregora', ``msg_id`` 'enrichment-<event_id>') and
``database/duckdb_manager.py`` ``write_table(..., mode="append")`` writes them to a
parquet file and runs ``INSERT INTO messages SELECT * FROM read_parquet(?)`` (commit
1123bf24361df726065653dec4c69af1a41265a9).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.migrations import upgrade_connection
from egregora_pipeline.schema import STAGING_MESSAGES_SCHEMA
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    postgres_database,
    postgres_server,
    with_declared_tables,
)
from tests.migrations.upstream_layouts import initialize_database
from tests.postgres.server import PostgresServer

__all__ = ["postgres_database", "postgres_server"]

DECLARED = list(STAGING_MESSAGES_SCHEMA.names)
ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "examples" / "whatsapp" / "WhatsApp Chat with Egregora Demo.zip"


def _order(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        str(r[0]) for r in conn.execute("SELECT name FROM pragma_table_info('messages')").fetchall()
    ]


def test_a_fresh_warehouse_has_messages_in_declared_order(tmp_path: Path) -> None:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    upgrade_connection(conn, "head")
    assert _order(conn) == DECLARED


def test_a_fresh_postgres_warehouse_has_messages_in_declared_order(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    target = with_declared_tables(postgres_server.url(postgres_database))
    with target.connect() as pg:
        found = pg.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'messages' "
            "ORDER BY ordinal_position"
        ).fetchall()
    assert [r[0] for r in found] == DECLARED


_OLD_MESSAGES = (
    # upstream's indexed staging table (layout 6) from before ``attrs`` and ``pii_flags``
    'CREATE TABLE "messages" ("event_id" VARCHAR, "tenant_id" VARCHAR, "source" VARCHAR, '
    '"thread_id" VARCHAR, "msg_id" VARCHAR, "ts" TIMESTAMP WITH TIME ZONE, '
    '"author_raw" VARCHAR, "author_uuid" VARCHAR, "text" VARCHAR, "media_url" VARCHAR, '
    '"media_type" VARCHAR, "created_at" TIMESTAMP WITH TIME ZONE, "created_by_run" VARCHAR, '
    'CONSTRAINT "chk_messages_media_type" CHECK ((media_type IS NULL) OR (media_type IN '
    "('image', 'video', 'audio', 'URL', 'Media'))))"
)


def test_reconcile_restores_declared_order_keeping_rows_checks_and_indexes(
    tmp_path: Path,
) -> None:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute(_OLD_MESSAGES)
    conn.execute("CREATE UNIQUE INDEX idx_messages_pk ON messages(event_id)")
    conn.execute("CREATE INDEX idx_messages_ts ON messages(ts)")
    conn.execute(
        "INSERT INTO messages VALUES ('ev-1', 'default', 'whatsapp', 'family', '1', "
        "TIMESTAMPTZ '2025-12-01 08:00:00+00', 'Ana', 'u-ana', 'Bom dia, tudo bem?', NULL, NULL, "
        "TIMESTAMPTZ '2025-12-02 00:00:00+00', 'run-1')"
    )
    before = conn.execute("SELECT event_id, text, ts FROM messages").fetchall()

    result = upgrade_connection(conn, "head")

    assert any("declared order" in action for action in result.reconcile_actions)
    assert _order(conn) == DECLARED
    assert conn.execute("SELECT event_id, text, ts FROM messages").fetchall() == before
    indexes = conn.execute(
        "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'messages' ORDER BY 1"
    ).fetchall()
    assert indexes == [("idx_messages_pk",), ("idx_messages_ts",)]
    checks = conn.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'messages' "
        "AND constraint_type = 'CHECK'"
    ).fetchone()
    assert checks == (1,)
    assert upgrade_connection(conn, "head").reconcile_actions == []  # idempotent


def _enrichment_row(message: dict[str, Any]) -> dict[str, Any]:
    """What ``_create_enrichment_row`` returns for a media message (keys in its order)."""
    event_id = "7d1f3c1e-3f4b-4c55-9e3a-2a0b7c1d9e11"
    return {
        "event_id": event_id,
        "tenant_id": message["tenant_id"],
        "source": message["source"],
        "thread_id": message["thread_id"],
        "msg_id": f"enrichment-{event_id}",
        "ts": message["ts"].replace(microsecond=1),
        "author_raw": "egregora",
        "author_uuid": message["author_uuid"],
        "text": f"[Media Enrichment] {message['media_url']}\nEnrichment saved: a-photo",
        "media_url": message["media_url"],
        "media_type": "Media",
        "attrs": '{"enrichment_type": "Media", "enrichment_id": "a-photo"}',
        "pii_flags": None,
        "created_at": datetime(2026, 4, 7, tzinfo=UTC),
        "created_by_run": message["created_by_run"],
    }


def test_upstreams_positional_enrichment_rows_are_accepted_and_kept(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    conn = duckdb.connect(str(database))
    upgrade_connection(conn, "head")
    settings = Settings(database=database, timezone="UTC", media_dir=tmp_path / "media")
    ingest(conn, [CHAT], settings=settings, run_id="run-1")
    initialize_database(conn)
    cursor = conn.execute("SELECT * FROM messages WHERE media_url IS NOT NULL LIMIT 1")
    names = [d[0] for d in cursor.description]
    found = cursor.fetchone()
    assert found is not None
    row = _enrichment_row(dict(zip(names, found, strict=True)))
    parquet = tmp_path / "messages.parquet"  # as write_table's checkpoint does
    pq.write_table(pa.Table.from_pylist([row]), parquet)
    conn.execute("INSERT INTO messages SELECT * FROM read_parquet(?)", [str(parquet)])

    stored = conn.execute("SELECT * FROM messages WHERE event_id = ?", [row["event_id"]]).fetchall()
    assert len(stored) == 1
    by_name = dict(zip(names, stored[0], strict=True))
    assert by_name["media_type"] == "Media"
    assert by_name["author_raw"] == "egregora"
    assert by_name["msg_id"] == row["msg_id"]
    assert by_name["text"] == row["text"]
    all_before = conn.execute("SELECT * FROM messages ORDER BY event_id").fetchall()

    report = ingest(conn, [CHAT], settings=settings, run_id="run-2")
    assert sum(e.messages_added for e in report.inputs) == 0
    assert [e.error for e in report.inputs if e.error] == []
    assert conn.execute("SELECT * FROM messages ORDER BY event_id").fetchall() == all_before
    upgrade_connection(conn, "head")  # the gate of every later run: nothing moves
    assert _order(conn) == DECLARED
    assert conn.execute("SELECT * FROM messages ORDER BY event_id").fetchall() == all_before
