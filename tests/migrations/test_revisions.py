"""Revisions run in order, one transaction each; destructive ones need permission."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from egregora_pipeline.migrations import (
    DestructiveOperationError,
    MigrationConfig,
    RevisionFailedError,
    check,
    current,
    downgrade,
    plan,
    plan_downgrade,
    upgrade,
)
from tests.migrations.conftest import RevisionWriter, columns_of, execute, query, tables_of

ADD_LANG = """op.add_column("documents", "lang", "VARCHAR", nullable=False, default="'en'")"""
DROP_LANG = """op.drop_column("documents", "lang")"""


@pytest.fixture
def config(warehouse_path: Path, versions_dir: Path) -> MigrationConfig:
    return MigrationConfig(warehouse_path, versions_dir=versions_dir)


def _seed(database: Path) -> None:
    execute(
        database,
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title) "
        "VALUES ('d1', now(), 'c1', 'draft', 'post', 'one'), "
        "('d2', now(), 'c2', 'draft', 'post', NULL)",
    )


def test_downgrade_then_upgrade_round_trips(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    write_revision(config.versions_dir, "0002", "0001", ADD_LANG, DROP_LANG)
    upgrade(config)
    _seed(config.database)
    assert query(config.database, "SELECT DISTINCT lang FROM documents") == [("en",)]

    down = downgrade(replace(config, allow_destructive=True), "-1")

    assert [a.revision_id for a in down.applied] == ["0002"]
    assert current(config) == "0001"
    assert "lang" not in columns_of(config.database, "documents")
    assert not check(config).at_head

    up = upgrade(config)

    assert [a.revision_id for a in up.applied] == ["0002"]
    assert columns_of(config.database, "documents")["lang"] == ("VARCHAR", False)
    assert query(config.database, "SELECT id, lang FROM documents ORDER BY id") == [
        ("d1", "en"),
        ("d2", "en"),
    ]


def test_dropping_a_column_with_values_is_refused_with_a_count(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    upgrade(config)
    _seed(config.database)
    write_revision(config.versions_dir, "0002", "0001", 'op.drop_column("documents", "title")')

    with pytest.raises(DestructiveOperationError) as caught:
        upgrade(config)

    assert "documents.title" in str(caught.value)
    assert "1 non-null value" in str(caught.value)
    assert caught.value.values_lost == 1
    assert current(config) == "0001", "the refused revision was rolled back"
    assert "title" in columns_of(config.database, "documents")
    planned = plan(config).sql()
    assert "DESTRUCTIVE" in planned
    assert "would lose 1" in planned

    upgrade(replace(config, allow_destructive=True))

    assert current(config) == "0002"


def test_narrowing_a_type_counts_the_values_that_would_not_survive(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    upgrade(config)
    execute(
        config.database,
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title) "
        "VALUES ('a', now(), 'c', 'draft', 'post', '12'), ('b', now(), 'c', 'draft', 'post', "
        "'012'), ('c', now(), 'c', 'draft', 'post', 'twelve'), ('d', now(), 'c', 'draft', "
        "'post', NULL)",
    )
    write_revision(
        config.versions_dir,
        "0002",
        "0001",
        'op.alter_column_type("documents", "title", "INTEGER", using="TRY_CAST(title AS INTEGER)")',
    )

    with pytest.raises(DestructiveOperationError) as caught:
        upgrade(config)

    assert caught.value.values_lost == 2, "'012' loses its zero, 'twelve' does not convert"


def test_widening_a_type_is_not_destructive(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    upgrade(config)
    execute(
        config.database,
        "INSERT INTO ingest_rejections VALUES ('r', 'run', 'zip', 'a.zip', 3, 4, 'bad', NULL, "
        "now())",
    )
    write_revision(
        config.versions_dir,
        "0002",
        "0001",
        'op.alter_column_type("ingest_rejections", "line_number", "VARCHAR")',
    )

    upgrade(config)

    assert query(config.database, "SELECT line_number FROM ingest_rejections") == [("3",)]


def test_downgrade_to_base_refuses_to_drop_tables_with_rows(config: MigrationConfig) -> None:
    upgrade(config)
    _seed(config.database)

    with pytest.raises(DestructiveOperationError) as caught:
        downgrade(config, "base")

    assert "documents" in str(caught.value)
    assert "2 rows" in str(caught.value)
    assert "DESTRUCTIVE" in plan_downgrade(config, "base").sql()
    assert check(config).ok, "nothing was dropped"

    downgrade(replace(config, allow_destructive=True), "base")

    assert current(config) is None
    assert "documents" not in tables_of(config.database)


def test_a_failing_revision_rolls_back_and_names_the_statement(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    write_revision(
        config.versions_dir,
        "0002",
        "0001",
        """op.add_column("documents", "half_done", "VARCHAR")
op.execute("SELECT * FROM no_such_table")""",
    )

    with pytest.raises(RevisionFailedError) as caught:
        upgrade(config)

    assert "no_such_table" in str(caught.value)
    assert current(config) == "0001", "0001 committed, 0002 rolled back"
    assert "half_done" not in columns_of(config.database, "documents")


def test_rebuild_table_adds_a_check_constraint_and_keeps_rows(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    upgrade(config)
    execute(
        config.database,
        "CREATE TABLE tags (name VARCHAR NOT NULL, weight INTEGER)",
        "INSERT INTO tags VALUES ('a', 1), ('b', 2)",
    )
    write_revision(
        config.versions_dir,
        "0002",
        "0001",
        """op.rebuild_table(
    "tags",
    [Column("name", "VARCHAR", nullable=False), Column("weight", "INTEGER")],
    constraints=["CHECK (weight > 0)"],
)""",
    )

    upgrade(config)

    assert query(config.database, "SELECT * FROM tags ORDER BY name") == [("a", 1), ("b", 2)]
    sql = query(config.database, "SELECT sql FROM duckdb_tables() WHERE table_name = 'tags'")
    assert "CHECK((weight > 0))" in sql[0][0]


def test_indexes_are_created_and_dropped_by_revisions(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    write_revision(
        config.versions_dir,
        "0002",
        "0001",
        'op.create_index("documents_slug", "documents", ["slug"])',
        'op.drop_index("documents_slug")',
    )
    upgrade(config)

    def indexes() -> list[tuple[object, ...]]:
        return query(config.database, "SELECT index_name FROM duckdb_indexes()")

    assert indexes() == [("documents_slug",)]
    downgrade(config, "-1")
    assert indexes() == []


def test_a_rebuild_that_drops_a_column_is_destructive_even_if_a_copy_mentions_a_longer_name(
    config: MigrationConfig, write_revision: RevisionWriter
) -> None:
    assert config.versions_dir is not None
    upgrade(config)
    execute(
        config.database,
        "CREATE TABLE tags (id VARCHAR, guid VARCHAR)",
        "INSERT INTO tags VALUES ('keep-me', 'g1')",
    )
    write_revision(
        config.versions_dir,
        "0002",
        "0001",
        'op.rebuild_table("tags", [Column("guid", "VARCHAR")], copy={"guid": "upper(guid)"})',
    )

    with pytest.raises(DestructiveOperationError, match="id"):
        upgrade(config)

    assert query(config.database, "SELECT id FROM tags") == [("keep-me",)]
