"""Compare a declared schema with one read back from a backend, by Ibis dtype.

Type *names* differ per backend for the same type (DuckDB ``VARCHAR``, PostgreSQL
``character varying`` / ``text``; ``TIMESTAMP WITH TIME ZONE`` / ``timestamptz``),
so comparing names reports false drift. Ibis reads each backend's catalog into
dtypes (``Backend.get_schema``), and dtypes are what is compared here.

One difference is not drift: a timestamp declared without a scale is stored at
the backend's native precision, which is microseconds on DuckDB and PostgreSQL,
and Ibis reads it back as ``timestamp(6)``. A declared scale of ``None`` therefore
means 6 (measured on both, see ``tests/postgres/test_declared_schema_on_both_backends.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import ibis.expr.datatypes as dt

if TYPE_CHECKING:
    import ibis

NATIVE_TIMESTAMP_SCALE: Final = 6
"""Microseconds: what DuckDB's and PostgreSQL's ``TIMESTAMP[TZ]`` store."""


def canonical(dtype: dt.DataType) -> dt.DataType:
    """``dtype`` as a backend stores it: an unscaled timestamp gets the native scale.

    >>> canonical(dt.Timestamp(timezone="UTC")) == dt.Timestamp(timezone="UTC", scale=6)
    True
    >>> canonical(dt.Array(dt.Timestamp())) == dt.Array(dt.Timestamp(scale=6))
    True
    """
    if isinstance(dtype, dt.Timestamp) and dtype.scale is None:
        return dtype.copy(scale=NATIVE_TIMESTAMP_SCALE)
    if isinstance(dtype, dt.Array):
        return dtype.copy(value_type=canonical(dtype.value_type))
    if isinstance(dtype, dt.Map):
        return dtype.copy(
            key_type=canonical(dtype.key_type), value_type=canonical(dtype.value_type)
        )
    if isinstance(dtype, dt.Struct):
        return dtype.copy(fields={name: canonical(field) for name, field in dtype.items()})
    return dtype


def schema_differences(declared: ibis.Schema, actual: ibis.Schema) -> list[str]:
    """What differs between ``declared`` and ``actual``, one sentence per column; ``[]`` if none.

    Types and nullability are compared by dtype (through :func:`canonical`), so
    the same type spelt differently by two backends is no difference.
    """
    differences: list[str] = []
    for name, wanted in declared.items():
        if name not in actual:
            differences.append(f"column {name!r} is missing (declared {wanted})")
            continue
        found = actual[name]
        if canonical(wanted.copy(nullable=True)) != canonical(found.copy(nullable=True)):
            differences.append(f"column {name!r} is {found}, declared {wanted}")
        elif wanted.nullable != found.nullable:
            wanted_null = "NULL" if wanted.nullable else "NOT NULL"
            found_null = "NULL" if found.nullable else "NOT NULL"
            differences.append(f"column {name!r} is {found_null}, declared {wanted_null}")
    differences += [
        f"column {name!r} ({actual[name]}) is not declared"
        for name in actual
        if name not in declared
    ]
    return differences
