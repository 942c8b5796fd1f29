"""Ingesting into a PostgreSQL warehouse that carries upstream Egregora's keys and FK tables.

Upstream runs ``initialize_database`` (commit 1123bf243) on DuckDB only; a user who
applies the same DDL to the PostgreSQL warehouse
(``tests.migrations.upstream_layouts.initialize_database_postgres``) gets ``documents``
with ``PRIMARY KEY(id)``, indexes, and ``annotations``, ``document_relations``,
``entity_aliases`` referencing it. PostgreSQL updates non-key columns in place, so an
edited document is written as it is; these tests pin that, for every kind of input, as
the DuckDB variant (``test_writes_beside_egregora.py``) does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.ingestion import IngestReport
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import png_bytes
from tests.ingestion.postgres_warehouse import (
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
)
from tests.ingestion.test_writes_beside_egregora import EDITS, NEW_FILES, ROOT, _edit, _longer_chat
from tests.migrations.upstream_layouts import (
    alias_sql,
    annotation_sql,
    initialize_database_postgres,
    relation_sql,
)

__all__ = ["pg_target", "postgres_database", "postgres_server"]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    shutil.copytree(ROOT / "examples", folder, ignore=shutil.ignore_patterns("*.py"))
    return folder


@pytest.fixture
def pg_settings(tmp_path: Path) -> Settings:
    return Settings(database=tmp_path / "unused.duckdb", timezone="UTC", media_dir=tmp_path / "m")


def _run(target: PostgresTarget, paths: list[Path], settings: Settings) -> IngestReport:
    report = ingest_postgres(target, paths, settings=settings, run_id="run")
    assert [entry.error for entry in report.inputs if entry.error] == []
    return report


def _query(target: PostgresTarget, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with target.connect() as pg:
        return list(pg.execute(sql, params or None).fetchall())


def _references(target: PostgresTarget) -> list[tuple[Any, ...]]:
    return _query(
        target,
        "SELECT 'annotation', id, parent_id FROM annotations UNION ALL "
        "SELECT 'relation', source_id, target_id FROM document_relations UNION ALL "
        "SELECT 'alias', alias, target_id FROM entity_aliases ORDER BY 1, 2, 3",
    )


def _constraints(target: PostgresTarget) -> list[tuple[Any, ...]]:
    return _query(
        target,
        "SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace UNION ALL "
        "SELECT tablename, 'i', indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "ORDER BY 1, 2, 3",
    )


@pytest.fixture
def opened(pg_target: PostgresTarget, inbox: Path, pg_settings: Settings) -> dict[str, str]:
    _run(pg_target, [inbox], pg_settings)
    with pg_target.connect() as pg:
        initialize_database_postgres(pg)
        ids = {
            str(k): str(v)
            for k, v in pg.execute(
                "SELECT CASE WHEN doc_type = 'post' THEN slug WHEN doc_type = 'profile' "
                "THEN alias WHEN doc_type = 'journal' THEN 'journal' ELSE filename END, id "
                "FROM documents"
            ).fetchall()
        }
        chat_image = next(k for k in ids if k.startswith("IMG-"))
        for statement in (
            annotation_sql("ann-post", ids["meetup-recap-january"]),
            alias_sql("Ana", ids["ana"]),
            relation_sql(ids["journal"], ids["meetup-recap-january"]),
            relation_sql(ids["welcome-to-the-newsletter"], ids["logo.png"], "related_to"),
            relation_sql(ids["journal"], ids[chat_image], "related_to"),
        ):
            pg.execute(statement)
        foreign = pg.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()
        assert foreign == (4,)
    return ids


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_edit_reingest_and_add_beside_upstream_references(
    kind: str,
    pg_target: PostgresTarget,
    opened: dict[str, str],
    inbox: Path,
    pg_settings: Settings,
) -> None:
    name, old, new, key, column, value = EDITS[kind]
    references, constraints = _references(pg_target), _constraints(pg_target)
    (count,) = _query(pg_target, "SELECT count(*) FROM documents")
    _edit(inbox / name, old, new)
    new_name, new_text = NEW_FILES[kind]
    (inbox / new_name).write_text(new_text, encoding="utf-8")

    report = _run(pg_target, [inbox], pg_settings)

    assert sum(e.documents_updated for e in report.inputs) == 1
    assert sum(e.documents_added for e in report.inputs) == 1
    (edited,) = _query(pg_target, f'SELECT "{column}" FROM documents WHERE id = %s', opened[key])
    assert str(edited[0]).strip() == str(value)
    assert _query(pg_target, "SELECT count(*) FROM documents") == [(count[0] + 1,)]
    assert _references(pg_target) == references
    assert _constraints(pg_target) == constraints


def test_media_and_chats_beside_upstream_references(
    pg_target: PostgresTarget, opened: dict[str, str], inbox: Path, pg_settings: Settings
) -> None:
    references = _references(pg_target)
    (messages,) = _query(pg_target, "SELECT count(*) FROM messages")
    (inbox / "media" / "logo.png").write_bytes(png_bytes((10, 200, 10)))
    _longer_chat(inbox)
    report = _run(pg_target, [inbox], pg_settings)
    assert sum(e.messages_added for e in report.inputs) == 1
    assert sum(e.documents_added for e in report.inputs) == 1  # the edited image: a new row
    assert sum(e.documents_updated for e in report.inputs) == 0
    assert _query(pg_target, "SELECT count(*) FROM messages") == [(messages[0] + 1,)]
    assert _query(
        pg_target, "SELECT filename FROM documents WHERE id = %s", opened["logo.png"]
    ) == [("logo.png",)]
    assert _references(pg_target) == references
