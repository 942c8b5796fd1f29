"""Safe SQL text building blocks shared by every layer.

DuckDB cannot bind identifiers as parameters, so every table or column name that
reaches SQL goes through :func:`quote_ident`. Values go through query
parameters wherever DuckDB allows them; :func:`quote_literal` is for the few
places that need constant SQL text (DDL defaults, rendered plans).
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    r"""Quote ``name`` as a DuckDB identifier (doubling embedded quotes).

    >>> quote_ident('a"b')
    '"a""b"'
    """
    if "\x00" in name:
        raise ValueError("identifiers may not contain NUL characters")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    r"""Quote ``value`` as a SQL string literal (doubling embedded quotes).

    >>> quote_literal("it's")
    "'it''s'"
    """
    if "\x00" in value:
        raise ValueError("string literals may not contain NUL characters")
    return "'" + value.replace("'", "''") + "'"
