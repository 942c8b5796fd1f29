"""DuckDB's spelling of the data checks' JSON access and lenient cast."""

from __future__ import annotations

from typing import ClassVar

from egregora_pipeline.backends.checks_base import CheckDialect
from egregora_pipeline.sql import quote_ident


class DuckDBChecks(CheckDialect):
    name: ClassVar[str] = "duckdb"

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract_string({quote_ident(column)}, '$.{key}')"

    def ordinal(self, column: str) -> str:
        return f"TRY_CAST({quote_ident(column)} AS BIGINT)"
