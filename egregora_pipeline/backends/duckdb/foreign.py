"""A PostgreSQL URL where a DuckDB file is expected: refused, never half-used, never shown whole.

DuckDB would read ``postgresql://...`` as a relative file name (or, through an
auto-installed extension, attach it), and a message quoting it would show its
password. So the DuckDB openers and copiers refuse one first, with the URL
redacted and what to do instead.

The one place the DuckDB package reads PostgreSQL's URL rules: they are light
(no driver) and live with the PostgreSQL target; asking the registry instead
would make an import circle (the registry imports this package's backend).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from egregora_pipeline.backends.postgres.target import (
    POSTGRES_NOT_A_FILE,
    is_postgres_url,
    redact_url,
)
from egregora_pipeline.errors import UnsupportedBackendError, WarehouseUnusableError

_POSTGRES: Final = re.compile(r"^postgres(?:ql)?(?:\+\w+)?:/", re.IGNORECASE)

POSTGRES_ADVICE: Final = (
    "a backup is a file, not a database URL: give --to a folder or file path and `db "
    "restore` a backup file. To back up a PostgreSQL warehouse, pass its URL as --database: "
    "`db backup` then runs pg_dump (see docs/migrations.md); base backups with WAL archiving "
    "remain the tool for point-in-time recovery."
)


def refuse_url(text: str) -> None:
    """:class:`WarehouseUnusableError` (URL redacted) when ``text`` is a PostgreSQL URL."""
    if is_postgres_url(text):
        raise WarehouseUnusableError(redact_url(text), POSTGRES_NOT_A_FILE)


def refuse_non_file(database: str | Path) -> None:
    """A PostgreSQL URL where a file is expected (a DuckDB warehouse, ``--to``, a backup
    file) is refused with what to do instead, never half-used (:mod:`..postgres.backup`
    is the PostgreSQL side)."""
    if _POSTGRES.match(str(database)):
        raise UnsupportedBackendError(redact_url(database), POSTGRES_ADVICE)
