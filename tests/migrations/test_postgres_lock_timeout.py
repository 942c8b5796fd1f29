"""A long ``EGREGORA_LOCK_TIMEOUT`` is a long wait on PostgreSQL too, never an error.

PostgreSQL's ``lock_timeout`` holds at most 2,147,483,647 ms (about 24.8 days). A
user who sets a longer timeout to mean "wait as long as it takes" got a raw
``InvalidParameterValue`` from every command (the session setting was refused
when the connection opened), with the connection left open behind it.
"""

from __future__ import annotations

import pytest

from egregora_pipeline.migrations import MigrationConfig, check, current, upgrade
from egregora_pipeline.migrations.warehouse import open_warehouse
from tests.postgres.server import PostgresServer

LONG = 60 * 60 * 24 * 365.0
"""A year, in seconds: past what PostgreSQL's lock_timeout can hold."""


@pytest.fixture
def url(postgres_server: PostgresServer, postgres_database: str) -> str:
    return postgres_server.url(postgres_database)


def test_commands_accept_a_lock_timeout_longer_than_postgresql_holds(url: str) -> None:
    config = MigrationConfig(database=url, lock_timeout=LONG)
    upgrade(config)
    assert check(config).ok
    assert current(config) == "0002"


def test_the_session_waits_as_long_as_postgresql_can(url: str) -> None:
    with open_warehouse(url, lock_timeout=LONG) as warehouse:
        (setting,) = warehouse.conn.execute("SHOW lock_timeout").fetchone()
    assert setting == "2147483647ms"
