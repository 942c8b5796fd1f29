"""``egregora_pipeline.backends.references_base`` (dispatching to each backend's
``references`` module): changing rows that other tables' FOREIGN KEYs reference.

The warehouse is ours with upstream Egregora's ``initialize_database`` applied to it
(``tests/migrations/upstream_layouts.py``, commit 1123bf243): ``documents`` gains
``PRIMARY KEY(id)`` and indexes, and ``annotations``, ``document_relations`` and
``entity_aliases`` reference ``documents(id)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import psycopg
import pytest

from egregora_pipeline.backends.duckdb.references import referencing_closure, rewritten_by_update
from egregora_pipeline.references import (
    ReferencesBrokenError,
    foreign_keys_to,
    is_fk_refusal,
    lifted_references,
    referenced,
    rekey,
)
from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
from tests.migrations.upstream_layouts import (
    alias_sql,
    annotation_sql,
    initialize_database,
    initialize_database_postgres,
    relation_sql,
)
from tests.postgres.conftest import postgres_database, postgres_server
from tests.postgres.server import PostgresServer

__all__ = ["postgres_database", "postgres_server"]

_DOC = (
    "INSERT INTO documents (id, content, created_at, source_checksum, title, slug, authors, "
    "status, doc_type) VALUES ('{id}', 'body', TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:00+00', "
    "'c1', 'T', '{id}', ARRAY['ana'], 'published', 'post')"
)


def _fill(execute: Any) -> None:
    for doc_id in ("p1", "p2", "p3"):
        execute(_DOC.format(id=doc_id))
    execute(annotation_sql("a1", "p1"))
    execute(relation_sql("p2", "p1"))
    execute(alias_sql("first", "p1"))


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    for name, table in DECLARED_TABLES.items():
        c.execute(create_table_sql(name, table.schema))
    initialize_database(c)
    c.execute("COMMENT ON TABLE annotations IS 'upstream notes'")
    c.execute("COMMENT ON COLUMN annotations.content IS 'the commentary'")
    _fill(c.execute)
    yield c
    c.close()


def _catalog(c: duckdb.DuckDBPyConnection) -> list[Any]:
    return c.execute(
        "SELECT table_name, sql, comment FROM duckdb_tables() UNION ALL "
        "SELECT index_name, sql, NULL FROM duckdb_indexes() UNION ALL "
        "SELECT table_name || '.' || column_name, NULL, comment FROM duckdb_columns() "
        "WHERE comment IS NOT NULL ORDER BY ALL"
    ).fetchall()


def test_duckdb_refuses_rewriting_a_referenced_row_and_the_lift_lets_it(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(duckdb.ConstraintException) as refused:
        conn.execute("UPDATE documents SET authors = ['bia'] WHERE id = 'p1'")
    assert is_fk_refusal(refused.value)
    before = _catalog(conn)
    children = {
        t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("annotations", "document_relations", "entity_aliases")
    }
    conn.execute("BEGIN")
    with lifted_references(conn, "documents") as lift:
        assert set(lift.names) == {"annotations", "document_relations", "entity_aliases"}
        conn.execute("UPDATE documents SET authors = ['bia'], slug = 'new' WHERE id = 'p1'")
    conn.execute("COMMIT")
    assert conn.execute("SELECT authors, slug FROM documents WHERE id = 'p1'").fetchone() == (
        ["bia"],
        "new",
    )
    assert _catalog(conn) == before  # tables, keys, indexes and comments as they were
    for table, found in children.items():
        assert conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() == found
    with pytest.raises(duckdb.ConstraintException):  # the FOREIGN KEY is back, enforced
        conn.execute(annotation_sql("a9", "no-such-document"))


def test_catalog_readers_name_the_referencing_tables_and_rewritten_columns(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    keys = foreign_keys_to(conn, "documents")
    assert {(k.table, k.columns) for k in keys} == {
        ("annotations", ("parent_id",)),
        ("document_relations", ("source_id",)),
        ("document_relations", ("target_id",)),
        ("entity_aliases", ("target_id",)),
    }
    assert referencing_closure(conn, "documents") == [
        "annotations",
        "document_relations",
        "entity_aliases",
    ]
    assert referenced(conn, "documents", "id", ["p1", "p2", "p3"]) == {
        "annotations": ["p1"],
        "document_relations": ["p1", "p2"],
        "entity_aliases": ["p1"],
    }
    rewritten = rewritten_by_update(conn, "documents")
    # lists; the key; upstream's four indexes (doc_type, slug, created_at, status)
    assert rewritten == {
        "authors",
        "tags",
        "interests",
        "id",
        "doc_type",
        "slug",
        "created_at",
        "status",
    }
    conn.execute("UPDATE documents SET content = 'edited', title = 'U' WHERE id = 'p1'")


def test_only_the_tables_holding_references_need_lifting(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    holders = referenced(conn, "documents", "id", ["p2"])
    assert holders == {"document_relations": ["p2"]}
    with lifted_references(conn, "documents", only=sorted(holders)) as lift:
        assert lift.names == ("document_relations",)
        conn.execute("UPDATE documents SET tags = ['x'] WHERE id = 'p2'")
    assert conn.execute("SELECT count(*) FROM document_relations").fetchone() == (1,)
    assert sorted(referencing_closure(conn, "documents")) == [
        "annotations",
        "document_relations",
        "entity_aliases",
    ]


def test_rekey_repoints_every_reference_in_one_transaction(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    changed = rekey(conn, "documents", {"p1": "post-one", "p2": "post-two"})
    assert changed == 4  # annotation, relation source and target, alias
    assert conn.execute("SELECT parent_id FROM annotations").fetchall() == [("post-one",)]
    assert conn.execute("SELECT source_id, target_id FROM document_relations").fetchall() == [
        ("post-two", "post-one")
    ]
    assert conn.execute("SELECT target_id FROM entity_aliases").fetchall() == [("post-one",)]
    assert conn.execute("SELECT id FROM documents ORDER BY id").fetchall() == [
        ("p3",),
        ("post-one",),
        ("post-two",),
    ]


def test_a_change_that_breaks_a_reference_is_refused_and_rolled_back(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    before = conn.execute("SELECT * FROM annotations").fetchall()
    conn.execute("BEGIN")
    with (
        pytest.raises(ReferencesBrokenError, match=r"annotations\.parent_id.*'p1'"),
        lifted_references(conn, "documents"),
    ):
        conn.execute("DELETE FROM documents WHERE id = 'p1'")
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT * FROM annotations").fetchall() == before
    assert conn.execute("SELECT count(*) FROM documents").fetchone() == (3,)


def test_outside_a_transaction_the_lift_opens_its_own(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ReferencesBrokenError), lifted_references(conn, "documents"):
        conn.execute("DELETE FROM documents WHERE id = 'p1'")
    assert conn.execute("SELECT count(*) FROM annotations").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM documents").fetchone() == (3,)


def test_grandchildren_and_generated_columns_are_lifted_too(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    conn.execute(
        "CREATE TABLE replies (id VARCHAR PRIMARY KEY, doc VARCHAR REFERENCES documents(id), "
        "n INTEGER, twice INTEGER GENERATED ALWAYS AS (n * 2))"
    )
    conn.execute("CREATE TABLE reactions (reply VARCHAR REFERENCES replies(id), emoji VARCHAR)")
    conn.execute("INSERT INTO replies (id, doc, n) VALUES ('r1', 'p1', 21)")
    conn.execute("INSERT INTO reactions VALUES ('r1', 'heart')")
    with lifted_references(conn, "documents") as lift:
        assert lift.names[-2:] == ("replies", "reactions")
        conn.execute("UPDATE documents SET tags = ['x'] WHERE id = 'p1'")
    assert conn.execute("SELECT twice FROM replies").fetchone() == (42,)
    assert conn.execute("SELECT * FROM reactions").fetchall() == [("r1", "heart")]


def test_postgres_rekey_and_lift(postgres_server: PostgresServer, postgres_database: str) -> None:
    from egregora_pipeline.backends.postgres.target import PostgresTarget
    from tests.ingestion.postgres_warehouse import with_declared_tables

    target = with_declared_tables(postgres_server.url(postgres_database))
    assert isinstance(target, PostgresTarget)
    with target.connect(autocommit=True) as pg:
        initialize_database_postgres(pg)
        _fill(pg.execute)
        # in place: PostgreSQL edits a referenced row's lists and indexed columns as it is
        pg.execute("UPDATE documents SET authors = ARRAY['bia'], slug = 'new' WHERE id = 'p1'")
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            pg.execute("UPDATE documents SET id = 'p9' WHERE id = 'p1'")
        assert referenced(pg, "documents", "id", ["p1", "p2", "p3"]) == {
            "annotations": ["p1"],
            "document_relations": ["p1", "p2"],
            "entity_aliases": ["p1"],
        }
        assert rekey(pg, "documents", {"p1": "post-one"}) == 3
        assert pg.execute("SELECT parent_id FROM annotations").fetchall() == [("post-one",)]
        assert pg.execute("SELECT target_id FROM entity_aliases").fetchall() == [("post-one",)]
        names = pg.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' ORDER BY 1"
        ).fetchall()
        assert len(names) == 4  # every FOREIGN KEY added back
        with (
            pytest.raises(ReferencesBrokenError, match=r"annotations\.parent_id"),
            lifted_references(pg, "documents"),
        ):
            pg.execute("DELETE FROM documents WHERE id = 'post-one'")
        assert pg.execute("SELECT count(*) FROM documents").fetchone() == (3,)
