"""Rebuild a DuckDB table with its columns in another order, nothing else changed.

The stored ``CREATE TABLE`` (``duckdb_tables().sql``) with its column definitions
reordered (NOT NULL, defaults, CHECKs and keys as they are), every row copied by
name, the old table dropped, the new one renamed, its indexes and comments
recreated: what the migration engine's column-order repair
(:mod:`egregora_pipeline.migrations.column_order`) runs, in the reconcile step's
transaction. DuckDB has no ``ALTER TABLE`` that moves a column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import duckdb

from egregora_pipeline.backends.duckdb.references import index_sql, table_sql
from egregora_pipeline.sql import quote_ident, quote_literal

q = quote_ident

SCRATCH_PREFIX: Final = "__reorder_"


def split_top_level(body: str) -> list[str]:
    """The comma-separated elements of a ``CREATE TABLE`` body (inside its parentheses),
    ignoring commas in parentheses, string literals and quoted identifiers."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == quote:
                if i + 1 < len(body) and body[i + 1] == quote:
                    i += 1  # a doubled quote inside the literal
                else:
                    quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
        i += 1
    parts.append(body[start:].strip())
    return [p for p in parts if p]


def leading_identifier(element: str) -> str:
    """The first identifier of a column definition (quoted or not)."""
    if element.startswith('"'):
        end = 1
        out = []
        while end < len(element):
            if element[end] == '"':
                if end + 1 < len(element) and element[end + 1] == '"':
                    out.append('"')
                    end += 2
                    continue
                break
            out.append(element[end])
            end += 1
        return "".join(out)
    return element.split(None, 1)[0]


def _body(sql: str, table: str) -> str:
    for spelled in (q(table), table):
        prefix = f"CREATE TABLE {spelled}("
        if sql.startswith(prefix) and sql.endswith(")"):
            return sql[len(prefix) : -1]
    raise ValueError(f"cannot read the stored definition of {table!r}: {sql[:80]!r}")


def reorder_statements(
    conn: duckdb.DuckDBPyConnection, table: str, live: Sequence[str], order: Sequence[str]
) -> list[str]:
    """The statements that rebuild ``table`` (columns ``live``) with its columns in ``order``."""
    elements = split_top_level(_body(table_sql(conn, table), table))
    by_name = {leading_identifier(e): e for e in elements}
    columns = [by_name[c] for c in order]
    constraints = [e for e in elements if leading_identifier(e) not in set(live)]
    scratch = q(SCRATCH_PREFIX + table)
    names = ", ".join(q(c) for c in order)
    statements = [
        f"CREATE TABLE {scratch}({', '.join(columns + constraints)})",
        f"INSERT INTO {scratch} ({names}) SELECT {names} FROM {q(table)}",
        f"DROP TABLE {q(table)}",
        f"ALTER TABLE {scratch} RENAME TO {q(table)}",
        *(sql for _, sql in index_sql(conn, table)),
    ]
    comment = conn.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND table_name = ?",
        [table],
    ).fetchone()
    if comment and comment[0]:
        statements.append(f"COMMENT ON TABLE {q(table)} IS {quote_literal(comment[0])}")
    for column, text in conn.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = "
        "current_database() AND schema_name = current_schema() AND table_name = ? "
        "AND comment IS NOT NULL",
        [table],
    ).fetchall():
        statements.append(f"COMMENT ON COLUMN {q(table)}.{q(column)} IS {quote_literal(text)}")
    return statements
