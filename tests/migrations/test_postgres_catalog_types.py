"""Drift on PostgreSQL: a type Ibis reads as a declared one but that stores values
differently is drift, and no column type of any table stops ``db check``.

Ibis's ``PostgresType`` reads ``name`` (63 bytes, longer text cut silently) and
``character`` (blank-padded: trailing spaces dropped on the way out) as ``string``,
``oid`` (unsigned 32 bits) as ``int64``, ``name[]`` as ``array<string>``, and
fails outright on the ``reg*`` types. A column read that way compared equal to its
declaration, so ``db check`` passed on a warehouse that truncates or pads what the
loader writes; a ``regclass`` column in any table of the schema made every
command that reads the catalog fail with an ``AttributeError``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.migrations import check, downgrade, revision, upgrade
from tests.migrations.conftest import Warehouse
from tests.postgres.server import PostgresServer


@pytest.fixture
def pg(postgres_server: PostgresServer, postgres_database: str) -> Warehouse:
    return Warehouse("postgres", postgres_server.url(postgres_database))


@pytest.mark.parametrize(
    ("table", "column", "pg_type", "shown"),
    [
        ("documents", "title", "name", "name"),
        ("documents", "title", "bpchar", "bpchar"),
        ("documents", "title", "character(300)", "character(300)"),
        ("documents", "tags", "name[]", "name[]"),
        ("ingest_rejections", "line_number", "oid", "oid"),
        ("documents", "title", "information_schema.sql_identifier", "information_schema"),
    ],
)
def test_a_type_that_stores_values_differently_is_drift(
    pg: Warehouse, table: str, column: str, pg_type: str, shown: str
) -> None:
    config = pg.config()
    upgrade(config)
    pg.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {pg_type} USING NULL')

    report = check(config)

    assert not report.ok
    (mismatch,) = report.tables[table].mismatched
    assert mismatch.column == column
    assert shown in mismatch.actual_type


def test_text_varchar_and_timestamptz_spellings_stay_equal(pg: Warehouse) -> None:
    config = pg.config()
    upgrade(config)
    pg.execute(
        'ALTER TABLE documents ALTER COLUMN "title" TYPE text',
        'ALTER TABLE documents ALTER COLUMN "tags" TYPE text[]',
        'ALTER TABLE documents ALTER COLUMN "window_end" TYPE timestamp(6) with time zone',
        'ALTER TABLE documents ALTER COLUMN "extensions" TYPE json',
    )
    assert check(config).ok


def test_any_column_type_in_another_table_leaves_the_check_working(pg: Warehouse) -> None:
    config = pg.config()
    upgrade(config)
    pg.execute(
        "CREATE TABLE user_notes (r regclass, p regproc, t tsvector, m money, "
        "tz time with time zone, b bit(3), x xml, h int4range)"
    )

    report = check(config)

    assert report.ok
    assert "user_notes" not in report.tables


def test_autogenerate_repairs_such_a_type_and_its_downgrade_restores_it(
    pg: Warehouse, versions_dir: Path
) -> None:
    config = pg.config(versions_dir, allow_destructive=True)
    upgrade(config)
    pg.execute('ALTER TABLE documents ALTER COLUMN "title" TYPE name')

    path = revision(config, "title back to text", autogenerate=True)
    assert 'op.alter_column_type("documents", "title", "name"' in path.read_text()
    upgrade(config)
    assert check(config).ok

    downgrade(config, "-1")
    assert pg.query(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'documents'::regclass AND attname = 'title'"
    ) == [("name",)]
