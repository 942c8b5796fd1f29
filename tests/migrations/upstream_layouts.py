"""Warehouses as upstream Egregora's own code left them, rebuilt from the DDL it emitted.

Each layout replays, as data, the statements upstream Egregora
(https://github.com/franklinbaldo/egregora) executed against DuckDB at one
commit of its public history -- table by table, in its order, with its quoting,
its column types (its ``ibis_to_duckdb_type`` mapping) and its constraints,
indexes and sequences -- then fills every table with realistic rows. The
statements were transcribed by reading upstream's schema modules at the named
commit; none of upstream's code is copied or imported.

Layouts (docs/schema.md numbers):

``indexed_staging`` (6)
    commit ba6cd23715ab280445a0582f9b799eaf649537da (2025-12-11,
    ``src/egregora/database/init.py``): ``messages`` through the raw DuckDB path
    (no NOT NULL), a UNIQUE index on ``event_id`` and three more.
``atom_documents`` (7)
    commit ed9fa1bc07ce75bd3763be2a61d99e81eb9f823b (2025-12-25,
    ``database/ir_schema.py``, ``database/migrations.py``, ``agents/shared/annotations``):
    the Atom ``documents`` created through Ibis (non-nullable dtypes become NOT
    NULL), indexed ``messages``, ``runs`` with its PRIMARY KEY and five indexes,
    ``annotations`` with a sequence-backed id, and the Elo tables.
``separate_media`` (8)
    commit 77b8e299230d06cea915343a14b324d8ffb5a1bd (2026-01-22,
    ``database/init.py``, ``database/schemas.py``, ``migrations_v4_constraints.py``):
    ``documents`` with PRIMARY KEY and CHECKs, ``tasks``, indexed ``messages``, a
    separate ``media`` table with its CHECK, ``annotations`` with a FOREIGN KEY
    to ``documents(id)``.
``constrained`` (9 and 10)
    commit 8c9055d50ca724943f230444291ea122194f0ddd (2026-02-01, the last change
    of ``database/init.py`` / ``schemas.py``): ``documents`` with PRIMARY KEY,
    six CHECKs (one excludes ``media_type = 'document'``) and four indexes;
    ``messages`` with a CHECK and four indexes; annotations, document relations
    and entity aliases with FOREIGN KEYs to ``documents(id)``; tasks, git
    commits and refs, Elo ratings and comparison history, asset cache -- each
    with its keys, CHECKs and indexes.

``initialize_database`` replays what upstream's ``database/init.py`` does, on every open, to a
warehouse this project wrote (commit 1123bf243); ``annotation_sql`` and friends write the
rows that then reference ``documents``.

``python -m tests.migrations.upstream_layouts OUT_DIR`` writes one file per layout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb

TS: Final = "TIMESTAMP WITH TIME ZONE"
"""upstream's ``ibis_to_duckdb_type`` maps every ``dt.timestamp`` to this."""


@dataclass(frozen=True)
class UpstreamLayout:
    name: str
    commit: str
    date: str
    ddl: tuple[str, ...]
    rows: Callable[[int], tuple[str, ...]]
    """INSERT statements; the argument scales the bulk rows (benchmark), 0 = the small set."""


# --- DDL, by commit -----------------------------------------------------------------------

_MESSAGES_COLUMNS: Final = (
    '"event_id" VARCHAR, "tenant_id" VARCHAR, "source" VARCHAR, "thread_id" VARCHAR, '
    f'"msg_id" VARCHAR, "ts" {TS}, "author_raw" VARCHAR, "author_uuid" VARCHAR, '
    '"text" VARCHAR, "media_url" VARCHAR, "media_type" VARCHAR, "attrs" JSON, '
    f'"pii_flags" JSON, "created_at" {TS}, "created_by_run" VARCHAR'
)
_MESSAGES_INDEXES: Final = (
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_pk ON messages(event_id)",
    "CREATE INDEX IF NOT EXISTS idx_messages_ts ON messages(ts)",
    "CREATE INDEX IF NOT EXISTS idx_messages_thread ON messages(thread_id)",
    "CREATE INDEX IF NOT EXISTS idx_messages_author ON messages(author_uuid)",
)

