# SHIM(issue 21): remove after merge
"""Old home of the impl interface: now :mod:`egregora_pipeline.backends.migration_base`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from egregora_pipeline.backends import impl_for
from egregora_pipeline.backends import migration_base as _base
from egregora_pipeline.backends.migration_base import Connection, MigrationImpl, current_dialect

__all__ = ["Connection", "MigrationImpl", "current_dialect", "impl_for", "using"]


@contextlib.contextmanager
def using(impl_or_conn: MigrationImpl | object) -> Iterator[MigrationImpl]:
    """The old form, which also took a connection."""
    impl = impl_or_conn if isinstance(impl_or_conn, MigrationImpl) else impl_for(impl_or_conn)
    with _base.using(impl) as found:
        yield found
