"""Data-quality queries behind the asset checks on ``documents`` and ``messages``.

Each runs on both backends: a DuckDB file, and a PostgreSQL database migrated by
the engine (the session :func:`open_warehouse` gives the Dagster checks).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from egregora_pipeline.migrations import open_warehouse, upgrade_connection
from egregora_pipeline.quality import (
    SAMPLE_LIMIT,
    doc_type_rule_violations,
    duplicate_keys,
    row_count,
)
from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
from tests.postgres.conftest import postgres_database, postgres_server
from tests.postgres.server import PostgresServer

__all__ = ["postgres_database", "postgres_server"]

INSERT = (
    "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title, slug) "
    "VALUES (?, now(), 'x', ?, ?, ?, ?)"
)


@pytest.fixture(params=["duckdb", "postgres"])
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        with open_warehouse(server.url(request.getfixturevalue("postgres_database"))) as wh:
            upgrade_connection(wh.conn, "head")
            yield wh.conn
        return
    connection = duckdb.connect(str(tmp_path / "q.duckdb"))
    for table in DECLARED_TABLES.values():
        connection.execute(create_table_sql(table.name, table.schema))
    yield connection
    connection.close()


def test_a_clean_table_has_no_findings(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(INSERT, ["p1", "published", "post", "Title", "title"])

    assert duplicate_keys(conn, "documents").ok
    assert doc_type_rule_violations(conn).ok
    assert row_count(conn, "documents") == 1


def test_duplicate_ids_are_counted_and_sampled(conn: duckdb.DuckDBPyConnection) -> None:
    for _ in range(3):
        conn.execute(INSERT, ["same", "published", "post", "T", "t"])

    finding = duplicate_keys(conn, "documents")

    assert not finding.ok
    assert finding.offending_rows == 1
    assert finding.sample == [{"key": "same", "copies": 3}]


@pytest.mark.parametrize("duplicated", [SAMPLE_LIMIT, SAMPLE_LIMIT + 1, SAMPLE_LIMIT + 7])
def test_every_offence_is_counted_however_many_the_sample_shows(
    conn: duckdb.DuckDBPyConnection, duplicated: int
) -> None:
    for number in range(duplicated):
        for _ in range(2):
            conn.execute(INSERT, [f"id-{number}", "published", "post", "T", f"t{number}"])

    finding = duplicate_keys(conn, "documents")

    assert finding.offending_rows == duplicated
    assert len(finding.sample) == SAMPLE_LIMIT
    assert {row["copies"] for row in finding.sample} == {2}


def test_a_post_without_slug_and_with_an_unknown_status_breaks_two_rules(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    conn.execute(INSERT, ["p1", "pending", "post", "T", None])

    finding = doc_type_rule_violations(conn)

    assert finding.offending_rows >= 2
    rules = {row["rule"] for row in finding.sample}
    assert any("slug" in str(rule) for rule in rules)
    assert any("status" in str(rule) for rule in rules)


def test_undeclared_tables_are_refused(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="not a declared table"):
        row_count(conn, "documents; DROP TABLE documents")
