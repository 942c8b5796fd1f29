# SHIM(issue 21): remove after merge
"""Old home of the warehouse targets: now :mod:`egregora_pipeline.backends`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from egregora_pipeline.backends import parse_warehouse as _parse
from egregora_pipeline.backends.duckdb.target import DuckDBTarget
from egregora_pipeline.backends.postgres.target import (
    _POSTGRES_SCHEME,
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    MAX_POSTGRES_LOCK_TIMEOUT_MS,
    POSTGRES_NOT_A_FILE,
    PostgresTarget,
    WarehouseURLError,
    _scrub,
    _secrets_in,
    is_postgres_url,
    postgres_lock_timeout,
    redact_url,
)

WarehouseTarget = DuckDBTarget | PostgresTarget


def parse_warehouse(value: str | Path) -> WarehouseTarget:
    return cast(WarehouseTarget, _parse(value))


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_SECONDS",
    "MAX_POSTGRES_LOCK_TIMEOUT_MS",
    "POSTGRES_NOT_A_FILE",
    "_POSTGRES_SCHEME",
    "DuckDBTarget",
    "PostgresTarget",
    "WarehouseTarget",
    "WarehouseURLError",
    "_scrub",
    "_secrets_in",
    "is_postgres_url",
    "parse_warehouse",
    "postgres_lock_timeout",
    "redact_url",
]
