"""The DuckDB backend's knob read from the environment: the storage format of new files.

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

STORAGE_VERSION_ENV: Final = "EGREGORA_DUCKDB_STORAGE_VERSION"
_STORAGE_VERSION: Final = re.compile(r"v\d+\.\d+\.\d+|latest")


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
