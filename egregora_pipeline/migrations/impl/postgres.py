# SHIM(issue 21): remove after merge
"""Old home of the PostgreSQL impl: now :mod:`egregora_pipeline.backends.postgres.connection`
(session, advisory lock) and :mod:`egregora_pipeline.backends.postgres.migration`."""

from egregora_pipeline.backends.postgres.connection import (
    APPLICATION_NAME,
    LOCK_KEY,
    LOCK_NAME,
    PgConnection,
    connect,
    migration_lock,
)
from egregora_pipeline.backends.postgres.migration import PostgresImpl

__all__ = [
    "APPLICATION_NAME",
    "LOCK_KEY",
    "LOCK_NAME",
    "PgConnection",
    "PostgresImpl",
    "connect",
    "migration_lock",
]
