"""Default values every layer shares, the backends included (which sit below the settings).

:mod:`egregora_pipeline.settings` reads the environment over these; a backend that
needs a default (how long to wait for a lock, how many backups to keep) takes it
from here, never from the settings layer above it.
"""

from __future__ import annotations

from typing import Final

DEFAULT_DATABASE: Final = "data/egregora.duckdb"
DEFAULT_INBOX: Final = "data/inbox"
DEFAULT_TIMEZONE: Final = "UTC"
DEFAULT_TENANT: Final = "default"
DEFAULT_LOCK_TIMEOUT_SECONDS: Final = 120.0
DEFAULT_BACKUP_KEEP: Final = 5
"""Automatic (pre-migration) backups kept per warehouse (``EGREGORA_BACKUP_KEEP``)."""
DEFAULT_DUCKDB_STORAGE_VERSION: Final = "v1.0.0"
"""DuckDB storage format of the files this project creates (``EGREGORA_DUCKDB_STORAGE_VERSION``):
the one DuckDB 1.4.4, Egregora's pin, writes itself, so Egregora can open them
(docs/storage-format.md)."""
