"""Fixtures for the migration engine: throwaway revision folders and legacy warehouses."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.migrations import MigrationConfig


def query(database: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` from a warehouse file, opened read-only and closed again."""
    conn = duckdb.connect(str(database), read_only=True)
    try:
        return conn.execute(sql, list(params)).fetchall()
    finally:
        conn.close()


def execute(database: Path, *statements: str) -> None:
    """Run statements on a warehouse file (creating it), then close it."""
    database.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(database))
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def columns_of(database: Path, table: str) -> dict[str, tuple[str, bool]]:
    """``{column: (data_type, is_nullable)}`` of a table, from the catalog."""
    rows = query(
        database,
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE table_name = ? ORDER BY column_index",
        [table],
    )
    return {name: (dtype, nullable) for name, dtype, nullable in rows}


def tables_of(database: Path) -> set[str]:
    return {r[0] for r in query(database, "SELECT table_name FROM duckdb_tables()")}


@pytest.fixture
def config(warehouse_path: Path) -> MigrationConfig:
    """A config for a not-yet-existing warehouse and the bundled revisions."""
    return MigrationConfig(database=warehouse_path, lock_timeout=30)


RevisionWriter = Callable[..., Path]


@pytest.fixture
def write_revision() -> RevisionWriter:
    """Write a revision file: ``write_revision(folder, "0002", "0001", upgrade_body, ...)``."""

    def write(
        folder: Path,
        revision: str,
        down_revision: str | None,
        upgrade: str = "pass",
        downgrade: str = "pass",
        *,
        slug: str = "change",
        message: str | None = None,
    ) -> Path:
        path = folder / f"{revision}_{slug}.py"
        body = textwrap.dedent(
            """\
            from egregora_pipeline.migrations.ops import Column, Operations

            revision = {revision!r}
            down_revision = {down!r}
            message = {message!r}


            def upgrade(op: Operations) -> None:
            {upgrade}


            def downgrade(op: Operations) -> None:
            {downgrade}
            """
        ).format(
            revision=revision,
            down=down_revision,
            message=message or f"test revision {revision}",
            upgrade=textwrap.indent(textwrap.dedent(upgrade).strip(), "    "),
            downgrade=textwrap.indent(textwrap.dedent(downgrade).strip(), "    "),
        )
        path.write_text(body, encoding="utf-8")
        return path

    return write


def build_legacy_v2(database: Path) -> None:
    """SCHEMA.md layout 2: separate posts/profiles/journals/media tables, no documents.

    Naive TIMESTAMP columns (as old Egregora wrote them, in UTC), arrays, an extra
    ``word_count`` column that ``documents`` has no place for, and a post whose
    status is NULL.
    """
    execute(
        database,
        """CREATE TABLE posts (id VARCHAR, content VARCHAR, created_at TIMESTAMP,
            source_checksum VARCHAR, title VARCHAR, slug VARCHAR, date DATE, summary VARCHAR,
            authors VARCHAR[], tags VARCHAR[], status VARCHAR, word_count INTEGER)""",
        """INSERT INTO posts VALUES
            ('post-1', '# Hello', TIMESTAMP '2024-01-02 03:04:05', 'sha-p1', 'Hello', 'hello',
             DATE '2024-01-02', 'greeting', ['a1', 'a2'], ['intro'], 'published', 2),
            ('post-2', 'Draft body', TIMESTAMP '2024-02-03 04:05:06', 'sha-p2', 'Later',
             'later', NULL, NULL, [], NULL, 'draft', 2),
            ('post-3', NULL, TIMESTAMP '2024-03-04 05:06:07', 'sha-p3', 'No status', 'nos',
             NULL, NULL, NULL, NULL, NULL, NULL)""",
        """CREATE TABLE profiles (id VARCHAR, content VARCHAR, created_at TIMESTAMP,
            source_checksum VARCHAR, subject_uuid VARCHAR, title VARCHAR, alias VARCHAR,
            summary VARCHAR, avatar_url VARCHAR, interests VARCHAR[])""",
        """INSERT INTO profiles VALUES
            ('profile-1', 'bio text', TIMESTAMP '2024-01-05 00:00:00', 'sha-r1', 'uuid-1',
             'Ada', 'ada', 'mathematician', 'https://x/a.png', ['math', 'engines'])""",
        """CREATE TABLE journals (id VARCHAR, content VARCHAR, created_at TIMESTAMP,
            source_checksum VARCHAR, title VARCHAR, window_start TIMESTAMP,
            window_end TIMESTAMP)""",
        """INSERT INTO journals VALUES
            ('journal-1', 'what happened', TIMESTAMP '2024-01-06 00:00:00', 'sha-j1',
             'Week 1', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-07 23:59:59'),
            ('journal-2', NULL, NULL, NULL, 'Week 2', TIMESTAMP '2024-01-08 00:00:00',
             TIMESTAMP '2024-01-14 23:59:59')""",
        """CREATE TABLE media (id VARCHAR, content VARCHAR, created_at TIMESTAMP,
            source_checksum VARCHAR, filename VARCHAR, mime_type VARCHAR, media_type VARCHAR,
            phash VARCHAR)""",
        """INSERT INTO media VALUES
            ('media-1', NULL, TIMESTAMP '2024-01-09 10:00:00', 'sha-m1', 'cat.jpg',
             'image/jpeg', 'image', 'ffe0c0a080402010')""",
    )


def build_partial_unified(database: Path, rows: int = 5) -> None:
    """SCHEMA.md layout 3: ``documents`` with only id, title, content, created_at."""
    execute(
        database,
        f"""CREATE TABLE documents AS
            SELECT 'doc-' || i AS id, 'Title ' || i AS title, 'Body ' || i AS content,
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) HOUR AS created_at
            FROM range({rows}) t(i)""",
    )


# --- both backends ----------------------------------------------------------------
# The real PostgreSQL server of tests/postgres (one per session, started on first use).
from tests.every_backend import BACKENDS, empty_warehouse  # noqa: E402
from tests.postgres.conftest import postgres_database, postgres_server  # noqa: E402, F401


@dataclass(frozen=True)
class Warehouse:
    """A warehouse of one backend for a test: what ``--database`` takes, and SQL on it."""

    backend: str
    database: Path | str
    """A DuckDB path, or a PostgreSQL URL with its password."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if isinstance(self.database, Path):
            return query(self.database, sql, params)
        with psycopg.connect(self.database, autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), list(params) or None)
            return cursor.fetchall() if cursor.description else []

    def execute(self, *statements: str) -> None:
        if isinstance(self.database, Path):
            execute(self.database, *statements)
            return
        with psycopg.connect(self.database, autocommit=True, connect_timeout=10) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def tables(self) -> set[str]:
        if self.backend == "duckdb":
            return tables_of(self.database) if Path(self.database).exists() else set()
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        return {r[0] for r in rows}

    def config(self, versions_dir: Path | None = None, **options: Any) -> MigrationConfig:
        return MigrationConfig(
            database=self.database, lock_timeout=30, versions_dir=versions_dir, **options
        )


@pytest.fixture(params=BACKENDS)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    """An empty warehouse, once on DuckDB (a file not created yet) and once on PostgreSQL
    (a fresh database on the session's real server)."""
    value = empty_warehouse(request.param, request, tmp_path / "warehouse" / "egregora.duckdb")
    is_file = parse_warehouse(value).local_folder is not None
    return Warehouse(request.param, Path(value) if is_file else value)