_UNIFIED_COLUMNS: Final = (
    f'"id" VARCHAR, "content" VARCHAR, "created_at" {TS}, "source_checksum" VARCHAR, '
    '"title" VARCHAR, "slug" VARCHAR, "date" DATE, "summary" VARCHAR, "authors" VARCHAR[], '
    '"tags" VARCHAR[], "status" VARCHAR, "subject_uuid" VARCHAR, "alias" VARCHAR, '
    '"avatar_url" VARCHAR, "interests" VARCHAR[], "filename" VARCHAR, "mime_type" VARCHAR, '
    f'"media_type" VARCHAR, "phash" VARCHAR, "window_start" {TS}, "window_end" {TS}, '
    '"doc_type" VARCHAR, "extensions" JSON'
)
_DOC_CHECKS_JAN: Final = (
    "CONSTRAINT \"chk_doc_post_req\" CHECK ((doc_type != 'post') OR (title IS NOT NULL AND "
    "slug IS NOT NULL AND status IS NOT NULL))",
    "CONSTRAINT \"chk_doc_post_status\" CHECK ((doc_type != 'post') OR (status IN ('draft', "
    "'published', 'archived')))",
    "CONSTRAINT \"chk_doc_profile_req\" CHECK ((doc_type != 'profile') OR (title IS NOT NULL "
    "AND subject_uuid IS NOT NULL))",
    "CONSTRAINT \"chk_doc_journal_req\" CHECK ((doc_type != 'journal') OR (title IS NOT NULL "
    "AND window_start IS NOT NULL AND window_end IS NOT NULL))",
    "CONSTRAINT \"chk_doc_media_req\" CHECK ((doc_type != 'media') OR (filename IS NOT NULL))",
)
_DOC_CHECK_MEDIA_TYPE: Final = (
    "CONSTRAINT \"chk_doc_media_type\" CHECK ((doc_type != 'media') OR (media_type IN "
    "('image', 'video', 'audio')))"
)
_TASKS: Final = (
    f'"task_id" UUID, "task_type" VARCHAR, "status" VARCHAR, "payload" JSON, "created_at" {TS}, '
    f'"processed_at" {TS}, "error" VARCHAR'
)
_TASK_CHECKS: Final = (
    "CONSTRAINT \"chk_tasks_status\" CHECK (status IN ('pending', 'processing', 'completed', "
    "'failed', 'superseded'))",
    "CONSTRAINT \"chk_tasks_task_type\" CHECK (task_type IN ('generate_banner', "
    "'update_profile', 'enrich_media', 'enrich_url'))",
)
_ANNOTATIONS_JAN: Final = (
    f'CREATE TABLE IF NOT EXISTS "annotations" ("id" VARCHAR, "content" VARCHAR, "created_at" {TS}, '
    '"source_checksum" VARCHAR, "parent_id" VARCHAR, "parent_type" VARCHAR, "author_id" VARCHAR, '
    "FOREIGN KEY (parent_id) REFERENCES documents(id), "
    "CONSTRAINT \"chk_annotations_parent_type\" CHECK (parent_type IN ('message', 'post', "
    "'annotation')))"
)

INDEXED_STAGING_DDL: Final = (
    f'CREATE TABLE IF NOT EXISTS "messages" ({_MESSAGES_COLUMNS})',
    *_MESSAGES_INDEXES,
)

ATOM_DDL: Final = (
    # database/init.py: staging table and its indexes
    f'CREATE TABLE IF NOT EXISTS "messages" ({_MESSAGES_COLUMNS})',
    *_MESSAGES_INDEXES,
    # `egregora db migrate` (database/migrations.py) through the Ibis backend: NOT NULL for
    # every non-nullable dtype of the Atom UNIFIED_SCHEMA
    f'CREATE TABLE "documents" ("id" VARCHAR NOT NULL, "title" VARCHAR NOT NULL, "updated" {TS} '
    f'NOT NULL, "published" {TS}, "links" JSON NOT NULL, "authors" JSON NOT NULL, '
    '"contributors" JSON NOT NULL, "categories" JSON NOT NULL, "summary" VARCHAR, '
    '"content" VARCHAR, "content_type" VARCHAR, "source" JSON, "in_reply_to" JSON, '
    '"extensions" JSON NOT NULL, "internal_metadata" JSON NOT NULL, "doc_type" VARCHAR NOT NULL, '
    '"status" VARCHAR NOT NULL)',
    # ir_schema.create_runs_table
    f'CREATE TABLE IF NOT EXISTS "runs" ("run_id" UUID, "tenant_id" VARCHAR, "stage" VARCHAR, '
    '"status" VARCHAR, "error" VARCHAR, "parent_run_id" UUID, "code_ref" VARCHAR, '
    f'"config_hash" VARCHAR, "started_at" {TS}, "finished_at" {TS}, "rows_in" BIGINT, '
    '"rows_out" BIGINT, "duration_seconds" DOUBLE PRECISION, "llm_calls" BIGINT, '
    '"tokens" BIGINT, "attrs" JSON, "trace_id" VARCHAR)',
    'ALTER TABLE "runs" ADD CONSTRAINT "pk_runs" PRIMARY KEY ("run_id")',
    "CREATE INDEX IF NOT EXISTS idx_runs_started_at ON runs(started_at DESC)",
    "CREATE INDEX IF NOT EXISTS idx_runs_stage ON runs(stage)",
    "CREATE INDEX IF NOT EXISTS idx_runs_status ON runs(status)",
    "CREATE INDEX IF NOT EXISTS idx_runs_tenant ON runs(tenant_id)",
    "CREATE INDEX IF NOT EXISTS idx_runs_parent ON runs(parent_run_id)",
    # agents/shared/annotations: sequence, table, PK, default, index
    'CREATE SEQUENCE IF NOT EXISTS "annotations_id_seq" START 1',
    'CREATE TABLE IF NOT EXISTS "annotations" ("id" BIGINT, "parent_id" VARCHAR, '
    f'"parent_type" VARCHAR, "author" VARCHAR, "commentary" VARCHAR, "created_at" {TS})',
    "ALTER TABLE annotations ALTER COLUMN id SET DEFAULT nextval('annotations_id_seq')",
    'ALTER TABLE "annotations" ADD CONSTRAINT "pk_annotations" PRIMARY KEY ("id")',
    "CREATE INDEX IF NOT EXISTS idx_annotations_parent_created "
    "ON annotations (parent_id, parent_type, created_at)",
    # ranking: ELO_RATINGS_SCHEMA / ELO_HISTORY_SCHEMA
    f'CREATE TABLE IF NOT EXISTS "elo_ratings" ("post_id" VARCHAR, "elo_global" DOUBLE PRECISION, '
    f'"num_comparisons" BIGINT, "last_updated" {TS}, PRIMARY KEY ("post_id"))',
    f'CREATE TABLE IF NOT EXISTS "elo_history" ("comparison_id" VARCHAR, "timestamp" {TS}, '
    '"winner_id" VARCHAR, "loser_id" VARCHAR, "elo_change" DOUBLE PRECISION, "tie" BOOLEAN, '
    'PRIMARY KEY ("comparison_id"))',
)

