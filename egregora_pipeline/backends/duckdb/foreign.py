"""A database URL where a DuckDB file is expected: refused, never half-used, never shown whole.

DuckDB would read ``postgresql://...`` as a relative file name (or, through an
auto-installed extension, attach it), and a message quoting it would show its
password. So the DuckDB openers and copiers refuse any URL first, with its
password masked and what to do instead. The URL rules are every backend's
(:mod:`egregora_pipeline.backends.urls`); this package never reads another
backend's.
"""

from __future__ import annotations

from typing import Final

from egregora_pipeline.backends.urls import is_url, redact_url
from egregora_pipeline.errors import WarehouseUnusableError

NOT_A_FILE: Final = (
    "is not a file path but a database URL: this step opens one DuckDB warehouse file; a "
    "server warehouse is opened with migrations.open_warehouse (see docs/backends.md), so "
    "nothing was done"
)
"""Why a DuckDB-only opener refuses a URL; the URL itself is shown through ``redact_url``."""


def refuse_url(text: str) -> None:
    """:class:`WarehouseUnusableError` (password masked) when ``text`` is a database URL."""
    if is_url(text):
        raise WarehouseUnusableError(redact_url(text), NOT_A_FILE)
