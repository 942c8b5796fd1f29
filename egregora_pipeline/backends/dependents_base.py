"""What stands in the way of altering a table: its indexes, CHECKs, referencing tables.

DuckDB refuses ``ALTER TABLE ... ALTER COLUMN`` and ``RENAME`` on a table with an
index or another table's FOREIGN KEY pointing at it, and ``SET DATA TYPE`` on a column
a CHECK names; the migration engine's batch mode reads these from
:meth:`~egregora_pipeline.backends.migration_base.MigrationImpl.dependents` and saves,
drops and recreates them. A backend that alters tables in place reports none.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexDef:
    """A ``CREATE INDEX`` on a table, as the catalog stores it."""

    name: str
    table: str
    sql: str


@dataclass(frozen=True)
class CheckDef:
    """A CHECK constraint of a table. DuckDB keeps no constraint names: the text is its identity."""

    table: str
    expression: str
    """The boolean expression, e.g. ``((doc_type != 'media') OR (media_type IN (...)))``."""
    text: str
    """How it appears inside the table's ``CREATE TABLE`` (``CHECK(<expression>)``)."""
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ChildTable:
    """A table whose FOREIGN KEY references the rebuilt table (directly or through another)."""

    name: str
    sql: str
    """Its ``CREATE TABLE`` with every column, default, key, CHECK and FOREIGN KEY."""
    indexes: tuple[IndexDef, ...]


@dataclass(frozen=True)
class Dependents:
    """Everything that must be out of the way before DuckDB lets ``table`` be altered."""

    table: str
    sql: str
    indexes: tuple[IndexDef, ...]
    children: tuple[ChildTable, ...]
    """Referencing tables, parents before children (creation order; drop in reverse)."""
    checks: tuple[CheckDef, ...]

    @property
    def blocks_alter(self) -> bool:
        """True when an in-place ALTER COLUMN on ``table`` would be refused."""
        return bool(self.indexes or self.children)

    def check_columns(self) -> frozenset[str]:
        return frozenset(c for check in self.checks for c in check.columns)

    def reasons(self) -> list[str]:
        """Why the table needs the batch path, one phrase per kind of dependent."""
        out: list[str] = []
        if self.indexes:
            out.append("indexes " + ", ".join(i.name for i in self.indexes))
        if self.children:
            out.append(
                "FOREIGN KEYs of " + ", ".join(c.name for c in self.children) + " reference it"
            )
        return out


def no_dependents(table: str) -> Dependents:
    """Nothing in the way (a backend that alters any table in place)."""
    return Dependents(table=table, sql="", indexes=(), children=(), checks=())
