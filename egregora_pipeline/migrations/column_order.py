"""The column order of ``messages`` is part of the contract: restore it when it drifted.

Upstream Egregora's enricher appends its enrichment rows to ``messages`` *by
position*: ``DuckDBStorageManager.write_table(..., mode="append")``
(``database/duckdb_manager.py``, commit 1123bf243) runs ``INSERT INTO messages SELECT
* FROM read_parquet(?)`` over rows built in declared order
(``agents/enricher.py`` ``_create_enrichment_row``). A ``messages`` whose columns are
in another order would take those rows with values in the wrong columns -- or refuse
them. ``ALTER TABLE ... ADD COLUMN`` appends, so a ``messages`` that reconcile gave a
missing column ends up out of order; :func:`plan_column_order` notices and
:class:`RestoreColumnOrder` rebuilds the table in declared order, in the reconcile
step's transaction, keeping every row, constraint, index and comment.

DuckDB only: upstream reads and writes DuckDB files, and PostgreSQL tables created by
the ``0001`` revision are in declared order already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import duckdb

from egregora_pipeline.migrations.ops import Operation
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.references import index_sql, referencing_tables, table_sql
from egregora_pipeline.sql import quote_ident, quote_literal

q = quote_ident

ORDERED_TABLES: Final = frozenset({"messages"})
"""Declared tables whose column order is part of the contract (docs/schema.md)."""
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


def target_order(live: Sequence[str], declared: Sequence[str]) -> list[str]:
    """Declared columns in declared order, then any other column where it was."""
    present = set(live)
    return [c for c in declared if c in present] + [c for c in live if c not in declared]


@dataclass(frozen=True)
class RestoreColumnOrder(Operation):
    """Rebuild ``table`` with its columns in ``order`` (declared first), nothing else changed.

    Planned by reconcile, derived from the live catalog when it runs (:meth:`prepare`):
    the stored ``CREATE TABLE`` with its column definitions reordered (NOT NULL,
    defaults, CHECKs and keys as they are), every row copied by name, the old table
    dropped, the new one renamed, its indexes and comments recreated.
    """

    table: str
    declared: tuple[str, ...]
    statements: tuple[str, ...] | None = None
    """Set by :meth:`prepare` (empty when the order is already right)."""

    def prepare(self, probe: Probe) -> Operation:
        conn = probe.catalog
        if not isinstance(conn, duckdb.DuckDBPyConnection):
            return self
        from egregora_pipeline.migrations import catalog

        live = list(catalog.columns(conn, self.table))
        order = target_order(live, self.declared)
        if order == live:
            return RestoreColumnOrder(self.table, self.declared, ())
        elements = split_top_level(_body(table_sql(conn, self.table), self.table))
        by_name = {leading_identifier(e): e for e in elements}
        columns = [by_name[c] for c in order]
        constraints = [e for e in elements if leading_identifier(e) not in set(live)]
        scratch = q(SCRATCH_PREFIX + self.table)
        names = ", ".join(q(c) for c in order)
        statements = [
            f"CREATE TABLE {scratch}({', '.join(columns + constraints)})",
            f"INSERT INTO {scratch} ({names}) SELECT {names} FROM {q(self.table)}",
            f"DROP TABLE {q(self.table)}",
            f"ALTER TABLE {scratch} RENAME TO {q(self.table)}",
            *(sql for _, sql in index_sql(conn, self.table)),
        ]
        comment = conn.execute(
            "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema() AND table_name = ?",
            [self.table],
        ).fetchone()
        if comment and comment[0]:
            statements.append(f"COMMENT ON TABLE {q(self.table)} IS {quote_literal(comment[0])}")
        for column, text in conn.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = "
            "current_database() AND schema_name = current_schema() AND table_name = ? "
            "AND comment IS NOT NULL",
            [self.table],
        ).fetchall():
            statements.append(
                f"COMMENT ON COLUMN {q(self.table)}.{q(column)} IS {quote_literal(text)}"
            )
        return RestoreColumnOrder(self.table, self.declared, tuple(statements))

    def render(self) -> list[str]:
        if self.statements is None:
            raise TypeError("a column-order rebuild is derived by prepare(probe) before render()")
        return list(self.statements)

    def python(self) -> str:
        """Planned by reconcile from the live catalog; never written into a revision."""
        raise TypeError("a column-order rebuild is planned by reconcile, not by a revision")


def plan_column_order(
    probe: Probe, table: str, live: Sequence[str], added: Sequence[str], declared: Sequence[str]
) -> tuple[RestoreColumnOrder | None, str | None]:
    """The rebuild ``table`` needs once the ``added`` columns are appended to ``live``,
    and its one-sentence action; or why it is left (a referenced table), or nothing."""
    if table not in ORDERED_TABLES or not isinstance(probe.catalog, duckdb.DuckDBPyConnection):
        return None, None
    after = [*live, *(c for c in added if c not in live)]
    if target_order(after, declared) == after:
        return None, None
    holders = referencing_tables(probe.catalog, table) if live else []
    if holders:
        return None, (
            f"{table} columns are not in declared order, and FOREIGN KEYs of "
            f"{', '.join(holders)} reference it: left as is (upstream's positional inserts "
            f"into {table} would misplace values); rebuild it in declared order by hand"
        )
    return (
        RestoreColumnOrder(table, tuple(declared)),
        f"rebuild {table} with its columns in declared order (upstream inserts by position); "
        "every row, constraint and index kept",
    )