SEPARATE_MEDIA_DDL: Final = (
    f'CREATE TABLE IF NOT EXISTS "documents" ({_UNIFIED_COLUMNS}, PRIMARY KEY ("id"), '
    + ", ".join(_DOC_CHECKS_JAN)
    + ")",
    f'CREATE TABLE IF NOT EXISTS "tasks" ({_TASKS}, ' + ", ".join(_TASK_CHECKS) + ")",
    f'CREATE TABLE IF NOT EXISTS "messages" ({_MESSAGES_COLUMNS})',
    f'CREATE TABLE IF NOT EXISTS "media" ("id" VARCHAR, "content" VARCHAR, "created_at" {TS}, '
    '"source_checksum" VARCHAR, "filename" VARCHAR, "mime_type" VARCHAR, "media_type" VARCHAR, '
    '"phash" VARCHAR, CONSTRAINT "chk_media_media_type" CHECK (media_type IN (\'image\', '
    "'video', 'audio')))",
    _ANNOTATIONS_JAN,
    *_MESSAGES_INDEXES,
)

CONSTRAINED_DDL: Final = (
    f'CREATE TABLE IF NOT EXISTS "documents" ({_UNIFIED_COLUMNS}, PRIMARY KEY ("id"), '
    + ", ".join((*_DOC_CHECKS_JAN, _DOC_CHECK_MEDIA_TYPE))
    + ")",
    'CREATE INDEX IF NOT EXISTS "idx_documents_type" ON "documents" ("doc_type")',
    'CREATE INDEX IF NOT EXISTS "idx_documents_slug" ON "documents" ("slug")',
    'CREATE INDEX IF NOT EXISTS "idx_documents_created" ON "documents" ("created_at")',
    'CREATE INDEX IF NOT EXISTS "idx_documents_status" ON "documents" ("status")',
    f'CREATE TABLE IF NOT EXISTS "tasks" ({_TASKS}, PRIMARY KEY ("task_id"), '
    + ", ".join(_TASK_CHECKS)
    + ")",
    f'CREATE TABLE IF NOT EXISTS "messages" ({_MESSAGES_COLUMNS}, CONSTRAINT '
    "\"chk_messages_media_type\" CHECK ((media_type IS NULL) OR (media_type IN ('image', "
    "'video', 'audio'))))",
    _ANNOTATIONS_JAN,
    *_MESSAGES_INDEXES,
    f'CREATE TABLE IF NOT EXISTS "git_commits" ("repo_path" VARCHAR, "commit_sha" VARCHAR, '
    f'"commit_timestamp" {TS}, "author" VARCHAR, "message" VARCHAR, "change_type" VARCHAR, '
    '"stats" JSON, PRIMARY KEY ("commit_sha", "repo_path"))',
    "ALTER TABLE git_commits ADD COLUMN IF NOT EXISTS change_type VARCHAR",
    "ALTER TABLE git_commits ADD COLUMN IF NOT EXISTS stats JSON",
    "CREATE INDEX IF NOT EXISTS idx_git_commits_lookup ON git_commits(repo_path, "
    "commit_timestamp DESC)",
    'CREATE TABLE IF NOT EXISTS "git_refs" ("ref_name" VARCHAR, "commit_sha" VARCHAR, '
    '"is_tag" BOOLEAN, "is_remote" BOOLEAN, PRIMARY KEY ("ref_name"))',
    'CREATE INDEX IF NOT EXISTS "idx_git_refs_name" ON "git_refs" ("ref_name")',
    'CREATE INDEX IF NOT EXISTS "idx_git_refs_sha" ON "git_refs" ("commit_sha")',
    'CREATE TABLE IF NOT EXISTS "elo_ratings" ("post_slug" VARCHAR, "rating" DOUBLE PRECISION, '
    '"comparisons" BIGINT, "wins" BIGINT, "losses" BIGINT, "ties" BIGINT, '
    f'"last_updated" {TS}, "created_at" {TS}, PRIMARY KEY ("post_slug"))',
    'CREATE INDEX IF NOT EXISTS "idx_elo_ratings_slug" ON "elo_ratings" ("post_slug")',
    'CREATE TABLE IF NOT EXISTS "comparison_history" ("comparison_id" VARCHAR, '
    '"post_a_slug" VARCHAR, "post_b_slug" VARCHAR, "winner" VARCHAR, '
    '"rating_a_before" DOUBLE PRECISION, "rating_b_before" DOUBLE PRECISION, '
    '"rating_a_after" DOUBLE PRECISION, "rating_b_after" DOUBLE PRECISION, '
    f'"timestamp" {TS}, "reader_feedback" VARCHAR, PRIMARY KEY ("comparison_id"))',
    'CREATE INDEX IF NOT EXISTS "idx_comparison_history_ts" ON "comparison_history" ("timestamp")',
    'CREATE INDEX IF NOT EXISTS "idx_comparison_history_post_a" ON "comparison_history" '
    '("post_a_slug")',
    'CREATE INDEX IF NOT EXISTS "idx_comparison_history_post_b" ON "comparison_history" '
    '("post_b_slug")',
    'CREATE TABLE IF NOT EXISTS "asset_cache" ("url" VARCHAR, "content_hash" VARCHAR, '
    '"content_type" VARCHAR, "content" BLOB, "etag" VARCHAR, "last_modified" VARCHAR, '
    f'"fetched_at" {TS}, "expires_at" {TS}, "metadata" JSON, PRIMARY KEY ("url"))',
    'CREATE INDEX IF NOT EXISTS "idx_asset_cache_url" ON "asset_cache" ("url")',
    'CREATE INDEX IF NOT EXISTS "idx_asset_cache_hash" ON "asset_cache" ("content_hash")',
    'CREATE INDEX IF NOT EXISTS "idx_asset_cache_expires" ON "asset_cache" ("expires_at")',
    'CREATE TABLE IF NOT EXISTS "document_relations" ("source_id" VARCHAR, "target_id" VARCHAR, '
    f'"relation_type" VARCHAR, "weight" DOUBLE PRECISION, "created_at" {TS}, "metadata" JSON, '
    "FOREIGN KEY (source_id) REFERENCES documents(id), "
    "FOREIGN KEY (target_id) REFERENCES documents(id), "
    "CONSTRAINT \"chk_doc_relations_type\" CHECK (relation_type IN ('mentions', 'authored_by', "
    "'reply_to', 'related_to')))",
    'CREATE INDEX IF NOT EXISTS "idx_doc_rels_source" ON "document_relations" ("source_id")',
    'CREATE INDEX IF NOT EXISTS "idx_doc_rels_target" ON "document_relations" ("target_id")',
    "CREATE INDEX IF NOT EXISTS idx_doc_rels_source_target ON document_relations(source_id, "
    "target_id)",
    "CREATE INDEX IF NOT EXISTS idx_doc_rels_target_type ON document_relations(target_id, "
    "relation_type)",
    'CREATE TABLE IF NOT EXISTS "entity_aliases" ("alias" VARCHAR, "target_id" VARCHAR, '
    f'"is_canonical" BOOLEAN, "created_at" {TS}, FOREIGN KEY (target_id) REFERENCES documents(id))',
    'CREATE INDEX IF NOT EXISTS "idx_entity_aliases_alias" ON "entity_aliases" ("alias")',
    'CREATE INDEX IF NOT EXISTS "idx_entity_aliases_target" ON "entity_aliases" ("target_id")',
)


