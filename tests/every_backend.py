"""Every registered backend, for the tests that must pass on each of them.

The parametrized backend tests (``tests/migrations/test_backends.py``, the declared
schema and the Dagster location in ``tests/postgres/``) take their parameters from
the registry, :func:`egregora_pipeline.backends.registered`: a backend added there
runs them all. What a test needs of a backend that the product does not offer -- an
empty warehouse to point ``--database`` at, an Ibis connection to build tables
through -- is here, one entry per backend; a registered backend without one fails
with what to add (docs/backends.md, "Adding a backend").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from egregora_pipeline.backends import parse_warehouse, registered
from tests.postgres.server import PostgresServer

BACKENDS: tuple[str, ...] = tuple(backend.name for backend in registered())
"""The registered backends' names, the parameters of every parametrized backend test."""


def _duckdb_warehouse(request: pytest.FixtureRequest, file: Path) -> str:
    return str(file)


def _postgres_warehouse(request: pytest.FixtureRequest, file: Path) -> str:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url(request.getfixturevalue("postgres_database"))


def _duckdb_ibis(value: str) -> Any:
    from egregora_pipeline.backends.duckdb.ibis_compat import connect_duckdb

    return connect_duckdb(value)


def _postgres_ibis(value: str) -> Any:
    from egregora_pipeline.backends.postgres.target import PostgresTarget

    target = parse_warehouse(value)
    assert isinstance(target, PostgresTarget)
    return target.connect_ibis()


EMPTY_WAREHOUSES: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "duckdb": _duckdb_warehouse,
    "postgres": _postgres_warehouse,
}
"""Backend -> an empty warehouse of its own for one test, as ``--database`` takes it
(``file``: where a file backend puts it; a server backend makes a fresh database)."""
IBIS_CONNECTIONS: dict[str, Callable[[str], Any]] = {
    "duckdb": _duckdb_ibis,
    "postgres": _postgres_ibis,
}
"""Backend -> an Ibis connection to a warehouse value."""


def _entry(table: dict[str, Any], backend: str, name: str) -> Any:
    if backend not in table:
        pytest.fail(
            f"backend {backend!r} is registered but tests/every_backend.py has no {name} "
            "for it: add one, and every parametrized backend test runs on it"
        )
    return table[backend]


def empty_warehouse(backend: str, request: pytest.FixtureRequest, file: Path) -> str:
    """An empty warehouse of ``backend`` for this test: what ``--database`` takes."""
    return str(_entry(EMPTY_WAREHOUSES, backend, "EMPTY_WAREHOUSES entry")(request, file))


def ibis_connection(backend: str, value: str) -> Any:
    """An Ibis connection to the ``backend`` warehouse ``value``."""
    return _entry(IBIS_CONNECTIONS, backend, "IBIS_CONNECTIONS entry")(value)
