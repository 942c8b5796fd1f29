"""Warehouses upstream Egregora's own code produced (docs/schema.md layouts 6-10) are adopted
with nothing lost: every row of every table, every key, CHECK, FOREIGN KEY, index and sequence.

The files are rebuilt by :mod:`tests.migrations.upstream_layouts` from the DDL upstream
emitted at the named commits, with rows in every table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.migrations import MigrationConfig, check, plan, upgrade
from egregora_pipeline.migrations.errors import DryRunFailedError, StrictAdoptionError
from egregora_pipeline.migrations.reconcile import BACKFILLS, RULE_BACKFILLS
from egregora_pipeline.quality import doc_type_rule_violations
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import png_bytes
from tests.migrations.conftest import RevisionWriter, execute, query
from tests.migrations.upstream_layouts import LAYOUTS, build

RENAMED: Mapping[str, Mapping[str, str]] = {
    "atom_documents": {"documents": "legacy_atom_documents"},
    "separate_media": {"media": "legacy_media"},
}
"""Tables adoption renames out of the way (kept untouched under the new name)."""

BOOKKEEPING = {"egregora_migrations", "egregora_widened_checks", "ingest_rejections"}


@dataclass(frozen=True)
class Snapshot:
    """Every table's columns and rows, and the catalog's constraints, indexes, sequences."""

    tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
    constraints: set[tuple[str, str, str]]
    indexes: set[tuple[str, str, str]]
    sequences: set[tuple[Any, ...]]


def snapshot(database: Path) -> Snapshot:
    conn = duckdb.connect(str(database), read_only=True)
    try:
        tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {}
        for (name,) in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            cursor = conn.execute(f'SELECT * FROM "{name}"')
            columns = tuple(d[0] for d in cursor.description)
            tables[name] = (columns, sorted(cursor.fetchall(), key=repr))
        constraints = {
            (str(t), str(k), str(x))
            for t, k, x in conn.execute(
                "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints()"
            ).fetchall()
        }
        indexes = {
            (str(n), str(t), str(s))
            for n, t, s in conn.execute(
                "SELECT index_name, table_name, sql FROM duckdb_indexes()"
            ).fetchall()
        }
        sequences = set(
            conn.execute(
                "SELECT sequence_name, start_value, increment_by, min_value, max_value, cycle, "
                "last_value FROM duckdb_sequences()"
            ).fetchall()
        )
        return Snapshot(tables, constraints, indexes, sequences)
    finally:
        conn.close()


def _widened(database: Path) -> dict[tuple[str, str], str]:
    if "egregora_widened_checks" not in snapshot(database).tables:
        return {}
    rows = query(database, "SELECT table_name, old_check, new_check FROM egregora_widened_checks")
    return {(t, old): new for t, old, new in rows}


def assert_nothing_lost(layout: str, before: Snapshot, after: Snapshot, database: Path) -> None:
    """Value by value: every table and every catalog entry of ``before`` is in ``after``."""
    renamed = RENAMED.get(layout, {})
    for table, (columns, rows) in before.tables.items():
        target = renamed.get(table, table)
        assert target in after.tables, f"{table} is gone"
        after_columns, after_rows = after.tables[target]
        if target != table or table not in ("documents", "messages"):
            assert (after_columns, after_rows) == (columns, rows), f"{table} changed"
            continue
        assert after_columns[: len(columns)] == columns, f"{table}: columns reordered"
        key = 0
        old = {r[key]: r for r in rows}
        new = {r[key]: r[: len(columns)] for r in after_rows if r[key] in old}
        assert set(new) == set(old), f"{table}: rows lost"
        for ident, row in old.items():
            for column, was, now in zip(columns, row, new[ident], strict=True):
                documented = (table, column) in BACKFILLS or (table, column) in RULE_BACKFILLS
                if was is None and documented:
                    continue
                assert now == was, f"{table}.{column} of {ident!r}: {was!r} became {now!r}"
    widened = _widened(database)
    for table, kind, text in before.constraints:
        target = renamed.get(table, table)
        if (table, text) in widened:
            literals = re.findall(r"'[^']*'", text)
            assert any(
                t == target and k == kind and all(v in x for v in literals) and "'document'" in x
                for t, k, x in after.constraints
            ), f"widened {text} of {table} is not there"
            continue
        assert (target, kind, text) in after.constraints, f"{kind} {text} of {table} is gone"
    for name, table, sql in before.indexes:
        assert (name, renamed.get(table, table), sql) in after.indexes, f"index {name} is gone"
    assert before.sequences == after.sequences
    assert not [t for t in after.tables if t.startswith("__batch_")], "scratch tables left"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_upstream_layout_is_adopted_with_nothing_lost(
    config: MigrationConfig, layout: str
) -> None:
    build(config.database, layout)
    before = snapshot(config.database)

    result = upgrade(config)

    assert [a.revision_id for a in result.applied] == ["0001", "0002"]
    assert check(config).ok, check(config).render()
    assert plan(config).is_empty, plan(config).sql()
    assert_nothing_lost(layout, before, snapshot(config.database), config.database)
    new_tables = set(snapshot(config.database).tables) - set(before.tables)
    assert new_tables <= BOOKKEEPING | {"documents"} | set(RENAMED.get(layout, {}).values())


def test_constrained_documents_are_rebuilt_in_batch_and_their_dependents_restored(
    config: MigrationConfig,
) -> None:
    build(config.database, "constrained")

    result = upgrade(config)

    batch = [a for a in result.reconcile_actions if "batch mode" in a]
    assert any(
        a.startswith("adopt: rebuild documents in batch mode")
        and "idx_documents_type" in a
        and "annotations, document_relations, entity_aliases" in a
        for a in batch
    ), batch
    assert any(a.startswith("adopt: rebuild messages in batch mode") for a in batch), batch
    assert any("__batch_saved_annotations" in s for s in result.statements)
    conn = duckdb.connect(str(config.database))
    try:
        with pytest.raises(duckdb.ConstraintException, match="foreign key"):
            conn.execute(
                "INSERT INTO annotations (id, parent_id, parent_type) VALUES ('x', 'nope', 'post')"
            )
        with pytest.raises(duckdb.ConstraintException):
            conn.execute("INSERT INTO messages SELECT * FROM messages WHERE event_id = 'ev-1'")
    finally:
        conn.close()


def test_a_check_that_excludes_document_media_is_widened_and_its_old_text_kept(
    config: MigrationConfig,
) -> None:
    build(config.database, "constrained")

    result = upgrade(config)

    widened = _widened(config.database)
    old = "CHECK(((doc_type != 'media') OR (media_type IN ('image', 'video', 'audio'))))"
    assert ("documents", old) in widened
    assert "'document'" in widened[("documents", old)]
    assert any("widen CHECK on messages" in a for a in result.reconcile_actions)
    conn = duckdb.connect(str(config.database))
    try:
        conn.execute(
            "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, filename, "
            "media_type) VALUES ('pdf', now(), 'c', 'published', 'media', 'a.pdf', 'document')"
        )
        with pytest.raises(duckdb.ConstraintException, match="CHECK"):
            conn.execute(
                "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, "
                "filename, media_type) VALUES ('gif', now(), 'c', 'published', 'media', 'a', "
                "'sticker')"
            )
    finally:
        conn.close()


def test_strict_adoption_refuses_a_contradicting_check_and_changes_nothing(
    config: MigrationConfig,
) -> None:
    build(config.database, "constrained")
    digest = hashlib.sha256(config.database.read_bytes()).hexdigest()
    strict = MigrationConfig(config.database, lock_timeout=30, strict_adoption=True)

    with pytest.raises(StrictAdoptionError) as caught:
        upgrade(strict)

    assert "media_type IN ('image', 'video', 'audio')" in str(caught.value)
    assert "--strict-adoption" in str(caught.value)
    assert hashlib.sha256(config.database.read_bytes()).hexdigest() == digest


def test_the_atom_layout_is_converted_and_its_original_kept(config: MigrationConfig) -> None:
    build(config.database, "atom_documents")
    planned = plan(config)

    result = upgrade(config)

    assert any("copied its 4 row(s)" in a for a in planned.reconcile_actions), "dry run counts"

    assert result.adopted_layout == "atom_documents"
    post = query(
        config.database,
        "SELECT authors, tags, slug, date, created_at, source_checksum, extensions "
        "FROM documents WHERE id = 'post-1'",
    )[0]
    assert post[:4] == (["u-ana", "u-bia"], ["intro", "news"], "hello-atom", dt.date(2025, 12, 19))
    assert post[5] == "unknown"
    atom = json.loads(post[6])["atom"]
    assert atom["authors"][0] == {"name": "u-ana", "email": "ana@example.org"}
    assert atom["links"] == [{"href": "https://blog/hello", "rel": "alternate"}]
    assert query(config.database, "SELECT count(*) FROM legacy_atom_documents") == [(4,)]
    assert doc_type_rule_violations(duckdb.connect(str(config.database), read_only=True)).ok


def test_the_separate_media_table_is_folded_into_documents(config: MigrationConfig) -> None:
    build(config.database, "separate_media")

    result = upgrade(config)

    assert result.adopted_layout == "separate_media"
    media = query(
        config.database,
        "SELECT id, filename, media_type, source_checksum FROM documents "
        "WHERE doc_type = 'media' ORDER BY id",
    )
    assert media == [
        ("media-cat", "cat.jpg", "image", "sha-4"),
        ("media-dog", "dog.png", "image", "sha-m1"),
        ("media-voice", "PTT-2.opus", "audio", "sha-m2"),
    ]
    assert any("1 row(s) whose id documents already held" in a for a in result.reconcile_actions)
    assert query(config.database, "SELECT count(*) FROM legacy_media") == [(3,)]
    undo = "json_extract_string(extensions, '$.adopted_from') = 'legacy_media'"
    assert query(config.database, f"SELECT id FROM documents WHERE {undo} ORDER BY id") == [
        ("media-dog",),
        ("media-voice",),
    ]


def _chat_zip(path: Path) -> Path:
    chat = (
        "02/02/2026, 09:00 - Ana: oi\n"
        "02/02/2026, 09:01 - Ana: IMG-20260202-WA0001.png (file attached)\n"
        "02/02/2026, 09:02 - Bia: DOC-20260202-WA0002.pdf (file attached)\n"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("WhatsApp Chat with Family.txt", chat)
        archive.writestr("IMG-20260202-WA0001.png", png_bytes())
        archive.writestr("DOC-20260202-WA0002.pdf", b"%PDF-1.4 minutes")
    return path


@pytest.mark.parametrize("layout", ["constrained", "atom_documents", "separate_media"])
def test_after_adoption_a_chat_with_attachments_and_a_post_ingest(
    config: MigrationConfig, tmp_path: Path, layout: str
) -> None:
    build(config.database, layout)
    upgrade(config)
    post = tmp_path / "content" / "posts" / "adopted.md"
    post.parent.mkdir(parents=True)
    post.write_text("---\ntitle: After adoption\ndate: 2026-02-02\n---\nBody.\n", encoding="utf-8")
    settings = Settings(database=config.database, timezone="UTC", media_dir=tmp_path / "m")

    conn = duckdb.connect(str(config.database))
    try:
        report = ingest(
            conn,
            [_chat_zip(tmp_path / "chat.zip"), post.parent.parent],
            settings=settings,
            run_id="after-adoption",
        )
        assert report.ok, report
        kinds = dict(
            conn.execute(
                "SELECT media_type, count(*) FROM messages WHERE created_by_run = 'after-adoption' "
                "AND media_type IS NOT NULL GROUP BY ALL"
            ).fetchall()
        )
        assert kinds == {"image": 1, "document": 1}
        assert conn.execute(
            "SELECT count(*) FROM documents WHERE slug = 'adopted' OR title = 'After adoption'"
        ).fetchone() == (1,)
        assert doc_type_rule_violations(conn).ok
        post.write_text("---\ntitle: After adoption\nstatus: draft\n---\nEdited.\n", "utf-8")
        again = ingest(conn, [post.parent.parent], settings=settings, run_id="edit")
        assert again.ok, again
        assert again.inputs[0].documents_updated == 1, "an indexed, referenced table updates"
    finally:
        conn.close()
    assert check(config).ok
    assert plan(config).is_empty


def test_plan_names_the_rebuilds_and_never_touches_the_file(config: MigrationConfig) -> None:
    build(config.database, "constrained")
    digest = hashlib.sha256(config.database.read_bytes()).hexdigest()

    text = plan(config).sql()

    assert "-- rebuild documents in batch mode (indexes idx_documents_created" in text
    assert "FOREIGN KEYs of annotations, document_relations, entity_aliases reference it" in text
    assert 'CREATE TABLE "__batch_saved_annotations" AS SELECT * FROM "annotations"' in text
    assert hashlib.sha256(config.database.read_bytes()).hexdigest() == digest


def test_a_dry_run_that_would_fail_says_so_and_never_says_rolled_back(
    tmp_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    database = tmp_path / "w.duckdb"
    config = MigrationConfig(database, lock_timeout=30, versions_dir=versions_dir)
    upgrade(config)
    write_revision(versions_dir, "0002", "0001", 'op.execute("SELECT * FROM no_such_table")')

    with pytest.raises(DryRunFailedError) as caught:
        plan(config)

    message = str(caught.value)
    assert "would fail" in message
    assert "no_such_table" in message
    assert "rolled back" not in message
    assert "nothing was attempted" in message


def test_a_revision_altering_an_indexed_table_runs_in_batch_and_a_plain_one_in_place(
    tmp_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    database = tmp_path / "w.duckdb"
    config = MigrationConfig(database, lock_timeout=30, versions_dir=versions_dir)
    write_revision(
        versions_dir,
        "0002",
        "0001",
        """op.execute("CREATE TABLE plain (k VARCHAR, v VARCHAR)")