# --- rows ---------------------------------------------------------------------------------


def _messages(bulk: int) -> tuple[str, ...]:
    small = (
        "INSERT INTO messages VALUES "
        "('ev-1', 'default', 'whatsapp', 'family', '1', TIMESTAMPTZ '2025-12-01 08:00:00+00', "
        "'Ana', 'u-ana', 'Bom dia!', NULL, NULL, '{\"kind\": \"text\"}', NULL, "
        "TIMESTAMPTZ '2025-12-02 00:00:00+00', 'run-1'), "
        "('ev-2', 'default', 'whatsapp', 'family', '2', TIMESTAMPTZ '2025-12-01 08:01:00+00', "
        "'Bia', 'u-bia', NULL, 'IMG-001.jpg', 'image', NULL, '{\"phone\": true}', "
        "TIMESTAMPTZ '2025-12-02 00:00:00+00', 'run-1'), "
        "('ev-3', 'default', 'whatsapp', 'family', '3', TIMESTAMPTZ '2025-12-01 08:02:00+00', "
        "'Ana', 'u-ana', E'two\\nlines', NULL, NULL, NULL, NULL, NULL, NULL), "
        "('ev-4', NULL, NULL, 'work', '1', TIMESTAMPTZ '2025-12-03 10:00:00+00', NULL, 'u-cid', "
        "'audio note', 'PTT-1.opus', 'audio', NULL, NULL, NULL, NULL)"
    )
    if not bulk:
        return (small,)
    return (
        small,
        f"""INSERT INTO messages SELECT 'bulk-' || i, 'default', 'whatsapp', 'thread-' || (i % 500),
            (i // 500 + 1)::VARCHAR, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i),
            'author ' || (i % 40), 'u-' || (i % 40), 'message number ' || i,
            CASE WHEN i % 20 = 0 THEN 'IMG-' || i || '.jpg' END,
            CASE WHEN i % 20 = 0 THEN 'image' END, NULL, NULL,
            TIMESTAMPTZ '2024-06-01 00:00:00+00', 'run-bulk'
            FROM range({bulk * 3}) t(i)""",
    )


