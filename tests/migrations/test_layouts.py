"""Every historical layout of SCHEMA.md reaches head with no row and no value lost."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from egregora_pipeline.migrations import MigrationConfig, check, current, upgrade
from tests.migrations.conftest import (
    build_legacy_v2,
    build_partial_unified,
    execute,
    query,
    tables_of,
)

UTC = dt.UTC


def test_layout_1_a_missing_file_is_created_at_head(config: MigrationConfig) -> None:
    result = upgrade(config)

    assert result.adopted_layout == "empty"
    assert [a.revision_id for a in result.applied] == ["0001", "0002"]
    assert {"documents", "messages", "ingest_rejections", "egregora_migrations"} <= tables_of(
        config.database
    )
    assert check(config).ok


def test_layout_1_an_empty_file_with_unrelated_tables_keeps_them(
    config: MigrationConfig,
) -> None:
    execute(config.database, "CREATE TABLE notes (x INTEGER)", "INSERT INTO notes VALUES (7)")

    result = upgrade(config)

    assert result.adopted_layout == "empty"
    assert query(config.database, "SELECT x FROM notes") == [(7,)]
    assert check(config).ok


def test_layout_2_legacy_v2_rows_are_folded_into_documents_without_loss(
    config: MigrationConfig,
) -> None:
    build_legacy_v2(config.database)

    result = upgrade(config)

    assert result.adopted_layout == "legacy_v2"
    assert check(config).ok
    tables = tables_of(config.database)
    assert not {"posts", "profiles", "journals", "media"} & tables
    assert {"legacy_v2_posts", "legacy_v2_profiles", "legacy_v2_journals"} <= tables
    by_type = dict(
        query(config.database, "SELECT doc_type, count(*) FROM documents GROUP BY doc_type")
    )
    assert by_type == {"post": 3, "profile": 1, "journal": 2, "media": 1}

    post = query(
        config.database,
        "SELECT content, created_at, source_checksum, title, slug, date, summary, authors, "
        "tags, status, extensions FROM documents WHERE id = 'post-1'",
    )[0]
    assert post[:10] == (
        "# Hello",
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "sha-p1",
        "Hello",
        "hello",
        dt.date(2024, 1, 2),
        "greeting",
        ["a1", "a2"],
        ["intro"],
        "published",
    )
    assert json.loads(post[10]) == {"word_count": 2}, "a V2 column documents lacks is kept"
    assert query(config.database, "SELECT status FROM documents WHERE id = 'post-2'") == [
        ("draft",)
    ]

    profile = query(
        config.database,
        "SELECT subject_uuid, title, alias, summary, avatar_url, interests, status "
        "FROM documents WHERE id = 'profile-1'",
    )[0]
    assert profile == (
        "uuid-1",
        "Ada",
        "ada",
        "mathematician",
        "https://x/a.png",
        ["math", "engines"],
        "published",
    )
    journal = query(
        config.database,
        "SELECT title, window_start, window_end FROM documents WHERE id = 'journal-1'",
    )[0]
    assert journal == (
        "Week 1",
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        dt.datetime(2024, 1, 7, 23, 59, 59, tzinfo=UTC),
    )
    media = query(
        config.database,
        "SELECT filename, mime_type, media_type, phash FROM documents WHERE id = 'media-1'",
    )[0]
    assert media == ("cat.jpg", "image/jpeg", "image", "ffe0c0a080402010")


def test_layout_2_null_required_values_get_the_documented_backfill(
    config: MigrationConfig,
) -> None:
    build_legacy_v2(config.database)

    upgrade(config)

    status, created_at, checksum = query(
        config.database,
        "SELECT status, created_at, source_checksum FROM documents WHERE id = 'journal-2'",
    )[0]
    assert status == "published"
    assert created_at is not None
    assert checksum == "unknown", "the documented backfill: the source is not known"
    assert query(config.database, "SELECT status FROM documents WHERE id = 'post-3'") == [
        ("published",)
    ]


def test_layout_2_the_legacy_tables_keep_every_original_row(config: MigrationConfig) -> None:
    build_legacy_v2(config.database)
    before = query(config.database, "SELECT * FROM posts ORDER BY id")

    upgrade(config)

    assert query(config.database, "SELECT * FROM legacy_v2_posts ORDER BY id") == before


def test_layout_3_partial_documents_are_completed_in_place(config: MigrationConfig) -> None:
    build_partial_unified(config.database, rows=5)
    before = query(config.database, "SELECT id, title, content, created_at FROM documents")

    result = upgrade(config)

    assert result.adopted_layout == "partial_unified"
    assert check(config).ok
    after = query(config.database, "SELECT id, title, content, created_at FROM documents")
    assert sorted(after) == sorted(before)
    defaults = query(
        config.database, "SELECT DISTINCT status, doc_type, source_checksum FROM documents"
    )
    assert defaults == [("published", "post", "unknown")]
    actions = "\n".join(result.reconcile_actions)
    assert "add column documents.slug VARCHAR" in actions
    assert "create missing table messages" in actions


def test_layout_3_doc_type_is_inferred_from_the_columns_a_row_has(
    config: MigrationConfig,
) -> None:
    execute(
        config.database,
        "CREATE TABLE documents (id VARCHAR, title VARCHAR, subject_uuid VARCHAR, "
        "filename VARCHAR, window_start TIMESTAMPTZ, window_end TIMESTAMPTZ)",
        "INSERT INTO documents VALUES ('p', 'Post', NULL, NULL, NULL, NULL), "
        "('r', 'Ada', 'uuid-1', NULL, NULL, NULL), ('m', NULL, NULL, 'a.png', NULL, NULL), "
        "('j', 'Week', NULL, NULL, TIMESTAMPTZ '2024-01-01 00:00:00+00', "
        "TIMESTAMPTZ '2024-01-07 00:00:00+00')",
    )

    upgrade(config)

    assert dict(query(config.database, "SELECT id, doc_type FROM documents")) == {
        "p": "post",
        "r": "profile",
        "m": "media",
        "j": "journal",
    }


def test_layout_4_unversioned_current_is_stamped_without_rewriting(
    config: MigrationConfig, tmp_path: Path
) -> None:
    other = MigrationConfig(database=tmp_path / "template.duckdb")
    upgrade(other)
    execute(
        other.database,
        "DROP TABLE egregora_migrations",
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title) "
        "VALUES ('d1', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'c1', 'draft', 'post', 'T')",
    )
    config.database.parent.mkdir(parents=True, exist_ok=True)
    config.database.write_bytes(other.database.read_bytes())

    result = upgrade(config, "0001")  # the adoption; 0002 rewrites rows on purpose

    assert result.adopted_layout == "unversioned_current"
    assert not result.reconcile_actions
    ddl = [s for s in result.statements if not s.startswith(("BEGIN", "COMMIT", "CHECKPOINT"))]
    assert all(s.startswith(("CREATE TABLE IF NOT EXISTS", "INSERT INTO")) for s in ddl), ddl
    assert query(config.database, "SELECT id, status FROM documents") == [("d1", "draft")]
    assert current(config) == "0001"
    upgrade(config)
    assert check(config).ok


def test_layout_5_drifted_missing_columns_are_re_added_by_reconcile(
    config: MigrationConfig,
) -> None:
    upgrade(config)
    execute(
        config.database,
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, slug) "
        "VALUES ('d1', now(), 'c', 'draft', 'post', 'kept')",
        "ALTER TABLE documents DROP COLUMN summary",
        "ALTER TABLE documents DROP COLUMN doc_type",
    )
    assert not check(config).ok

    result = upgrade(config)

    assert not result.applied
    assert "add column documents.summary VARCHAR" in result.reconcile_actions
    assert check(config).ok
    assert query(config.database, "SELECT slug, doc_type FROM documents") == [("kept", "post")]


def test_layout_5_a_type_change_is_reported_not_repaired(config: MigrationConfig) -> None:
    upgrade(config)
    execute(
        config.database,
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title) "
        "VALUES ('d1', now(), 'c', 'draft', 'post', '42')",
        "ALTER TABLE documents ALTER COLUMN title SET DATA TYPE INTEGER",
    )

    result = upgrade(config)

    assert any("documents.title is INTEGER, declared VARCHAR" in w for w in result.warnings)
    report = check(config)
    assert not report.ok
    assert [m.describe() for m in report.tables["documents"].mismatched] == [
        "title: type INTEGER, declared VARCHAR"
    ]
    assert query(config.database, "SELECT title FROM documents") == [(42,)]


def test_reconcile_is_idempotent(config: MigrationConfig) -> None:
    build_partial_unified(config.database)
    upgrade(config)

    second = upgrade(config)

    assert not second.changed
    assert second.statements == []


def test_layout_3_adopted_posts_get_a_slug_so_they_pass_the_data_checks(
    config: MigrationConfig,
) -> None:
    import duckdb

    from egregora_pipeline.quality import doc_type_rule_violations

    build_partial_unified(config.database, rows=3)

    result = upgrade(config)

    assert query(config.database, "SELECT count(*) FROM documents WHERE slug = id") == [(3,)]
    assert any("slug of existing rows" in action for action in result.reconcile_actions)
    with duckdb.connect(str(config.database), read_only=True) as conn:
        assert doc_type_rule_violations(conn).ok
    assert upgrade(config).reconcile_actions == []  # idempotent
