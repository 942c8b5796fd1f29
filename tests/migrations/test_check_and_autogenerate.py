"""``check`` names every drifted column; autogenerate writes the revision that fixes it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.migrations import (
    MigrationConfig,
    check,
    check_connection,
    revision,
    upgrade,
)
from egregora_pipeline.migrations.ops import (
    AddColumn,
    AlterColumnType,
    Column,
    CreateTable,
    DropColumn,
    DropTable,
    SetNullable,
)
from egregora_pipeline.migrations.reconcile import declared_columns
from egregora_pipeline.migrations.script import ScriptDirectory
from egregora_pipeline.schema import INGEST_REJECTIONS
from tests.migrations.conftest import execute, query


@pytest.fixture
def config(warehouse_path: Path, versions_dir: Path) -> MigrationConfig:
    config = MigrationConfig(warehouse_path, versions_dir=versions_dir)
    upgrade(config)
    return config


def test_check_passes_at_head(config: MigrationConfig) -> None:
    report = check(config)

    assert report.ok
    assert report.current == report.head == "0001"
    assert set(report.tables) == {"documents", "messages", "ingest_rejections"}
    assert "OK" in report.render()


def test_check_names_type_nullability_and_missing_columns(config: MigrationConfig) -> None:
    execute(
        config.database,
        "ALTER TABLE documents ALTER COLUMN phash SET DATA TYPE BLOB",
        "ALTER TABLE documents ALTER COLUMN alias SET NOT NULL",
        "ALTER TABLE documents ALTER COLUMN status DROP NOT NULL",
        "ALTER TABLE messages DROP COLUMN pii_flags",
        "DROP TABLE ingest_rejections",
        "ALTER TABLE documents ADD COLUMN scratch INTEGER",
    )

    report = check(config)

    assert not report.ok
    documents = report.tables["documents"]
    assert {m.column: m.describe() for m in documents.mismatched} == {
        "phash": "phash: type BLOB, declared VARCHAR",
        "alias": "alias: NOT NULL, declared nullable",
        "status": "status: nullable, declared NOT NULL",
    }
    assert documents.extra == ["scratch"]
    assert report.tables["messages"].missing == ["pii_flags"]
    assert not report.tables["ingest_rejections"].exists
    text = report.render()
    for fragment in ("phash", "alias", "status", "pii_flags", "ingest_rejections", "FAILED"):
        assert fragment in text


def test_check_connection_reads_metadata_only(config: MigrationConfig) -> None:
    conn = duckdb.connect(str(config.database), read_only=True)
    try:
        report = check_connection(conn, versions_dir=config.versions_dir)
    finally:
        conn.close()

    assert report.ok


def test_reconcile_repairs_nullability_it_can_and_reports_what_it_cannot(
    config: MigrationConfig,
) -> None:
    execute(
        config.database,
        "ALTER TABLE documents ALTER COLUMN alias SET NOT NULL",
        "ALTER TABLE documents ALTER COLUMN status DROP NOT NULL",
        "ALTER TABLE messages ALTER COLUMN ts DROP NOT NULL",
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, alias) "
        "VALUES ('d', now(), 'c', NULL, 'post', 'al')",
        "INSERT INTO messages (event_id, tenant_id, source, thread_id, msg_id, ts, "
        "author_uuid, created_at, created_by_run) VALUES ('e', 't', 's', 'th', '1', NULL, "
        "'u', now(), 'r')",
    )

    result = upgrade(config)

    assert "drop NOT NULL on documents.alias (declared nullable)" in result.reconcile_actions
    assert any("1 NULL(s) of documents.status" in a for a in result.reconcile_actions)
    assert any("messages.ts" in w and "no documented backfill" in w for w in result.warnings)
    report = check(config)
    assert report.tables["documents"].ok
    assert [m.column for m in report.tables["messages"].mismatched] == ["ts"]
    assert query(config.database, "SELECT status FROM documents") == [("published",)]


def test_autogenerate_writes_a_revision_that_makes_check_pass(config: MigrationConfig) -> None:
    execute(
        config.database,
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title, alias) "
        "VALUES ('d', now(), 'c', 'draft', 'post', '7', 'al')",
        "ALTER TABLE documents ALTER COLUMN title SET DATA TYPE INTEGER",
        "ALTER TABLE documents ALTER COLUMN alias SET NOT NULL",
        "ALTER TABLE documents DROP COLUMN tags",
        "ALTER TABLE documents ADD COLUMN scratch VARCHAR",
        "DROP TABLE ingest_rejections",
    )

    path = revision(config, "align with declared schema", autogenerate=True)

    assert path.name == "0002_align_with_declared_schema.py"
    generated = ScriptDirectory.load(config.versions_dir).get("0002")
    assert generated.down_revision == "0001"
    assert generated.upgrade_ops() == [
        AlterColumnType("documents", "title", "VARCHAR", old_type="INTEGER"),
        AddColumn("documents", Column("tags", "VARCHAR[]")),
        SetNullable("documents", "alias", nullable=True),
        DropColumn("documents", "scratch"),
        CreateTable("ingest_rejections", declared_columns(INGEST_REJECTIONS)),
    ]
    assert generated.downgrade_ops()[0] == DropTable("ingest_rejections")
    text = path.read_text()
    assert text.count("# DESTRUCTIVE") == 2, "the type change and the column drop"
    assert text.index("# DESTRUCTIVE") < text.index("alter_column_type")

    upgrade(config)

    assert check(config).ok
    assert query(config.database, "SELECT title FROM documents") == [("7",)]
    assert ScriptDirectory.load(config.versions_dir).head == "0002"


def test_revision_without_autogenerate_writes_an_empty_template(config: MigrationConfig) -> None:
    path = revision(config, "Add a language column!")

    assert path.name == "0002_add_a_language_column.py"
    assert "def upgrade(op: Operations) -> None:\n    pass" in path.read_text()
    upgrade(config)
    assert check(config).ok


def test_a_message_with_quotes_and_backslashes_still_writes_a_loadable_revision(
    config: MigrationConfig,
) -> None:
    message = 'say """hi""" to C:\\temp'

    path = revision(config, message)

    loaded = ScriptDirectory.load(config.versions_dir)
    assert loaded.head == "0002"
    assert message in path.read_text().replace('\\"', '"').replace("\\\\", "\\")
    upgrade(config)
    assert check(config).ok