def _unified_documents(bulk: int) -> tuple[str, ...]:
    small = (
        "INSERT INTO documents VALUES "
        "('hello-world', '# Hello', TIMESTAMPTZ '2026-01-20 10:00:00+00', 'sha-1', 'Hello', "
        "'hello-world', DATE '2026-01-20', 'first post', ['u-ana'], ['intro'], 'published', "
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'post', "
        '\'{"lang": "pt"}\'), '
        "('draft-1', 'wip', NULL, NULL, 'Draft', 'draft-1', NULL, NULL, [], NULL, 'draft', "
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'post', NULL), "
        "('profile-ana', 'Ana likes tea', TIMESTAMPTZ '2026-01-21 00:00:00+00', 'sha-2', 'Ana', "
        "NULL, NULL, 'bio', NULL, NULL, NULL, 'u-ana', 'ana', 'https://x/ana.png', "
        "['tea', 'maps'], NULL, NULL, NULL, NULL, NULL, NULL, 'profile', NULL), "
        "('journal-w3', 'what happened', NULL, 'sha-3', 'Week 3', NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        "TIMESTAMPTZ '2026-01-12 00:00:00+00', TIMESTAMPTZ '2026-01-18 23:59:59+00', 'journal', "
        "NULL), "
        "('media-cat', NULL, TIMESTAMPTZ '2026-01-22 00:00:00+00', 'sha-4', NULL, NULL, NULL, "
        "NULL, NULL, NULL, 'published', NULL, NULL, NULL, NULL, 'cat.jpg', 'image/jpeg', "
        "'image', 'ffe0c0a080402010', NULL, NULL, 'media', NULL)"
    )
    if not bulk:
        return (small,)
    return (
        small,
        f"""INSERT INTO documents SELECT 'doc-' || i, 'Body of post ' || i,
            TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i), md5(i::VARCHAR),
            'Post ' || i, 'post-' || i, DATE '2025-01-01' + (i % 365)::INTEGER, NULL,
            ['u-' || (i % 40)], ['tag-' || (i % 7)], 'published', NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, 'post', NULL FROM range({bulk}) t(i)""",
    )


def _indexed_staging_rows(bulk: int) -> tuple[str, ...]:
    return _messages(bulk)


