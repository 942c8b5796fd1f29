"""Run-scoped data checks: a run is judged on what it wrote, against the whole table.

A warehouse of 200k messages (built with one SQL insert, not by ingesting) holds an
old duplicate and an old thread out of time order. A later run writes a message
that duplicates an old one and a thread that goes back in time. The checks scoped
to that run report exactly the run's problems -- the same verdict the full-table
check gives on those rows -- and never blame the run for the old ones, which the
full-table variant still reports. On both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from egregora_pipeline.migrations import open_warehouse, upgrade_connection
from egregora_pipeline.quality import (
    FULL_TABLE,
    doc_type_rule_violations,
    duplicate_keys,
    messages_out_of_order,
    run_scope,
)
from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
from tests.postgres.conftest import postgres_database, postgres_server
from tests.postgres.server import PostgresServer

__all__ = ["postgres_database", "postgres_server"]

BIG = 200_000
NEW_RUN = "run-new"

_MESSAGE = (
    "INSERT INTO messages (event_id, tenant_id, source, thread_id, msg_id, ts, author_uuid, "
    "text, attrs, pii_flags, created_at, created_by_run) "
    "VALUES (?, 't', 'whatsapp', ?, ?, CAST(? AS TIMESTAMPTZ), 'a', 'x', '{}', '{}', now(), ?)"
)
_DOCUMENT = (
    "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title, slug) "
    "VALUES (?, now(), 'x', ?, 'post', 'T', ?)"
)


def _fill(conn: Any, *, postgres: bool) -> None:
    """BIG old messages, 50 threads of one message a minute, from 10 older runs."""
    rows = f"generate_series(0, {BIG - 1}) AS t(i)" if postgres else f"range({BIG}) AS t(i)"
    conn.execute(
        "INSERT INTO messages (event_id, tenant_id, source, thread_id, msg_id, ts, author_uuid, "
        "text, attrs, pii_flags, created_at, created_by_run) "
        "SELECT md5('e' || CAST(i AS VARCHAR)), 't', 'whatsapp', "
        f"'thread-' || CAST(i % 50 AS VARCHAR), CAST(i AS VARCHAR), "
        "TIMESTAMPTZ '2015-01-01 00:00:00+00' + i * INTERVAL '1 minute', 'a', 'x', '{}', '{}', "
        f"now(), 'run-old-' || CAST(i % 10 AS VARCHAR) FROM {rows}"
    )


@pytest.fixture(params=["duckdb", "postgres"])
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A big warehouse with two old problems, then one run that brings two new ones."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        with open_warehouse(server.url(request.getfixturevalue("postgres_database"))) as wh:
            upgrade_connection(wh.conn, "head")
            _fill(wh.conn, postgres=True)
            _problems(wh.conn)
            yield wh.conn
        return
    connection = duckdb.connect(str(tmp_path / "q.duckdb"))
    for table in DECLARED_TABLES.values():
        connection.execute(create_table_sql(table.name, table.schema))
    _fill(connection, postgres=False)
    _problems(connection)
    yield connection
    connection.close()


def _problems(conn: Any) -> None:
    # old: a duplicate event_id and a thread going back a day, both from old runs
    conn.execute(_MESSAGE, ["old-dup", "old-thread", "1", "2016-01-02 00:00:00+00", "run-old-1"])
    conn.execute(_MESSAGE, ["old-dup", "old-thread", "2", "2016-01-03 00:00:00+00", "run-old-1"])
    conn.execute(_MESSAGE, ["old-back", "old-thread", "3", "2016-01-01 00:00:00+00", "run-old-1"])
    conn.execute(_DOCUMENT, ["old-doc", "published", "old"])
    conn.execute(_DOCUMENT, ["old-doc", "published", "old"])
    # the new run: one message duplicating an old one, and a thread going back in time
    conn.execute(
        _MESSAGE, [_old_event_id(conn), "new-thread", "1", "2020-04-25 10:00:00+00", NEW_RUN]
    )
    conn.execute(_MESSAGE, ["new-a", "new-thread", "2", "2020-04-26 10:00:00+00", NEW_RUN])
    conn.execute(_MESSAGE, ["new-back", "new-thread", "3", "2020-04-20 10:00:00+00", NEW_RUN])
    conn.execute(_DOCUMENT, ["new-doc", "published", "new"])
    conn.execute(_DOCUMENT, ["new-doc", "published", "new"])
    conn.execute(_DOCUMENT, ["new-bad", "pending", "new-bad"])


def _old_event_id(conn: Any) -> str:
    row = conn.execute("SELECT event_id FROM messages WHERE msg_id = '123456'").fetchone()
    return str(row[0])


def test_the_run_scope_reports_the_duplicate_the_run_brought_and_not_the_old_one(
    conn: Any,
) -> None:
    scoped = duplicate_keys(conn, "messages", run_scope(NEW_RUN, ["new-doc"]))
    full = duplicate_keys(conn, "messages", FULL_TABLE)

    assert scoped.sample == [{"key": _old_event_id(conn), "copies": 2}]
    assert scoped.offending_rows == 1
    assert {str(row["key"]) for row in full.sample} == {_old_event_id(conn), "old-dup"}


def test_the_run_scope_reports_the_thread_the_run_put_out_of_order_and_not_the_old_one(
    conn: Any,
) -> None:
    scoped = messages_out_of_order(conn, "messages", run_scope(NEW_RUN, []))
    full = messages_out_of_order(conn, "messages", FULL_TABLE)

    assert [(r["thread_id"], r["msg_id"]) for r in scoped.sample] == [("new-thread", "3")]
    assert sorted((r["thread_id"], r["msg_id"]) for r in full.sample) == [
        ("new-thread", "3"),
        ("old-thread", "3"),
    ]


def test_the_documents_a_run_touched_are_judged_against_the_whole_table(conn: Any) -> None:
    scope = run_scope(NEW_RUN, ["new-doc", "new-bad"])

    assert duplicate_keys(conn, "documents", scope).sample == [{"key": "new-doc", "copies": 2}]
    assert {str(r["key"]) for r in duplicate_keys(conn, "documents").sample} == {
        "new-doc",
        "old-doc",
    }
    assert {r["id"] for r in doc_type_rule_violations(conn, "documents", scope).sample} == {
        "new-bad"
    }
    assert run_scope(NEW_RUN, []).label("documents") == "run"
    assert duplicate_keys(conn, "documents", run_scope(NEW_RUN, [])).ok


def test_a_run_with_too_many_documents_to_list_judges_that_table_whole(conn: Any) -> None:
    scope = run_scope(NEW_RUN, None)

    assert scope.label("documents") == "full table"
    assert scope.label("messages") == "run"
    assert {str(r["key"]) for r in duplicate_keys(conn, "documents", scope).sample} == {
        "new-doc",
        "old-doc",
    }
