"""Map declared Ibis types to the type names DuckDB's catalog reports.

Schema comparison (``db check``, the blocking asset checks, autogenerate)
compares *normalized DuckDB type strings* -- what ``duckdb_columns()`` says --
never driver-reported or Ibis-rendered types, because those spell the same
type several ways (``TEXT``/``VARCHAR``, ``TIMESTAMPTZ``/``TIMESTAMP WITH TIME
ZONE``) and produce false drift.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Final

from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:  # Ibis is imported by the functions that need it (normalize_type does not)
    import ibis
    import ibis.expr.datatypes as dt

_ALIASES: Final[dict[str, str]] = {
    "TEXT": "VARCHAR",
    "STRING": "VARCHAR",
    "CHAR": "VARCHAR",
    "BPCHAR": "VARCHAR",
    "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT8": "BIGINT",
    "LONG": "BIGINT",
    "INT2": "SMALLINT",
    "SHORT": "SMALLINT",
    "INT1": "TINYINT",
    "BOOL": "BOOLEAN",
    "LOGICAL": "BOOLEAN",
    "FLOAT8": "DOUBLE",
    "FLOAT4": "FLOAT",
    "REAL": "FLOAT",
    "NUMERIC": "DECIMAL",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP_US": "TIMESTAMP",
}


@functools.cache
def _scalars() -> dict[type[dt.DataType], str]:
    import ibis.expr.datatypes as dt

    return {
        dt.String: "VARCHAR",
        dt.Date: "DATE",
        dt.JSON: "JSON",
        dt.Boolean: "BOOLEAN",
        dt.Int8: "TINYINT",
        dt.Int16: "SMALLINT",
        dt.Int32: "INTEGER",
        dt.Int64: "BIGINT",
        dt.Float32: "FLOAT",
        dt.Float64: "DOUBLE",
        dt.UUID: "UUID",
        dt.Binary: "BLOB",
        dt.Time: "TIME",
    }


class UnsupportedTypeError(TypeError):
    """A declared Ibis type has no DuckDB spelling in this project."""

    def __init__(self, dtype: dt.DataType) -> None:
        super().__init__(f"no DuckDB type is mapped for Ibis type {dtype}")
        self.dtype = dtype


def duckdb_type(dtype: dt.DataType) -> str:
    """The normalized DuckDB type name for a declared Ibis type (nullability aside).

    >>> import ibis.expr.datatypes as dt
    >>> duckdb_type(dt.Array(dt.string))
    'VARCHAR[]'
    """
    import ibis.expr.datatypes as dt

    if isinstance(dtype, dt.Timestamp):
        return "TIMESTAMP WITH TIME ZONE" if dtype.timezone else "TIMESTAMP"
    if isinstance(dtype, dt.Array):
        return f"{duckdb_type(dtype.value_type)}[]"
    for ibis_type, name in _scalars().items():
        if isinstance(dtype, ibis_type):
            return name
    raise UnsupportedTypeError(dtype)


def normalize_type(reported: str) -> str:
    """Normalize a DuckDB type string so equal types compare equal.

    >>> normalize_type("text[]")
    'VARCHAR[]'
    >>> normalize_type("TIMESTAMPTZ")
    'TIMESTAMP WITH TIME ZONE'
    """
    text = re.sub(r"\s+", " ", reported.strip().upper())
    suffix = ""
    while text.endswith("[]"):
        text, suffix = text[:-2].strip(), suffix + "[]"
    base = re.sub(r"\(.*\)$", "", text).strip() if text.startswith(("VARCHAR", "CHAR")) else text
    return _ALIASES.get(base, base) + suffix


def column_definition(name: str, dtype: dt.DataType) -> str:
    """``"name" TYPE [NOT NULL]``, the DDL fragment for one declared column."""
    not_null = "" if dtype.nullable else " NOT NULL"
    return f"{quote_ident(name)} {duckdb_type(dtype)}{not_null}"


def create_table_sql(name: str, schema: ibis.Schema, *, if_not_exists: bool = False) -> str:
    """``CREATE TABLE`` for a declared table, columns in declaration order."""
    columns = ",\n    ".join(column_definition(c, t) for c, t in schema.items())
    guard = "IF NOT EXISTS " if if_not_exists else ""
    return f"CREATE TABLE {guard}{quote_ident(name)} (\n    {columns}\n)"