def _atom_rows(bulk: int) -> tuple[str, ...]:
    del bulk
    return (
        *_messages(0),
        "INSERT INTO documents VALUES "
        "('post-1', 'Hello Atom', TIMESTAMPTZ '2025-12-20 10:00:00+00', "
        "TIMESTAMPTZ '2025-12-19 09:00:00+00', "
        '\'[{"href": "https://blog/hello", "rel": "alternate"}]\', '
        '\'[{"name": "u-ana", "email": "ana@example.org"}, {"name": "u-bia"}]\', '
        '\'[]\', \'[{"term": "intro"}, {"term": "news", "label": "News"}]\', '
        "'greeting', '# Hello', 'text/markdown', NULL, NULL, '{\"slug\": \"hello-atom\"}', "
        "'{\"window\": \"w1\"}', 'post', 'published'), "
        "('note-1', 'A note', TIMESTAMPTZ '2025-12-21 11:00:00+00', NULL, '[]', '[]', "
        "'[{\"name\": \"u-cid\"}]', '[]', NULL, 'note body', NULL, '{\"id\": \"src\"}', "
        "'{\"ref\": \"post-1\"}', '{}', '{}', 'note', 'draft'), "
        "('profile-ana', 'Ana', TIMESTAMPTZ '2025-12-22 12:00:00+00', NULL, '[]', "
        "'[{\"name\": \"u-ana\"}]', '[]', '[]', 'bio', 'Ana likes tea', NULL, NULL, NULL, "
        "'{\"subject_uuid\": \"u-ana\"}', '{}', 'profile', 'published'), "
        "('media-pic', 'pic.jpg', TIMESTAMPTZ '2025-12-23 13:00:00+00', NULL, "
        '\'[{"href": "media/pic.jpg", "rel": "enclosure", "type": "image/jpeg"}]\', '
        "'[]', '[]', '[]', NULL, NULL, NULL, NULL, NULL, '{\"filename\": \"pic.jpg\", "
        '"media_type": "image"}\', \'{"phash": "00ff"}\', \'media\', \'published\')',
        "INSERT INTO runs VALUES ('00000000-0000-0000-0000-000000000001', 'default', 'parsing', "
        "'completed', NULL, NULL, 'abc123', 'cfg', TIMESTAMPTZ '2025-12-20 10:00:00+00', "
        "TIMESTAMPTZ '2025-12-20 10:05:00+00', 100, 90, 300.5, 3, 1200, '{\"windows\": 2}', NULL)",
        "INSERT INTO annotations (parent_id, parent_type, author, commentary, created_at) VALUES "
        "('ev-1', 'message', 'writer', 'greeting noted', TIMESTAMPTZ '2025-12-20 10:00:00+00'), "
        "('1', 'annotation', 'writer', 'reply', TIMESTAMPTZ '2025-12-20 10:01:00+00')",
        "INSERT INTO elo_ratings VALUES ('post-1', 1516.0, 3, TIMESTAMPTZ '2025-12-24 00:00:00+00')",
        "INSERT INTO elo_history VALUES ('cmp-1', TIMESTAMPTZ '2025-12-24 00:00:00+00', 'post-1', "
        "'post-2', 16.0, false)",
    )


def _separate_media_rows(bulk: int) -> tuple[str, ...]:
    return (
        *_unified_documents(0),
        *_messages(0),
        "INSERT INTO tasks VALUES ('00000000-0000-0000-0000-0000000000aa', 'enrich_media', "
        "'completed', '{\"media\": \"cat.jpg\"}', TIMESTAMPTZ '2026-01-22 00:00:00+00', "
        "TIMESTAMPTZ '2026-01-22 00:01:00+00', NULL)",
        "INSERT INTO media VALUES "
        "('media-dog', NULL, TIMESTAMPTZ '2026-01-17 00:00:00+00', 'sha-m1', 'dog.png', "
        "'image/png', 'image', '0f0f0f0f0f0f0f0f'), "
        "('media-voice', 'transcript', TIMESTAMPTZ '2026-01-18 00:00:00+00', 'sha-m2', "
        "'PTT-2.opus', 'audio/ogg', 'audio', NULL), "
        "('media-cat', NULL, TIMESTAMPTZ '2026-01-22 00:00:00+00', 'sha-4', 'cat.jpg', "
        "'image/jpeg', 'image', 'ffe0c0a080402010')",
        "INSERT INTO annotations VALUES ('ann-1', 'nice', TIMESTAMPTZ '2026-01-22 00:00:00+00', "
        "'sha-a', 'hello-world', 'post', 'u-bia')",
    )


