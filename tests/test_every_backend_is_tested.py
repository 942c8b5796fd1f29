"""A backend the registry knows is a backend the parametrized backend tests run on."""

from __future__ import annotations

from egregora_pipeline.backends import registered
from tests.every_backend import BACKENDS, EMPTY_WAREHOUSES, IBIS_CONNECTIONS


def test_the_backend_tests_take_their_parameters_from_the_registry() -> None:
    assert tuple(backend.name for backend in registered()) == BACKENDS
    assert set(BACKENDS) == {"duckdb", "postgres"}


def test_every_registered_backend_has_what_the_backend_tests_need() -> None:
    assert set(BACKENDS) <= set(EMPTY_WAREHOUSES)
    assert set(BACKENDS) <= set(IBIS_CONNECTIONS)
