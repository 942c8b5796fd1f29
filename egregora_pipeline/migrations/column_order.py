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

from egregora_pipeline.backends import connection_backend, impl_for
from egregora_pipeline.migrations.ops import Operation
from egregora_pipeline.migrations.probe import Probe

ORDERED_TABLES: Final = frozenset({"messages"})
"""Declared tables whose column order is part of the contract (docs/schema.md)."""


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
        if connection_backend(conn).refusal("column_reorder") is not None:
            return self
        from egregora_pipeline.migrations import catalog

        live = list(catalog.columns(conn, self.table))
        order = target_order(live, self.declared)
        if order == live:
            return RestoreColumnOrder(self.table, self.declared, ())
        statements = impl_for(conn).reorder_columns_sql(conn, self.table, live, order)
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
    if table not in ORDERED_TABLES:
        return None, None
    if connection_backend(probe.catalog).refusal("column_reorder") is not None:
        return None, None
    after = [*live, *(c for c in added if c not in live)]
    if target_order(after, declared) == after:
        return None, None
    holders = impl_for(probe.catalog).referencing_tables(probe.catalog, table) if live else []
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