def _constrained_rows(bulk: int) -> tuple[str, ...]:
    out = [
        *_unified_documents(bulk),
        *_messages(bulk),
        "INSERT INTO tasks VALUES ('00000000-0000-0000-0000-0000000000aa', 'generate_banner', "
        "'pending', '{\"post\": \"hello-world\"}', TIMESTAMPTZ '2026-01-30 00:00:00+00', NULL, "
        "NULL)",
        "INSERT INTO annotations VALUES ('ann-1', 'nice', TIMESTAMPTZ '2026-01-30 00:00:00+00', "
        "'sha-a', 'hello-world', 'post', 'u-bia'), ('ann-2', 'who?', NULL, NULL, 'profile-ana', "
        "'annotation', NULL)",
        "INSERT INTO git_commits VALUES ('posts/hello.md', 'a1b2c3', "
        "TIMESTAMPTZ '2026-01-29 12:00:00+00', 'Ana', 'add post', 'A', "
        '\'{"insertions": 10, "deletions": 0}\')',
        "INSERT INTO git_refs VALUES ('refs/heads/main', 'a1b2c3', false, false), "
        "('refs/tags/v1', 'a1b2c3', true, false)",
        "INSERT INTO elo_ratings VALUES ('hello-world', 1516.0, 3, 2, 1, 0, "
        "TIMESTAMPTZ '2026-01-30 00:00:00+00', TIMESTAMPTZ '2026-01-29 00:00:00+00')",
        "INSERT INTO comparison_history VALUES ('cmp-1', 'hello-world', 'draft-1', 'a', 1500, "
        "1500, 1516, 1484, TIMESTAMPTZ '2026-01-30 00:00:00+00', '{\"comment\": \"clearer\"}')",
        "INSERT INTO asset_cache VALUES ('https://x/ana.png', 'sha-png', 'image/png', "
        "'\\x89PNG'::BLOB, 'W/\"1\"', NULL, TIMESTAMPTZ '2026-01-30 00:00:00+00', NULL, NULL)",
        "INSERT INTO document_relations VALUES ('hello-world', 'profile-ana', 'authored_by', 1.0, "
        "TIMESTAMPTZ '2026-01-31 00:00:00+00', NULL), ('journal-w3', 'hello-world', 'mentions', "
        "0.5, NULL, '{\"span\": [3, 9]}')",
        "INSERT INTO entity_aliases VALUES ('ana', 'profile-ana', true, "
        "TIMESTAMPTZ '2026-01-31 00:00:00+00'), ('Aninha', 'profile-ana', false, NULL)",
    ]
    if bulk:
        out.append(
            f"""INSERT INTO annotations SELECT 'bulk-ann-' || i, 'note ' || i, NULL, NULL,
                'doc-' || i, 'post', NULL FROM range({max(bulk // 100, 1)}) t(i)"""
        )
    return tuple(out)


LAYOUTS: Final[dict[str, UpstreamLayout]] = {
    layout.name: layout
    for layout in (
        UpstreamLayout(
            "indexed_staging",
            "ba6cd23715ab280445a0582f9b799eaf649537da",
            "2025-12-11",
            INDEXED_STAGING_DDL,
            _indexed_staging_rows,
        ),
        UpstreamLayout(
            "atom_documents",
            "ed9fa1bc07ce75bd3763be2a61d99e81eb9f823b",
            "2025-12-25",
            ATOM_DDL,
            _atom_rows,
        ),
        UpstreamLayout(
            "separate_media",
            "77b8e299230d06cea915343a14b324d8ffb5a1bd",
            "2026-01-22",
            SEPARATE_MEDIA_DDL,
            _separate_media_rows,
        ),
        UpstreamLayout(
            "constrained",
            "8c9055d50ca724943f230444291ea122194f0ddd",
            "2026-02-01",
            CONSTRAINED_DDL,
            _constrained_rows,
        ),
    )
}


def build(database: Path, name: str, *, bulk: int = 0) -> None:
    """Write the ``name`` layout (with its rows) into a new DuckDB file ``database``."""
    layout = LAYOUTS[name]
    database.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(database))
    try:
        for statement in (*layout.ddl, *layout.rows(bulk)):
            conn.execute(statement)
        conn.execute("CHECKPOINT")
    finally:
        conn.close()


def build_index_free_twin(database: Path, name: str, *, bulk: int = 0) -> None:
    """The same tables and rows with no index, key, CHECK or FOREIGN KEY (benchmark baseline)."""
    source = database.with_suffix(".constrained.duckdb")
    build(source, name, bulk=bulk)
    conn = duckdb.connect(str(database))
    try:
        conn.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        tables = conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' ORDER BY table_oid"
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'CREATE TABLE "{table}" AS SELECT * FROM src."{table}"')
        conn.execute("DETACH src")
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    source.unlink()


# --- upstream's ``initialize_database`` on a warehouse this project wrote -------------------

INIT_COMMIT: Final = "1123bf24361df726065653dec4c69af1a41265a9"
"""Upstream main on 2026-04-07. Every ``egregora write`` (``orchestration/pipelines/etl/
setup.py``) and the reader (``agents/reader/reader_runner.py``) call
``database/init.py`` ``initialize_database`` on open; its DDL there is unchanged since
commit 8c9055d (the ``constrained`` layout above), so :data:`CONSTRAINED_DDL` is what it
runs, plus the ``add_primary_key`` calls below."""

