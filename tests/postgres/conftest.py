"""One real PostgreSQL server per test session (per xdist worker), a fresh database per test.

The server starts only when a test asks for it, in about two seconds, and is
stopped and deleted at the end of the session; see ``tests/postgres/server.py``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.postgres.server import PostgresServer, start, stop


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL 18 with SCRAM password authentication, on loopback TCP and a socket."""
    # characters a URL must percent-encode, so the tests prove the URL form is read right
    server = start(password=f"pw:{secrets.token_hex(6)}@/?#")
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The name of a new, empty database on the session's server, dropped after the test."""
    name = f"egregora_test_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_server.url(), autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(postgres_server.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
