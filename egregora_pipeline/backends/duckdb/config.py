"""The DuckDB knobs read from the environment: memory limit and storage format of new files.

Read where the connection is opened, not only through the settings, because the
openers (:func:`.connection.connect_warehouse`, :func:`.connection.create_atomically`)
sit below every entry point that holds a :class:`~egregora_pipeline.settings.Settings`;
the settings read :func:`duckdb_storage_version` from here for their own field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Final

from egregora_pipeline.backends.env import parse_variable
from egregora_pipeline.defaults import DEFAULT_DUCKDB_STORAGE_VERSION
from egregora_pipeline.errors import EgregoraError

MEMORY_LIMIT_ENV: Final = "EGREGORA_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT: Final = "1GB"
"""``memory_limit`` of every DuckDB connection: beyond it DuckDB spills to the
connection's ``temp_directory``. With Python, Dagster and the parser around it, a
run then peaks well under 1.5 GB. Any DuckDB size (``512MB``, ``2GB``) in
``EGREGORA_DUCKDB_MEMORY_LIMIT``. A big chat loads under its own limit
(``EGREGORA_CHAT_MEMORY_LIMIT``, :mod:`egregora_pipeline.ingestion.whatsapp.budget`)."""
STORAGE_VERSION_ENV: Final = "EGREGORA_DUCKDB_STORAGE_VERSION"
_SIZE: Final = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)
_STORAGE_VERSION: Final = re.compile(r"v\d+\.\d+\.\d+|latest")


class InvalidMemoryLimitError(EgregoraError):
    """``EGREGORA_DUCKDB_MEMORY_LIMIT`` is not a size DuckDB reads."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"{MEMORY_LIMIT_ENV}={value!r} is not usable: expected a DuckDB size such as "
            f"1GB or 512MB (default {DEFAULT_MEMORY_LIMIT})"
        )


def memory_limit(environ: Mapping[str, str] | None = None) -> str:
    """``EGREGORA_DUCKDB_MEMORY_LIMIT``, else the default; refused if DuckDB cannot read it."""
    env = os.environ if environ is None else environ
    limit = env.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
    if not _SIZE.match(limit):
        raise InvalidMemoryLimitError(limit)
    return limit


def _storage_version(raw: str) -> str:
    value = raw.strip()
    if not _STORAGE_VERSION.fullmatch(value):
        raise ValueError(raw)
    return value


def duckdb_storage_version(environ: Mapping[str, str] | None = None) -> str:
    """``EGREGORA_DUCKDB_STORAGE_VERSION``: the storage format new DuckDB files are written in.

    Read on its own (not only through ``Settings.from_env``) because the one
    place that creates a warehouse file, :func:`.connection.create_atomically`,
    is below every entry point that holds a ``Settings``.
    """
    env = os.environ if environ is None else environ
    return parse_variable(
        env,
        STORAGE_VERSION_ENV,
        DEFAULT_DUCKDB_STORAGE_VERSION,
        _storage_version,
        "a DuckDB version such as v1.0.0, v1.4.0 or v2.0.0, or latest",
    )