_ADDED_PRIMARY_KEYS: Final = {
    "documents": '"id"',
    "tasks": '"task_id"',
    "git_commits": '"commit_sha", "repo_path"',
    "git_refs": '"ref_name"',
    "elo_ratings": '"post_slug"',
    "comparison_history": '"comparison_id"',
    "asset_cache": '"url"',
}
"""``schemas.add_primary_key``, called right after each ``create_table_if_not_exists``
"to ensure the PK exists even if the table existed before": ``ALTER TABLE t ADD
CONSTRAINT "pk_<t>" PRIMARY KEY (...)``, its error (the key is already there) logged and
swallowed. On a ``documents`` this project created (no key), it adds ``PRIMARY KEY(id)``
-- which the FOREIGN KEYs of ``annotations``, ``document_relations`` and
``entity_aliases`` then need."""


def initialize_database_ddl() -> tuple[tuple[str, bool], ...]:
    """``(statement, errors_swallowed)`` in the order ``initialize_database`` runs them.

    ``create_table_if_not_exists`` on a raw DuckDB connection (``backend.con``) is
    ``CREATE TABLE IF NOT EXISTS``, so the ``documents`` and ``messages`` this project
    created are kept as they are (no CHECK added to them); the indexes, keys and the
    other tables are added beside them.
    """
    out: list[tuple[str, bool]] = []
    for statement in CONSTRAINED_DDL:
        out.append((statement, False))
        for table, columns in _ADDED_PRIMARY_KEYS.items():
            if statement.startswith(f'CREATE TABLE IF NOT EXISTS "{table}" ('):
                out.append(
                    (
                        f'ALTER TABLE "{table}" ADD CONSTRAINT "pk_{table}" '
                        f"PRIMARY KEY ({columns})",
                        True,
                    )
                )
    return tuple(out)


def initialize_database(conn: duckdb.DuckDBPyConnection) -> None:
    """Run upstream's ``initialize_database`` DDL (see :data:`INIT_COMMIT`) on ``conn``."""
    for statement, swallowed in initialize_database_ddl():
        try:
            conn.execute(statement)
        except duckdb.Error:
            if not swallowed:
                raise


def initialize_database_postgres(pg: Any) -> None:
    """The same DDL on a PostgreSQL warehouse (``pg``: an autocommit psycopg connection).

    Upstream runs it on DuckDB only; this is what a user gets who points the same
    statements at the PostgreSQL warehouse (DuckDB's ``BLOB`` is PostgreSQL's ``BYTEA``;
    everything else is spelled alike). A swallowed error is rolled back as upstream's
    autocommit statement would be.
    """
    for statement, swallowed in initialize_database_ddl():
        try:
            pg.execute(statement.replace('"content" BLOB', '"content" BYTEA'))
        except Exception:
            if not swallowed:
                raise


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def annotation_sql(annotation_id: str, parent_id: str, parent_type: str = "post") -> str:
    """An annotation as upstream's ``AnnotationStore.save_annotation`` writes it
    (``agents/shared/annotations/__init__.py`` at :data:`INIT_COMMIT`: a uuid4 id, the
    commentary in ``content``, ``source_checksum`` 'manual'); the author column is
    ``author_id`` in the table ``initialize_database`` creates."""
    return (
        "INSERT INTO annotations (id, content, created_at, source_checksum, parent_id, "
        f"parent_type, author_id) VALUES ({_literal(annotation_id)}, 'worth a second look', "
        f"TIMESTAMP WITH TIME ZONE '2026-04-07 12:00:00+00', 'manual', {_literal(parent_id)}, "
        f"{_literal(parent_type)}, 'egregora')"
    )


def relation_sql(source_id: str, target_id: str, relation_type: str = "mentions") -> str:
    """A ``document_relations`` edge (RFC 042 graph, ``DOCUMENT_RELATIONS_SCHEMA``)."""
    return (
        "INSERT INTO document_relations VALUES "
        f"({_literal(source_id)}, {_literal(target_id)}, {_literal(relation_type)}, 1.0, "
        "TIMESTAMP WITH TIME ZONE '2026-04-07 12:00:00+00', NULL)"
    )


def alias_sql(alias: str, target_id: str) -> str:
    """An ``entity_aliases`` row naming a document (``ENTITY_ALIASES_SCHEMA``)."""
    return (
        f"INSERT INTO entity_aliases VALUES ({_literal(alias)}, {_literal(target_id)}, true, "
        "TIMESTAMP WITH TIME ZONE '2026-04-07 12:00:00+00')"
    )


REFERENCING_TABLES: Final = ("annotations", "document_relations", "entity_aliases")
"""The tables ``initialize_database`` creates with FOREIGN KEYs to ``documents(id)``."""


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("upstream-layouts")
    for name in LAYOUTS:
        build(out / f"{name}.duckdb", name)
        print(out / f"{name}.duckdb")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
