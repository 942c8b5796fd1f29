"""The declared schema, created through Ibis on DuckDB and on a real PostgreSQL, reads back as declared.

Compared by Ibis dtype: the two backends spell the same types differently
(``VARCHAR`` / ``character varying``, ``TIMESTAMP WITH TIME ZONE`` /
``timestamp with time zone``), which must never look like drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pytest

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.backends.duckdb.ibis_compat import connect_duckdb, run_raw_sql
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.schema import DECLARED_TABLES, STAGING_MESSAGES_SCHEMA, UNIFIED_SCHEMA
from egregora_pipeline.schema.compare import schema_differences
from tests.every_backend import BACKENDS, empty_warehouse, ibis_connection
from tests.postgres.server import PostgresServer


def _postgres(server: PostgresServer, database: str) -> Any:
    target = parse_warehouse(server.url(database))
    assert isinstance(target, PostgresTarget)
    return target.connect_ibis()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty warehouse through Ibis: a DuckDB file, or a fresh database on the real server."""
    con = ibis_connection(
        request.param, empty_warehouse(request.param, request, tmp_path / "warehouse.duckdb")
    )
    yield con
    con.disconnect()


@pytest.mark.parametrize("table", list(DECLARED_TABLES.values()), ids=list(DECLARED_TABLES))
def test_each_declared_table_reads_back_with_its_declared_dtypes_and_nullability(
    backend: Any, table: Any
) -> None:
    backend.create_table(table.name, schema=table.schema)

    assert table.name in backend.list_tables()
    assert schema_differences(table.schema, backend.get_schema(table.name)) == []


def test_both_backends_read_the_same_schema_although_they_name_the_types_differently(
    postgres_server: PostgresServer, postgres_database: str, tmp_path: Path
) -> None:
    duck = connect_duckdb(tmp_path / "warehouse.duckdb")
    pg = _postgres(postgres_server, postgres_database)
    for con in (duck, pg):
        con.create_table("documents", schema=UNIFIED_SCHEMA)
        con.create_table("messages", schema=STAGING_MESSAGES_SCHEMA)

    query = (
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name = 'documents' AND column_name IN ('id', 'created_at') "
        "ORDER BY column_name"
    )
    assert run_raw_sql(duck, query) == [("TIMESTAMP WITH TIME ZONE",), ("VARCHAR",)]
    assert run_raw_sql(pg, query) == [("timestamp with time zone",), ("character varying",)]
    for name in ("documents", "messages"):
        assert duck.get_schema(name) == pg.get_schema(name)
    duck.disconnect()
    pg.disconnect()


def test_a_real_difference_is_reported_on_both(backend: Any) -> None:
    backend.create_table(
        "documents",
        schema=ibis.schema({"id": "!int64", "content": "string", "created_at": "timestamp('UTC')"}),
    )

    differences = schema_differences(UNIFIED_SCHEMA, backend.get_schema("documents"))

    assert "column 'id' is !int64, declared !string" in differences
    assert "column 'created_at' is NULL, declared NOT NULL" in differences
    assert "column 'source_checksum' is missing (declared !string)" in differences
    assert not any("'content'" in difference for difference in differences)


def test_the_declared_not_null_is_enforced_by_both(backend: Any) -> None:
    backend.create_table("messages", schema=STAGING_MESSAGES_SCHEMA)
    with pytest.raises(Exception, match=r"(?i)not.null|null value"):
        run_raw_sql(backend, "INSERT INTO messages (event_id) VALUES ('e1')")
