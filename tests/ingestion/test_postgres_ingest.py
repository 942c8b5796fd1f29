"""Ingestion into a PostgreSQL warehouse gives what ingestion into DuckDB gives.

Each test ingests the same inputs into a DuckDB file and into a real PostgreSQL 18
server (``tests/postgres/server.py``) and compares the reports and the table contents.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.backends.postgres.sink import PostgresSink
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.ids import rejection_id
from egregora_pipeline.ingestion import IngestReport, ingest
from egregora_pipeline.ingestion.errors import InvalidSettingError
from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.ingestion.targets import ingest_paths
from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    duckdb_table,
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
    postgres_table,
)
from tests.postgres.server import PostgresServer

__all__ = ["pg_target", "postgres_database", "postgres_server"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DEMO_EXPORT = ROOT / "tests" / "fixtures" / "whatsapp" / "demo_chat.zip"
TABLES = ("messages", "documents", "ingest_rejections")


def counts(report: IngestReport) -> list[tuple[object, ...]]:
    return [
        (
            str(entry.path),
            entry.kind,
            entry.messages_added,
            entry.messages_skipped,
            entry.documents_added,
            entry.documents_updated,
            entry.documents_skipped,
            len(entry.rejections),
            entry.error,
        )
        for entry in report.inputs
    ]


def both(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    target: PostgresTarget,
    tmp_path: Path,
    paths: list[Path],
    run_id: str = "run-1",
) -> tuple[IngestReport, IngestReport]:
    """Ingest ``paths`` into DuckDB and PostgreSQL (each with its own media store)."""
    on_duckdb = ingest(warehouse, paths, settings=settings, run_id=run_id)
    pg_settings = replace(settings, media_dir=tmp_path / "pg-media")
    on_postgres = ingest_postgres(target, paths, settings=pg_settings, run_id=run_id)
    return on_duckdb, on_postgres


def assert_same_tables(warehouse: duckdb.DuckDBPyConnection, target: PostgresTarget) -> None:
    for table in TABLES:
        assert postgres_table(target, table) == duckdb_table(warehouse, table), table


def test_examples_load_the_same_rows_as_into_duckdb(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, [EXAMPLES])
    assert on_postgres.ok
    assert on_postgres.messages_added == 12
    assert counts(on_postgres) == counts(on_duckdb)
    assert_same_tables(warehouse, pg_target)
    assert len(postgres_table(pg_target, "documents")) == 8


def test_the_real_demo_export_loads_the_same_rows_as_into_duckdb(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, [DEMO_EXPORT])
    assert on_postgres.ok
    assert on_postgres.messages_added > 0
    assert counts(on_postgres) == counts(on_duckdb)
    assert_same_tables(warehouse, pg_target)


def test_re_ingest_adds_nothing_and_counts_what_it_skipped_like_duckdb(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    inputs = [EXAMPLES, DEMO_EXPORT]
    _, first_run = both(warehouse, settings, pg_target, tmp_path, inputs)
    first = {table: postgres_table(pg_target, table, keep_run_time=True) for table in TABLES}
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, inputs, "run-2")
    assert on_postgres.messages_added == on_postgres.documents_added == 0
    assert on_postgres.messages_skipped > 0
    assert on_postgres.documents_skipped == first_run.documents_added > 0
    assert counts(on_postgres) == counts(on_duckdb)
    for table in TABLES:
        assert postgres_table(pg_target, table, keep_run_time=True) == first[table], table
    assert_same_tables(warehouse, pg_target)


def _post(
    folder: Path, body: str, *, slug: str = "hello", name: str = "hello.md", extra: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"---\ntitle: Hello\nslug: {slug}\ndate: 2024-01-01\n{extra}---\n{body}\n")
    return path


def test_a_changed_markdown_document_is_updated_keeping_its_first_created_at(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    post = _post(tmp_path / "inbox" / "posts", "first version")
    both(warehouse, settings, pg_target, tmp_path, [post])
    (before,) = postgres_table(pg_target, "documents", keep_run_time=True)
    _post(tmp_path / "inbox" / "posts", "second version")
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, [post], "run-2")
    assert (on_postgres.documents_updated, on_postgres.documents_added) == (1, 0)
    assert counts(on_postgres) == counts(on_duckdb)
    (after,) = postgres_table(pg_target, "documents", keep_run_time=True)
    assert after["content"].strip() == "second version"
    assert after["created_at"] == before["created_at"]
    assert after["source_checksum"] != before["source_checksum"]
    assert_same_tables(warehouse, pg_target)


def test_rejections_land_once_with_the_same_ids_and_reasons(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "untitled.md").write_text("---\nslug: nothing\n---\nno title, no type\n")
    (inbox / "broken.md").write_text("---\ntitle: [unclosed\n---\n")
    (inbox / "WhatsApp Chat with Bad.txt").write_text(
        "31/12/2019, 23:59 - Ana: hi\n31/12/2019, 25:61 - Bob: impossible hour\n"
        "01/01/2020, 00:01 - Ana: IMG-1.jpg (file attached)\n"
    )
    not_a_zip = tmp_path / "export.zip"
    not_a_zip.write_bytes(b"this is not a zip archive")
    inputs = [inbox, not_a_zip]
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, inputs)
    assert on_postgres.rejected >= 5
    assert counts(on_postgres) == counts(on_duckdb)
    assert_same_tables(warehouse, pg_target)
    stored = postgres_table(pg_target, "ingest_rejections")
    assert len(stored) == on_postgres.rejected
    both(warehouse, settings, pg_target, tmp_path, inputs, "run-2")
    assert postgres_table(pg_target, "ingest_rejections") == stored


def test_an_id_or_slug_belongs_to_the_first_source_that_claimed_it(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    first = _post(tmp_path / "a" / "posts", "mine", slug="taken")
    both(warehouse, settings, pg_target, tmp_path, [first])
    second = _post(
        tmp_path / "b" / "posts", "also mine", slug="taken", name="other.md", extra="id: other\n"
    )
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, [second], "run-2")
    (entry,) = on_postgres.inputs
    assert entry.documents_added == 0
    assert [r.reason for r in entry.rejections] == [
        f"slug 'taken' already belongs to the post from {first}; a different source cannot take it"
    ]
    assert counts(on_postgres) == counts(on_duckdb)
    assert_same_tables(warehouse, pg_target)


def test_a_nul_character_postgresql_cannot_store_fails_only_its_own_input(
    pg_target: PostgresTarget, settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    _post(inbox / "posts", "fine", slug="a", name="a.md")
    _post(inbox / "posts", "a NUL \x00 inside", slug="b", name="b.md")
    _post(inbox / "posts", "fine too", slug="c", name="c.md")
    (inbox / "WhatsApp Chat with Nul.txt").write_text(
        "31/12/2019, 23:58 - Ana: fine\n31/12/2019, 23:59 - Ana: hi \x00 there\n"
    )
    (inbox / "WhatsApp Chat with Fine.txt").write_text("31/12/2019, 23:58 - Ana: fine\n")
    report = ingest_postgres(
        pg_target, [inbox], settings=replace(settings, media_dir=tmp_path / "m"), run_id="r"
    )
    by_name = {entry.path.name: entry for entry in report.inputs}
    assert by_name["WhatsApp Chat with Nul.txt"].error == (
        f"message 2 (event_id {_event_id(inbox, 'Nul')}) holds the NUL character (U+0000), "
        "which a PostgreSQL warehouse cannot store (DuckDB can): remove it from the file "
        "and ingest it again"
    )
    error = by_name["b.md"].error or ""
    assert error.startswith("could not write this document: the 'content' of document")
    assert "NUL character (U+0000)" in error
    assert [by_name[n].documents_added for n in ("a.md", "c.md")] == [1, 1]
    assert by_name["WhatsApp Chat with Fine.txt"].messages_added == 1
    assert {m["thread_id"] for m in postgres_table(pg_target, "messages")} == {"Fine"}
    assert len(postgres_table(pg_target, "ingest_rejections")) == report.rejected == 2


def test_a_nul_quoted_in_a_rejection_is_stored_as_a_replacement_character(
    pg_target: PostgresTarget,
) -> None:
    rejection = Rejection("chat.txt", 3, 7, "bad \x00 header", "31/12 \x00")
    with PostgresSink.open(pg_target) as sink, sink.transaction():
        assert sink.insert_rejections([rejection, rejection], run_id="r", input_kind="x") == 1
    (stored,) = postgres_table(pg_target, "ingest_rejections")
    assert (stored["reason"], stored["raw"]) == ("bad \ufffd header", "31/12 \ufffd")
    assert stored["rejection_id"] == rejection_id("chat.txt", 3, 7, "bad \x00 header")


def _event_id(inbox: Path, thread: str) -> str:
    """The id DuckDB gives the chat's second message (a DuckDB warehouse stores the NUL)."""
    from egregora_pipeline.ingestion import ingest
    from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql

    conn = duckdb.connect()
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    chat = inbox / f"WhatsApp Chat with {thread}.txt"
    ingest(conn, [chat], settings=Settings(media_dir=inbox.parent / "dm"), run_id="d")
    (found,) = conn.execute("SELECT event_id FROM messages WHERE msg_id = '2'").fetchone() or ()
    return str(found)