op.execute("INSERT INTO plain VALUES ('a', 'x')")
op.execute("CREATE TABLE keyed (k VARCHAR PRIMARY KEY, v VARCHAR)")
op.execute("CREATE INDEX keyed_v ON keyed (v)")
op.execute("CREATE SEQUENCE child_seq START 10")
op.execute("CREATE TABLE child (n BIGINT DEFAULT nextval('child_seq'), k VARCHAR REFERENCES keyed (k), note VARCHAR)")
op.execute("INSERT INTO keyed VALUES ('a', 'x'), ('b', 'y')")
op.execute("INSERT INTO child (k, note) VALUES ('a', 'first'), ('b', NULL)")""",
    )
    upgrade(config)
    write_revision(
        versions_dir,
        "0003",
        "0002",
        """op.set_not_null("plain", "v")
op.set_not_null("keyed", "v")""",
    )

    result = upgrade(config)

    plain = [s for s in result.statements if '"plain"' in s]
    assert plain == ['ALTER TABLE "plain" ALTER COLUMN "v" SET NOT NULL'], "fast path: in place"
    assert 'CREATE TABLE "__batch_saved_child" AS SELECT * FROM "child"' in result.statements
    assert query(database, "SELECT * FROM child ORDER BY k") == [
        (10, "a", "first"),
        (11, "b", None),
    ]
    execute(database, "INSERT INTO child (k) VALUES ('a')")
    assert query(database, "SELECT max(n) FROM child") == [(12,)], "the sequence went on"
    assert query(database, "SELECT index_name FROM duckdb_indexes()") == [("keyed_v",)]
    assert query(
        database,
        "SELECT is_nullable FROM duckdb_columns() WHERE table_name = 'keyed' AND column_name = 'v'",
    ) == [(False,)]


def test_an_adoption_killed_at_any_moment_leaves_the_file_before_or_after_it(
    tmp_path: Path, versions_dir: Path
) -> None:
    """SIGKILL during the batch adoption of the newest upstream layout: the file holds either
    exactly what it held before (every table and catalog entry) or the complete adoption."""
    import contextlib
    import os
    import random
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO_ROOT

    original = tmp_path / "original.duckdb"
    build(original, "constrained", bulk=5_000)
    before = snapshot(original)
    child = Path(__file__).with_name("upgrade_child.py")
    server = subprocess.Popen(
        # the adoption (0001) alone: a later revision is a transaction of its own
        [sys.executable, str(child), "--fork-server", str(versions_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    rng = random.Random(20261130)
    outcomes: list[str] = []
    try:
        assert server.stdout.readline().strip() == "ready"
        for attempt in range(10):
            database = tmp_path / f"kill-{attempt}.duckdb"
            shutil.copy(original, database)
            server.stdin.write(f"{database}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            time.sleep(rng.uniform(0.05, 1.2))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            assert server.stdout.readline().strip() == "done"

            after = snapshot(database)
            config = MigrationConfig(database, lock_timeout=30, versions_dir=versions_dir)
            if "egregora_migrations" in after.tables:
                outcomes.append("after")
                assert check(config).ok, f"attempt {attempt}: {check(config).render()}"
                assert_nothing_lost("constrained", before, after, database)
            else:
                outcomes.append("before")
                assert after == before, f"attempt {attempt}: changed without bookkeeping"
                upgrade(config)
                assert check(config).ok
                assert_nothing_lost("constrained", before, snapshot(database), database)
    finally:
        server.stdin.close()
        server.wait(timeout=60)
    assert "before" in outcomes, outcomes


def test_reconcile_adds_a_not_null_column_to_a_referenced_table_in_batch(
    config: MigrationConfig,
) -> None:
    """Bookkeeping at head, but ``documents`` lacks ``status`` and is referenced by a
    FOREIGN KEY and indexed: the NOT NULL column goes in through the batch mode."""
    build(config.database, "constrained")
    upgrade(config)
    conn = duckdb.connect(str(config.database))
    try:
        conn.execute("CREATE TABLE keep AS SELECT * FROM documents")
        conn.execute("DROP TABLE entity_aliases")
        conn.execute("DROP TABLE document_relations")
        conn.execute("CREATE TABLE ann_copy AS SELECT * FROM annotations")
        conn.execute("DROP TABLE annotations")
        conn.execute("DROP TABLE documents")
        conn.execute("CREATE TABLE documents AS SELECT * EXCLUDE (status) FROM keep WHERE false")
        conn.execute("ALTER TABLE documents ADD PRIMARY KEY (id)")
        conn.execute("INSERT INTO documents SELECT * EXCLUDE (status) FROM keep")
        conn.execute("CREATE INDEX idx_documents_slug ON documents (slug)")
        conn.execute(
            "CREATE TABLE annotations (id VARCHAR, parent_id VARCHAR REFERENCES documents (id))"
        )
        conn.execute("INSERT INTO annotations SELECT id, parent_id FROM ann_copy")
        conn.execute("DROP TABLE keep")
        conn.execute("DROP TABLE ann_copy")
    finally:
        conn.close()
    assert not check(config).ok

    result = upgrade(config)

    assert any(
        a.startswith("alter documents in batch mode") and "annotations" in a
        for a in result.reconcile_actions
    ), result.reconcile_actions
    assert check(config).ok
    assert query(config.database, "SELECT count(*) FROM annotations") == [(2,)]
    assert query(config.database, "SELECT DISTINCT status FROM documents") == [("published",)]
    assert ("idx_documents_slug",) in query(
        config.database, "SELECT index_name FROM duckdb_indexes()"
    )


def test_the_dagster_ingest_job_adopts_the_newest_upstream_file_and_says_what_it_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egregora_pipeline.definitions import defs
    from egregora_pipeline.orchestration.local_run import run_ingest_job

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    database = tmp_path / "wh" / "egregora.duckdb"
    settings = Settings.from_env(environ={}, database=database, inbox=tmp_path / "inbox")
    build(database, "constrained")
    post = tmp_path / "in" / "posts" / "dagster.md"
    post.parent.mkdir(parents=True)
    post.write_text("---\ntitle: Via Dagster\n---\nBody.\n", encoding="utf-8")

    outcome = run_ingest_job(defs, [_chat_zip(tmp_path / "chat.zip"), post.parent], settings)

    assert outcome.success, outcome.failures
    assert outcome.failed_checks == []
    actions = outcome.schema["reconcile_actions"]
    assert any("rebuild documents in batch mode" in a for a in actions), actions
    assert any("widen CHECK on messages" in a for a in actions), actions
    assert outcome.schema["adopted_layout"] == "upstream_constrained"


def test_a_widened_check_can_be_restored_by_a_revision_that_rebuilds_the_table(
    tmp_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    """The documented undo: ``op.rebuild_table`` with the old CHECK from the bookkeeping,
    then its indexes; the batch mode saves and recreates the referencing tables around it."""
    database = tmp_path / "w.duckdb"
    config = MigrationConfig(database, lock_timeout=30, versions_dir=versions_dir)
    build(database, "constrained")
    upgrade(config)
    before = snapshot(database)
    columns = query(
        database,
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE table_name = 'documents' ORDER BY column_index",
    )
    checks = [
        text
        for (text,) in query(
            database,
            "SELECT constraint_text FROM duckdb_constraints() WHERE table_name = 'documents' "
            "AND constraint_type = 'CHECK'",
        )
        if "'document'" not in text
    ]
    (old,) = [o for (t, o) in _widened(database) if t == "documents"]
    listed = "".join(
        f"\n        Column({n!r}, {t!r}, {bool(nullable)!r})," for n, t, nullable in columns
    )
    write_revision(
        versions_dir,
        "0002",
        "0001",
        f"op.rebuild_table(\n    'documents',\n    [{listed}\n    ],\n"
        f"    constraints={['PRIMARY KEY (id)', *checks, old]!r},\n)\n"
        + "".join(
            f"op.create_index({name!r}, 'documents', [{column!r}])\n"
            for name, column in (
                ("idx_documents_type", "doc_type"),
                ("idx_documents_slug", "slug"),
                ("idx_documents_created", "created_at"),
                ("idx_documents_status", "status"),
            )
        ),
    )

    result = upgrade(config)

    assert any("__batch_saved_document_relations" in s for s in result.statements)
    after = snapshot(database)
    for table in ("annotations", "document_relations", "entity_aliases", "messages"):
        assert after.tables[table] == before.tables[table]
    assert after.tables["documents"] == before.tables["documents"]
    assert {(n, t) for n, t, _ in before.indexes} == {(n, t) for n, t, _ in after.indexes}
    conn = duckdb.connect(str(database))
    try:
        with pytest.raises(duckdb.ConstraintException, match="CHECK"):
            conn.execute(
                "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, "
                "filename, media_type) VALUES ('pdf', now(), 'c', 'published', 'media', 'a.pdf', "
                "'document')"
            )
    finally:
        conn.close()


def test_batch_mode_rebuilds_a_fork_in_the_foreign_key_graph_parents_first(
    tmp_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    """``y`` references both ``a`` and ``x``; ``x`` is two steps from ``t``: y comes last."""
    database = tmp_path / "w.duckdb"
    config = MigrationConfig(database, lock_timeout=30, versions_dir=versions_dir)
    write_revision(
        versions_dir,
        "0002",
        "0001",
        """op.execute("CREATE TABLE t (k VARCHAR PRIMARY KEY, v VARCHAR)")
op.execute("CREATE TABLE a (k VARCHAR PRIMARY KEY REFERENCES t (k))")
op.execute("CREATE TABLE b (k VARCHAR PRIMARY KEY REFERENCES t (k))")
op.execute("CREATE TABLE x (k VARCHAR PRIMARY KEY REFERENCES b (k))")
op.execute("CREATE TABLE y (ka VARCHAR REFERENCES a (k), kx VARCHAR REFERENCES x (k))")
op.execute("INSERT INTO t VALUES ('1', 'v')")
op.execute("INSERT INTO a VALUES ('1')")
op.execute("INSERT INTO b VALUES ('1')")
op.execute("INSERT INTO x VALUES ('1')")
op.execute("INSERT INTO y VALUES ('1', '1')")""",
    )
    upgrade(config)
    write_revision(versions_dir, "0003", "0002", 'op.set_not_null("t", "v")')

    upgrade(config)

    for table in ("t", "a", "b", "x", "y"):
        assert query(database, f"SELECT count(*) FROM {table}") == [(1,)], table
    assert query(
        database,
        "SELECT is_nullable FROM duckdb_columns() WHERE table_name = 't' AND column_name = 'v'",
    ) == [(False,)]
    assert check(config).ok
