"""Revision 0002 moves a warehouse written before it to upstream Egregora's identity rules.

The warehouse is made the way the code before 0002 made it: the examples are
ingested, then every key is put back to the formula that code used (spelled out
below, the revision's frozen constants), and upstream Egregora opens it
(``database/init.py`` ``initialize_database`` at 1123bf243: PRIMARY KEY, indexes,
tables with FOREIGN KEYs to ``documents(id)``) and references a post and a profile.
After ``upgrade`` the warehouse must hold what a fresh ingest writes today, the
references must follow their rows, and re-ingesting the same inputs adds nothing.
On DuckDB and on a real PostgreSQL.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb
import frontmatter
import psycopg

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.ingestion import IngestReport, ingest
from egregora_pipeline.migrations import plan, upgrade
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import ingest_postgres
from tests.migrations.conftest import Warehouse
from tests.migrations.upstream_layouts import (
    alias_sql,
    annotation_sql,
    initialize_database,
    initialize_database_postgres,
)

ROOT = Path(__file__).resolve().parents[2]
OLD_DOCUMENT_NAMESPACE = uuid.UUID("0c4f6e0e-9a55-5b8e-8f0a-2f7b1d3c9e41")
OLD_AUTHOR_NAMESPACE = uuid.UUID("6f0f3c1e-7c39-5b7a-9a34-3d1c0e4b8a21")
SYSTEM_AUTHOR_KEY = "\x00whatsapp-system"


def _ingest(warehouse: Warehouse, inbox: Path, settings: Settings) -> IngestReport:
    if warehouse.backend == "duckdb":
        conn = duckdb.connect(str(warehouse.database))
        try:
            report = ingest(conn, [inbox], settings=settings, run_id="r")
        finally:
            conn.close()
    else:
        target = parse_warehouse(str(warehouse.database))
        assert isinstance(target, PostgresTarget)
        report = ingest_postgres(target, [inbox], settings=settings, run_id="r")
    assert [e.error for e in report.inputs if e.error] == []
    return report


def _snapshot(warehouse: Warehouse) -> dict[str, Any]:
    documents = warehouse.query(
        "SELECT id, doc_type, slug, subject_uuid, authors, title FROM documents ORDER BY id"
    )
    messages = warehouse.query("SELECT event_id, author_uuid FROM messages ORDER BY event_id")
    return {
        "documents": [(*r[:4], list(r[4]) if r[4] is not None else None, r[5]) for r in documents],
        "messages": messages,
    }


def _as_before_0002(warehouse: Warehouse) -> dict[str, str]:
    """Rewrite the rows to what the code before 0002 wrote; returns new id -> old id."""
    old: dict[str, str] = {}
    for doc_id, doc_type, slug, content in warehouse.query(
        "SELECT id, doc_type, slug, content FROM documents WHERE doc_type IN ('post', 'profile')"
    ):
        if doc_type == "post":
            old_id = str(uuid.uuid5(OLD_DOCUMENT_NAMESPACE, f"post:{slug}"))
            warehouse.execute(
                f"UPDATE documents SET id = '{old_id}' WHERE id = '{doc_id}'",
            )
        else:
            author = frontmatter.loads(content).metadata["author"]
            subject = str(uuid.uuid5(OLD_AUTHOR_NAMESPACE, author))
            old_id = str(uuid.uuid5(OLD_DOCUMENT_NAMESPACE, f"profile:{subject}"))
            body = frontmatter.loads(content).content.replace("'", "''")
            warehouse.execute(
                f"UPDATE documents SET id = '{old_id}', subject_uuid = '{subject}', "
                f"content = '{body}' WHERE id = '{doc_id}'"
            )
        old[doc_id] = old_id
    # the post's authors as its file writes them (before 0002 they were stored so)
    warehouse.execute(
        "UPDATE documents SET authors = ['bruno-costa'] WHERE slug = 'welcome-to-the-newsletter'"
        if warehouse.backend == "duckdb"
        else "UPDATE documents SET authors = ARRAY['bruno-costa'] "
        "WHERE slug = 'welcome-to-the-newsletter'"
    )
    for (name,) in warehouse.query("SELECT DISTINCT author_raw FROM messages"):
        key = SYSTEM_AUTHOR_KEY if name is None else name
        pseudonym = str(uuid.uuid5(OLD_AUTHOR_NAMESPACE, key))
        where = "author_raw IS NULL" if name is None else "author_raw = ?"
        params = [] if name is None else [name]
        if warehouse.backend == "duckdb":
            conn = duckdb.connect(str(warehouse.database))
            conn.execute(f"UPDATE messages SET author_uuid = ? WHERE {where}", [pseudonym, *params])
            conn.close()
        else:
            with psycopg.connect(str(warehouse.database), autocommit=True) as pg:
                pg.execute(
                    f"UPDATE messages SET author_uuid = %s WHERE {where.replace('?', '%s')}",
                    [pseudonym, *params],
                )
    return old


def _egregora_opens(warehouse: Warehouse, post_id: str, profile_id: str) -> None:
    statements = (annotation_sql("ann-1", post_id), alias_sql("Ana", profile_id))
    if warehouse.backend == "duckdb":
        conn = duckdb.connect(str(warehouse.database))
        initialize_database(conn)
        for statement in statements:
            conn.execute(statement)
        conn.close()
        return
    with psycopg.connect(str(warehouse.database), autocommit=True) as pg:
        initialize_database_postgres(pg)
        for statement in statements:
            pg.execute(statement.encode())


def test_0002_moves_a_warehouse_made_before_it_to_upstreams_keys(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    config = warehouse.config()
    upgrade(config, "0001")
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "examples", inbox, ignore=shutil.ignore_patterns("*.py"))
    settings = Settings(
        database=tmp_path / "unused.duckdb", timezone="UTC", media_dir=tmp_path / "media"
    )
    _ingest(warehouse, inbox, settings)
    fresh = _snapshot(warehouse)
    old = _as_before_0002(warehouse)
    ana = str(uuid.uuid5(uuid.NAMESPACE_OID, "whatsapp:Ana Lima"))
    _egregora_opens(warehouse, old["meetup-recap-january"], old[ana])
    (count,) = warehouse.query("SELECT count(*) FROM documents")

    steps = plan(config)
    assert [s.revision_id for s in steps.steps if s.revision_id] == ["0002"]
    assert any("python:" in line for s in steps.steps for line in s.statements)

    result = upgrade(config)

    assert [a.revision_id for a in result.applied] == ["0002"]
    assert result.backup is not None  # the engine backed up before the rewrite
    assert _snapshot(warehouse) == fresh  # what a fresh ingest writes today
    assert warehouse.query("SELECT count(*) FROM documents") == [count]  # none lost or doubled
    assert warehouse.query("SELECT parent_id FROM annotations") == [("meetup-recap-january",)]
    assert warehouse.query("SELECT target_id FROM entity_aliases") == [(ana,)]
    (content,) = warehouse.query(f"SELECT content FROM documents WHERE id = '{ana}'")
    metadata = frontmatter.loads(content[0]).metadata
    assert metadata["alias"] == "ana"
    assert metadata["subject_uuid"] == ana
    assert frontmatter.loads(content[0]).content == "Ana started the group in January 2024."

    again = _ingest(warehouse, inbox, settings)
    assert (again.messages_added, again.documents_added, again.documents_updated) == (0, 0, 0)
    assert _snapshot(warehouse) == fresh
    assert not upgrade(config).changed


def test_0002_leaves_salted_pseudonyms_and_other_writers_rows_and_replaces_upstream_copies(
    tmp_path: Path,
) -> None:
    database = tmp_path / "w.duckdb"
    config = Warehouse("duckdb", database).config()
    upgrade(config, "0001")
    salt = uuid.UUID("1f6c5a52-8a57-4a4b-9d9f-0d2e0c3b7a11")
    old_post = str(uuid.uuid5(OLD_DOCUMENT_NAMESPACE, "post:hello"))
    conn = duckdb.connect(str(database))
    conn.execute(
        "INSERT INTO messages VALUES "
        "('e1', 't', 'whatsapp', 'th', '1', now(), 'Ana', ?, 'oi', NULL, NULL, NULL, NULL, now(), 'r'),"
        "('e2', 't', 'whatsapp', 'th', '2', now(), 'Bia', ?, 'oi', NULL, NULL, NULL, NULL, now(), 'r')",
        [str(uuid.uuid5(salt, "Ana")), str(uuid.uuid5(OLD_AUTHOR_NAMESPACE, "Bia"))],
    )
    conn.execute(
        "INSERT INTO documents (id, content, created_at, source_checksum, title, slug, status, "
        "doc_type, extensions) VALUES "
        "(?, 'ours', now(), 's1', 'Hello', 'hello', 'draft', 'post', '{\"origin\": \"/x/hello.md\"}'),"
        "('hello', 'upstream copy', now(), 's2', 'Hello', 'hello', 'draft', 'post', NULL),"
        "('u1', 'upstream post', now(), 's3', 'Other', 'Other Post', 'draft', 'post', NULL)",
        [old_post],
    )
    conn.close()

    upgrade(config)

    conn = duckdb.connect(str(database), read_only=True)
    pseudonyms = dict(conn.execute("SELECT author_raw, author_uuid FROM messages").fetchall())
    documents = conn.execute("SELECT id, slug, content FROM documents ORDER BY id").fetchall()
    conn.close()
    assert pseudonyms == {
        "Ana": str(uuid.uuid5(salt, "Ana")),  # a configured namespace: left alone
        "Bia": str(uuid.uuid5(uuid.NAMESPACE_OID, "whatsapp:Bia")),
    }
    # ours took its upstream key and replaced the copy upstream wrote under it; the row
    # another writer made (no origin) is left exactly as it was
    assert documents == [("hello", "hello", "ours"), ("u1", "Other Post", "upstream post")]
