"""Column types as revision files and the declaration write them, read as Ibis dtypes.

A type in a revision (``Column(name, type)``, ``op.add_column(..., type_)``) is one of:

* an Ibis dtype object, e.g. ``dt.Timestamp(timezone="UTC")``;
* an Ibis type string, e.g. ``"!string"``, ``"array<string>"``, ``"timestamp('UTC')"``
  (Ibis's own grammar, ``ibis.dtype``): anything not written in capitals;
* a DuckDB type name written in capitals, e.g. ``"VARCHAR"``, ``"TIMESTAMP WITH TIME ZONE"``,
  ``"VARCHAR[]"``: the form every revision written before PostgreSQL existed uses
  (revision ``0001`` among them, whose checksum must not change). Ibis's DuckDB type
  mapper reads it, so it means on PostgreSQL what it means on DuckDB.

Each backend renders a dtype with Ibis's own type mapper (``DuckDBType`` /
``PostgresType``); this project keeps no per-backend type table. Types are compared
by dtype (:func:`same_type`), never by spelling.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Union

from egregora_pipeline.schema.duckdb_types import normalize_type

if TYPE_CHECKING:
    import ibis.expr.datatypes as dt

TypeSpec = Union[str, "dt.DataType"]
"""What a revision may write as a column type (see the module docstring)."""


def is_duckdb_spelling(spec: str) -> bool:
    """A type string in capitals is a DuckDB type name (the pre-backend revision form).

    >>> is_duckdb_spelling("TIMESTAMP WITH TIME ZONE"), is_duckdb_spelling("!string")
    (True, False)
    """
    return spec == spec.upper() and any(ch.isalpha() for ch in spec)


def to_dtype(spec: TypeSpec) -> dt.DataType:
    """The Ibis dtype a revision's type means (nullability as written in it).

    >>> str(to_dtype("VARCHAR[]")), str(to_dtype("!string"))
    ('array<string>', '!string')
    """
    import ibis.expr.datatypes as dt

    if isinstance(spec, dt.DataType):
        return spec
    return _parse(spec)


@functools.lru_cache(maxsize=512)
def _parse(spec: str) -> dt.DataType:
    """Parse once: ``db check`` compares every declared column on every call."""
    import ibis.expr.datatypes as dt
    from ibis.backends.sql.datatypes import DuckDBType

    if is_duckdb_spelling(spec):
        return DuckDBType.from_string(normalize_type(spec))
    return dt.dtype(spec)


def canonical_type(spec: TypeSpec) -> dt.DataType:
    """The dtype as a backend stores it, nullability aside (for comparisons)."""
    from egregora_pipeline.schema.compare import canonical

    return canonical(to_dtype(spec).copy(nullable=True))


def same_type(a: TypeSpec, b: TypeSpec) -> bool:
    """Whether two type specs name the same stored type (``VARCHAR`` = ``"string"`` =
    PostgreSQL ``text``; ``TIMESTAMPTZ`` = ``timestamp('UTC')``).

    A spelling Ibis cannot read falls back to comparing normalized DuckDB names, so an
    exotic type is at worst reported as drift, never silently equal.
    """
    try:
        return canonical_type(a) == canonical_type(b)
    except Exception:
        return isinstance(a, str) and isinstance(b, str) and normalize_type(a) == normalize_type(b)


def ibis_type_string(spec: TypeSpec) -> str:
    """``spec`` written in Ibis's grammar, nullable (what autogenerate and PG messages show)."""
    return str(to_dtype(spec).copy(nullable=True))
