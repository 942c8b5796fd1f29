"""Backend implementations of the migration engine (Alembic's ``impl`` pattern).

The engine talks to a :class:`~.base.MigrationImpl` for everything that differs
between backends -- catalog reading, type rendering, transactions, locking --
and never to ``duckdb`` or ``psycopg`` directly. :func:`impl_for` picks the
implementation from a connection; :mod:`egregora_pipeline.migrations.warehouse`
opens a warehouse by path or URL.
"""

from __future__ import annotations

from egregora_pipeline.migrations.impl.base import (
    Connection,
    MigrationImpl,
    current_dialect,
    impl_for,
    using,
)

__all__ = ["Connection", "MigrationImpl", "current_dialect", "impl_for", "using"]