def test_ingest_paths_picks_the_sink_from_a_path_or_a_url(
    postgres_server: PostgresServer, pg_target: PostgresTarget, settings: Settings, tmp_path: Path
) -> None:
    duckdb_file = tmp_path / "w.duckdb"
    with duckdb.connect(str(duckdb_file)) as conn:
        for name, table in DECLARED_TABLES.items():
            conn.execute(create_table_sql(name, table.schema))
    media = replace(settings, media_dir=tmp_path / "media")
    on_duckdb = ingest_paths([EXAMPLES], warehouse=duckdb_file, settings=media, run_id="r")
    url = postgres_server.url(pg_target.params["dbname"])
    on_postgres = ingest_paths([EXAMPLES], warehouse=url, settings=media, run_id="r")
    assert on_postgres.messages_added == on_duckdb.messages_added == 12
    assert counts(on_postgres) == counts(on_duckdb)
    with duckdb.connect(str(duckdb_file)) as conn:
        assert_same_tables(conn, pg_target)


def test_a_postgresql_warehouse_needs_a_media_folder_for_documents(
    pg_target: PostgresTarget, settings: Settings
) -> None:
    with pytest.raises(InvalidSettingError, match="EGREGORA_MEDIA_DIR="):
        ingest_postgres(pg_target, [EXAMPLES], settings=settings, run_id="r")
    only_messages = ingest_postgres(
        pg_target, [DEMO_EXPORT], settings=settings, run_id="r", targets=frozenset({"messages"})
    )
    assert only_messages.messages_added > 0
    assert postgres_table(pg_target, "documents") == []


def test_text_that_csv_and_copy_treat_specially_arrives_unchanged(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    pg_target: PostgresTarget,
    tmp_path: Path,
) -> None:
    """COPY's end-of-data line, NULL markers, quotes, commas, CR and empty lines."""
    chat = tmp_path / "WhatsApp Chat with Csv.txt"
    chat.write_text(
        "31/12/2019, 23:50 - Ana: first\n\\.\nafter the end-of-data marker\n"
        "31/12/2019, 23:51 - Ana: \\.\n"
        '31/12/2019, 23:52 - Ana: "quoted", \\N and NULL, a\ttab\n\n\nand blank lines\n'
        "31/12/2019, 23:53 - Ana: a carriage\rreturn, ünïcödé 😀\n"
    )
    on_duckdb, on_postgres = both(warehouse, settings, pg_target, tmp_path, [chat])
    assert on_postgres.messages_added == 4
    assert counts(on_postgres) == counts(on_duckdb)
    assert_same_tables(warehouse, pg_target)
    texts = {m["text"] for m in postgres_table(pg_target, "messages")}
    assert "first\n\\.\nafter the end-of-data marker" in texts
    assert "\\." in texts
