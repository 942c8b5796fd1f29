"""How the Dagster layer places and names a warehouse: its pool, its kind, its run tag.

The shared ground of :mod:`.resources` (which builds the warehouse resource) and
:mod:`.warehouse` (what a step opens through it): both import this module and
neither imports the other at run time. Everything here is read off the
backend's attributes, never by asking which backend it is.
"""

from __future__ import annotations

from typing import Final

from egregora_pipeline.backends import WarehouseTarget, backend_of, parse_warehouse
from egregora_pipeline.defaults import DEFAULT_DATABASE

WAREHOUSE_POOL: Final = "egregora_warehouse"
"""The Dagster concurrency pool of every step that opens a single-writer warehouse.

``dagster.yaml`` gives it a limit of 1, so steps of concurrent runs queue
instead of fighting over DuckDB's file lock."""

WAREHOUSE_TAG: Final = "egregora/warehouse"
"""Run tag naming the warehouse a run writes to, in its display form (no password)."""


def warehouse_pool(target: WarehouseTarget) -> str | None:
    """``egregora_warehouse`` for a single-writer backend (a DuckDB file); none otherwise."""
    return WAREHOUSE_POOL if backend_of(target).single_writer else None


def warehouse_kind(target: WarehouseTarget) -> str:
    """The Dagster ``kinds`` tag of the warehouse assets: the backend's name."""
    return backend_of(target).name


def default_target() -> WarehouseTarget:
    """The warehouse when nothing names one (``EGREGORA_DATABASE`` unset)."""
    return parse_warehouse(DEFAULT_DATABASE)


DEFAULT_POOL: Final = warehouse_pool(default_target())
"""The pool of the default warehouse's steps (the module-level definitions use it)."""
DEFAULT_KIND: Final = warehouse_kind(default_target())
"""The ``kinds`` tag of the default warehouse's assets."""
