"""PostgreSQL's spelling of the data checks' JSON access and lenient cast.

PostgreSQL has no ``TRY_CAST``: a text that is not a whole number (of at most
18 digits, so it fits a BIGINT) becomes NULL through a pattern test instead.
"""

from __future__ import annotations

from typing import ClassVar

from egregora_pipeline.backends.checks_base import CheckDialect
from egregora_pipeline.sql import quote_ident


class PostgresChecks(CheckDialect):
    name: ClassVar[str] = "postgres"

    def json_text(self, column: str, key: str) -> str:
        return f"({quote_ident(column)} ->> '{key}')"

    def ordinal(self, column: str) -> str:
        quoted = quote_ident(column)
        return f"(CASE WHEN {quoted} ~ '^[0-9]{{1,18}}$' THEN {quoted}::BIGINT END)"
