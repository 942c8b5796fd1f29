"""Ingesting into a DuckDB warehouse after upstream Egregora opened it.

Every ``egregora write`` runs upstream's ``database/init.py`` ``initialize_database``
(commit 1123bf243; replayed by ``tests.migrations.upstream_layouts.initialize_database``):
``documents`` gains ``PRIMARY KEY(id)`` and four indexes, ``messages`` four indexes, and
``annotations``, ``document_relations`` and ``entity_aliases`` are created with FOREIGN
KEYs to ``documents(id)``. Upstream then writes rows there that name our documents.
DuckDB refuses to rewrite a referenced row (an UPDATE of a list or indexed column is a
delete and an insert); these tests pin that editing, re-ingesting and adding every kind
of input still works, with every reference, key and index kept.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from egregora_pipeline.ingestion import IngestReport, ingest
from egregora_pipeline.settings import Settings
from tests.conftest import run_cli
from tests.migrations.upstream_layouts import (
    REFERENCING_TABLES,
    alias_sql,
    annotation_sql,
    initialize_database,
    relation_sql,
)

ROOT = Path(__file__).resolve().parents[2]
CHAT = "WhatsApp Chat with Egregora Demo"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    shutil.copytree(ROOT / "examples", folder, ignore=shutil.ignore_patterns("*.py"))
    return folder


@pytest.fixture
def media_settings(settings: Settings, tmp_path: Path) -> Settings:
    return Settings(database=settings.database, timezone="UTC", media_dir=tmp_path / "media")


def _run(conn: duckdb.DuckDBPyConnection, paths: list[Path], settings: Settings) -> IngestReport:
    report = ingest(conn, paths, settings=settings, run_id="run")
    errors = [entry.error for entry in report.inputs if entry.error]
    assert errors == []
    return report


def _ids(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """One document per kind, by a name the test can use."""
    found = dict(
        conn.execute(
            "SELECT CASE WHEN doc_type = 'post' THEN slug WHEN doc_type = 'profile' THEN alias "
            "WHEN doc_type = 'journal' THEN 'journal' ELSE filename END, id FROM documents"
        ).fetchall()
    )
    return {str(k): str(v) for k, v in found.items()}


def _catalog(conn: duckdb.DuckDBPyConnection) -> list[Any]:
    """Every table definition, key and index (what upstream's init put there)."""
    return conn.execute(
        "SELECT 'table', table_name, sql FROM duckdb_tables() UNION ALL "
        "SELECT 'index', index_name, sql FROM duckdb_indexes() ORDER BY ALL"
    ).fetchall()


def _references(conn: duckdb.DuckDBPyConnection) -> list[Any]:
    return [
        *conn.execute("SELECT 'annotation', id, parent_id FROM annotations").fetchall(),
        *conn.execute("SELECT 'relation', source_id, target_id FROM document_relations").fetchall(),
        *conn.execute("SELECT 'alias', alias, target_id FROM entity_aliases").fetchall(),
    ]


def _dangling(conn: duckdb.DuckDBPyConnection) -> int:
    found = conn.execute(
        "SELECT (SELECT count(*) FROM annotations WHERE parent_id NOT IN (SELECT id FROM documents))"
        " + (SELECT count(*) FROM document_relations WHERE source_id NOT IN (SELECT id FROM "
        "documents) OR target_id NOT IN (SELECT id FROM documents)) + (SELECT count(*) FROM "
        "entity_aliases WHERE target_id NOT IN (SELECT id FROM documents))"
    ).fetchone()
    return int(found[0]) if found else -1


@pytest.fixture
def egregora_opened(
    warehouse: duckdb.DuckDBPyConnection, inbox: Path, media_settings: Settings
) -> dict[str, str]:
    """The examples ingested, then upstream's init and one reference to each kind."""
    _run(warehouse, [inbox], media_settings)
    initialize_database(warehouse)
    ids = _ids(warehouse)
    chat_image = next(k for k in ids if k.startswith("IMG-"))
    for statement in (
        annotation_sql("ann-post", ids["meetup-recap-january"]),
        alias_sql("Ana", ids["ana"]),
        relation_sql(ids["journal"], ids["meetup-recap-january"]),
        relation_sql(ids["welcome-to-the-newsletter"], ids["logo.png"], "related_to"),
        relation_sql(ids["journal"], ids[chat_image], "related_to"),
    ):
        warehouse.execute(statement)
    return ids


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


EDITS: dict[str, tuple[str, str, str, str, str, Any]] = {
    # kind: (file, old, new, the key of its row in _ids, a column, its new value)
    "post": (  # a list column and an indexed one: DuckDB rewrites the row
        "posts/meetup-recap.md",
        "tags: [meetup]\nstatus: draft",
        "tags: [meetup, photos]\nstatus: published",
        "meetup-recap-january",
        "tags",
        ["meetup", "photos"],
    ),
    "profile": (
        "profiles/ana-lima.md",
        "[editing, photography]",
        "[editing, maps]",
        "ana",
        "interests",
        ["editing", "maps"],
    ),
    "journal": (  # the body only: updated in place
        "journal/2024-w01.md",
        "outline agreed",
        "outline and logo agreed",
        "journal",
        "content",
        "The group was created, the outline and logo agreed and the first post published.",
    ),
}
NEW_FILES: dict[str, tuple[str, str]] = {
    "post": ("posts/second.md", "---\ntitle: Second\nslug: second\ntags: [b]\n---\nMore.\n"),
    "profile": (
        "profiles/carla.md",
        "---\ntitle: Carla Dias\nauthor: Carla Dias\nalias: carla\n---\nHi.\n",
    ),
    "journal": (
        "journal/2024-w02.md",
        "---\ntitle: Week 2\nwindow_start: 2024-01-08T00:00:00Z\n"
        "window_end: 2024-01-14T23:59:59Z\n---\nQuiet week.\n",
    ),
}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_edit_reingest_and_add_beside_upstream_references(
    kind: str,
    warehouse: duckdb.DuckDBPyConnection,
    egregora_opened: dict[str, str],
    inbox: Path,
    media_settings: Settings,
) -> None:
    name, old, new, key, column, value = EDITS[kind]
    catalog, references = _catalog(warehouse), _references(warehouse)
    count = warehouse.execute("SELECT count(*) FROM documents").fetchone()
    _edit(inbox / name, old, new)
    new_name, new_text = NEW_FILES[kind]
    (inbox / new_name).write_text(new_text, encoding="utf-8")

    report = _run(warehouse, [inbox], media_settings)

    assert sum(e.documents_updated for e in report.inputs) == 1
    assert sum(e.documents_added for e in report.inputs) == 1
    edited = warehouse.execute(
        f'SELECT "{column}" FROM documents WHERE id = ?', [egregora_opened[key]]
    ).fetchone()
    assert edited is not None
    assert str(edited[0]).strip() == str(value)
    after = warehouse.execute("SELECT count(*) FROM documents").fetchone()
    assert count is not None
    assert after == (count[0] + 1,)
    assert _references(warehouse) == references
    assert _dangling(warehouse) == 0
    assert _catalog(warehouse) == catalog  # keys, FOREIGN KEYs, indexes as upstream made them
    again = _run(warehouse, [inbox], media_settings)  # nothing left to do
    assert sum(e.documents_updated + e.documents_added for e in again.inputs) == 0


def test_media_beside_upstream_references(
    warehouse: duckdb.DuckDBPyConnection,
    egregora_opened: dict[str, str],
    inbox: Path,
    media_settings: Settings,
) -> None:
    references = _references(warehouse)
    logo = inbox / "media" / "logo.png"
    from tests.ingestion.conftest import png_bytes

    logo.write_bytes(png_bytes((10, 200, 10)))  # edited image: new content, new row
    (inbox / "media" / "other.png").write_bytes(png_bytes((10, 10, 200)))
    report = _run(warehouse, [inbox], media_settings)
    assert sum(e.documents_added for e in report.inputs) == 2
    assert sum(e.documents_updated for e in report.inputs) == 0
    # the referenced row of the old image is kept: upstream's relation still names it
    assert warehouse.execute(
        "SELECT filename FROM documents WHERE id = ?", [egregora_opened["logo.png"]]
    ).fetchone() == ("logo.png",)
    assert _references(warehouse) == references
    assert _dangling(warehouse) == 0


def _longer_chat(inbox: Path) -> Path:
    """The same export a week later: one more message, same attachments."""
    source = inbox / "whatsapp" / f"{CHAT}.zip"
    with zipfile.ZipFile(source) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    text = members[f"{CHAT}.txt"].decode("utf-8")
    members[f"{CHAT}.txt"] = (text + "20/01/2024, 09:00 - Ana Lima: Welcome Carla!\n").encode()
    with zipfile.ZipFile(source, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return source


def test_chats_beside_upstream_references(
    warehouse: duckdb.DuckDBPyConnection,
    egregora_opened: dict[str, str],
    inbox: Path,
    media_settings: Settings,
) -> None:
    references = _references(warehouse)
    messages = warehouse.execute("SELECT * FROM messages ORDER BY event_id").fetchall()
    same = _run(warehouse, [inbox / "whatsapp"], media_settings)
    assert sum(e.messages_added for e in same.inputs) == 0
    assert sum(e.documents_added + e.documents_updated for e in same.inputs) == 0

    _longer_chat(inbox)
    longer = _run(warehouse, [inbox / "whatsapp"], media_settings)
    assert sum(e.messages_added for e in longer.inputs) == 1
    after = warehouse.execute("SELECT * FROM messages ORDER BY event_id").fetchall()
    assert set(messages) <= set(after)
    assert len(after) == len(messages) + 1
    assert _references(warehouse) == references  # the chat image's relation is intact
    assert _dangling(warehouse) == 0
    indexes = warehouse.execute(
        "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'messages' ORDER BY 1"
    ).fetchall()
    assert indexes == [
        ("idx_messages_author",),
        ("idx_messages_pk",),
        ("idx_messages_thread",),
        ("idx_messages_ts",),
    ]


def test_the_referencing_tables_are_the_ones_upstream_creates(
    warehouse: duckdb.DuckDBPyConnection, egregora_opened: dict[str, str]
) -> None:
    from egregora_pipeline.backends.references_base import referencing_tables

    assert referencing_tables(warehouse, "documents") == list(REFERENCING_TABLES)


def _self_referencing(database: Path) -> None:
    """``documents`` recreated with a ``parent_id`` FOREIGN KEY to itself (a user's own
    threading of posts), one post replying to the other, then upstream's init."""
    conn = duckdb.connect(str(database))
    try:
        row = conn.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'documents'")
        found = row.fetchone()
        assert found is not None
        body = str(found[0]).rstrip().rstrip(";").rstrip(")")
        conn.execute("CREATE TABLE saved AS SELECT * FROM documents")
        conn.execute("DROP TABLE documents")
        conn.execute(
            body + ', "parent_id" VARCHAR, PRIMARY KEY ("id"), '
            'FOREIGN KEY ("parent_id") REFERENCES documents ("id"))'
        )
        conn.execute("INSERT INTO documents BY NAME SELECT * FROM saved")
        conn.execute("DROP TABLE saved")
        conn.execute(
            "UPDATE documents SET parent_id = (SELECT id FROM documents WHERE slug = "
            "'meetup-recap-january') WHERE slug = 'welcome-to-the-newsletter'"
        )
        initialize_database(conn)
    finally:
        conn.close()


def test_a_refusal_that_remains_names_the_referencing_table(tmp_path: Path, inbox: Path) -> None:
    database = tmp_path / "w.duckdb"
    env = {"EGREGORA_MEDIA_DIR": str(tmp_path / "media")}
    posts = inbox / "posts"
    assert run_cli("ingest", "--database", str(database), str(posts), env=env).returncode == 0
    _self_referencing(database)
    _edit(posts / "meetup-recap.md", "tags: [meetup]", "tags: [meetup, photos]")
    done = run_cli("ingest", "--database", str(database), str(posts), env=env)
    summary = " ".join(done.stdout.split())
    assert done.returncode != 0
    assert "could not read" not in summary
    assert "meetup-recap.md" in summary
    assert "rows of documents itself (a FOREIGN KEY of documents to documents)" in summary
    assert "remove those references" in summary
    conn = duckdb.connect(str(database), read_only=True)
    try:
        kept = conn.execute(
            "SELECT tags FROM documents WHERE slug = 'meetup-recap-january'"
        ).fetchone()
        assert kept == (["meetup"],)  # nothing of the refused input was written
        reason = conn.execute(
            "SELECT reason FROM ingest_rejections WHERE source_path LIKE '%meetup-recap.md'"
        ).fetchone()
        assert reason is not None
        assert "FOREIGN KEY of documents to documents" in reason[0]
    finally:
        conn.close()
