"""The warehouse backends and the registry that picks one.

``--database`` / ``EGREGORA_DATABASE`` is parsed once, by :func:`parse_warehouse`,
into the :class:`~.target_base.WarehouseTarget` of the first registered backend that
claims it; every layer above receives that target and asks :func:`backend_of`
for what to do with it. To add a backend, add a package beside ``duckdb/`` and
``postgres/`` and list it in :func:`registered` (docs/backends.md, "Adding a
backend").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from egregora_pipeline.backends.base import Backend, ConnectOptions, Feature
from egregora_pipeline.backends.target_base import WarehouseTarget

if TYPE_CHECKING:
    from egregora_pipeline.backends.migration_base import MigrationImpl

__all__ = [
    "Backend",
    "ConnectOptions",
    "Feature",
    "WarehouseTarget",
    "backend_of",
    "connection_backend",
    "current_impl",
    "default_backend",
    "impl_for",
    "parse_warehouse",
    "redact",
    "registered",
]


def registered() -> tuple[Backend, ...]:
    """Every backend, most specific first: DuckDB, last, takes any path."""
    from egregora_pipeline.backends.duckdb.backend import DUCKDB
    from egregora_pipeline.backends.postgres.backend import POSTGRES

    return (POSTGRES, DUCKDB)


def parse_warehouse(value: str | Path | WarehouseTarget) -> WarehouseTarget:
    """What ``--database`` / ``EGREGORA_DATABASE`` hold, as its backend's target.

    A target is returned as is. A value a backend recognises but cannot read (a
    malformed PostgreSQL URL) raises that backend's error, with nothing secret in it.

    >>> parse_warehouse("postgresql://bob:s3cret@db.example:5433/egregora").display
    'postgresql://bob@db.example:5433/egregora'
    >>> parse_warehouse("data/egregora.duckdb")
    DuckDBTarget(path=PosixPath('data/egregora.duckdb'))
    """
    if isinstance(value, WarehouseTarget):
        return value
    text = str(value)
    for backend in registered():
        target = backend.parse(text)
        if target is not None:
            return target
    raise ValueError(f"no registered backend reads {redact(text)!r}")  # pragma: no cover


def backend_of(target: WarehouseTarget) -> Backend:
    """The backend that opens ``target``."""
    for backend in registered():
        if backend.owns(target):
            return backend
    raise TypeError(f"not a registered backend's target: {type(target).__name__}")


def connection_backend(conn: object) -> Backend:
    """The backend that opened ``conn`` (for callers holding only a connection)."""
    for backend in registered():
        if backend.owns_connection(conn):
            return backend
    raise TypeError(f"not a warehouse connection: {type(conn).__name__}")


def default_backend() -> Backend:
    """The backend a bare path means (DuckDB): the last registered, which takes any path."""
    return registered()[-1]


def current_impl() -> MigrationImpl:
    """The impl operations are being rendered for: :func:`~.migration_base.using`'s, else the
    default backend's (a revision file rendered outside a run, as ``db plan`` prints it)."""
    from egregora_pipeline.backends.migration_base import rendering_impl

    impl = rendering_impl()
    return impl if impl is not None else default_backend().migration_impl()


def impl_for(conn: object) -> MigrationImpl:
    """The migration impl of an open connection, asked of the backend that opened it."""
    return connection_backend(conn).migration_impl()


def redact(value: str | Path) -> str:
    """``value`` as it may be shown, parsed or not: no backend's secret left in it."""
    text = str(value)
    for backend in registered():
        text = backend.redact(text)
    return text
