"""Operations on whole tables and their indexes: create, drop, rename, rebuild, index.

Separate from the column operations because they act on a table as a unit (its
definition, its rows, its indexes), and own the helpers that count what dropping or
rebuilding a table would lose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.ops.base import Column, Operation, Risk
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.sql import quote_ident as q


def _call(name: str, table: str, columns: str, rest: str) -> str:
    """A multi-line ``op.<name>(table, [columns...], rest)`` call, formatted like ruff would."""
    return f"op.{name}(\n        {table!r},\n        [{columns}\n        ]{rest},\n    )"


def _non_null_values(probe: Probe, table: str, names: Sequence[str]) -> int:
    if not names:
        return 0
    total = " + ".join(f"count({q(n)})" for n in names)
    return probe.count(f"SELECT {total} FROM {q(table)}")


def _mentions(expression: str, column: str) -> bool:
    """Whether ``expression`` reads ``column`` (as a whole identifier, quoted or not).

    A substring test would let a dropped ``id`` pass as copied because the
    expression mentions ``guid``.
    """
    quoted = '"' + column.replace('"', '""') + '"'
    bare = rf"(?<![\w\"]){re.escape(column)}(?![\w\"])"
    return quoted in expression or re.search(bare, expression, flags=re.IGNORECASE) is not None


@dataclass(frozen=True)
class CreateTable(Operation):
    table: str
    columns: tuple[Column, ...]
    constraints: tuple[str, ...] = ()
    """Table constraints verbatim, e.g. ``CHECK (status IN ('draft'))``."""

    def render(self) -> list[str]:
        parts = [c.ddl() for c in self.columns] + list(self.constraints)
        body = ",\n    ".join(parts)
        return [f"CREATE TABLE {q(self.table)} (\n    {body}\n)"]

    def reverse(self) -> Operation:
        return DropTable(self.table, self.columns, self.constraints)

    def python(self) -> str:
        cols = "".join(f"\n            {c.python()}," for c in self.columns)
        cons = f", constraints={list(self.constraints)!r}" if self.constraints else ""
        return _call("create_table", self.table, cols, cons)


@dataclass(frozen=True)
class DropTable(Operation):
    table: str
    columns: tuple[Column, ...] = ()
    """The dropped definition, only so that :meth:`reverse` can recreate it."""
    constraints: tuple[str, ...] = ()
    destructive = True

    def render(self) -> list[str]:
        return [f"DROP TABLE {q(self.table)}"]

    def reverse(self) -> Operation | None:
        return CreateTable(self.table, self.columns, self.constraints) if self.columns else None

    def risk(self, probe: Probe) -> Risk | None:
        names = list(catalog.columns(probe.catalog, self.table))
        rows = probe.count(f"SELECT count(*) FROM {q(self.table)}")
        values = _non_null_values(probe, self.table, names) if rows else 0
        if not values:
            return None
        return Risk(f"dropping table {self.table!r} ({rows} rows)", values)

    def python(self) -> str:
        return f"op.drop_table({self.table!r})"


@dataclass(frozen=True)
class RenameTable(Operation):
    table: str
    new_name: str

    def render(self) -> list[str]:
        return [f"ALTER TABLE {q(self.table)} RENAME TO {q(self.new_name)}"]

    def reverse(self) -> Operation:
        return RenameTable(self.new_name, self.table)

    def python(self) -> str:
        return f"op.rename_table({self.table!r}, {self.new_name!r})"


@dataclass(frozen=True)
class CreateIndex(Operation):
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False

    def render(self) -> list[str]:
        unique = "UNIQUE " if self.unique else ""
        cols = ", ".join(q(c) for c in self.columns)
        return [f"CREATE {unique}INDEX {q(self.name)} ON {q(self.table)} ({cols})"]

    def reverse(self) -> Operation:
        return DropIndex(self.name, self.table, self.columns, self.unique)

    def python(self) -> str:
        unique = ", unique=True" if self.unique else ""
        return f"op.create_index({self.name!r}, {self.table!r}, {list(self.columns)!r}{unique})"


@dataclass(frozen=True)
class DropIndex(Operation):
    name: str
    table: str | None = None
    columns: tuple[str, ...] = ()
    unique: bool = False

    def render(self) -> list[str]:
        return [f"DROP INDEX {q(self.name)}"]

    def reverse(self) -> Operation | None:
        if self.table is None or not self.columns:
            return None
        return CreateIndex(self.name, self.table, self.columns, self.unique)

    def python(self) -> str:
        return f"op.drop_index({self.name!r})"


@dataclass(frozen=True)
class RebuildTable(Operation):
    """Create-copy-swap: only for changes DuckDB cannot make in place.

    DuckDB has no ``ALTER TABLE ADD CONSTRAINT``, so adding a CHECK constraint
    means a new table. The copy is ``INSERT INTO new SELECT`` of every new
    column from the old table (same name, or the expression in ``copy``), then
    the old table is dropped and the new one renamed. Indexes on the old table
    are dropped with it: recreate them with ``op.create_index`` afterwards.
    It rewrites every row, ~45x the cost of an in-place ``ADD COLUMN``.
    """

    table: str
    columns: tuple[Column, ...]
    constraints: tuple[str, ...] = ()
    copy: Mapping[str, str] = field(default_factory=dict)

    @property
    def _scratch(self) -> str:
        return f"__rebuild_{self.table}"

    def render(self) -> list[str]:
        new = CreateTable(self._scratch, self.columns, self.constraints).render()
        names = ", ".join(q(c.name) for c in self.columns)
        values = ", ".join(self.copy.get(c.name, q(c.name)) for c in self.columns)
        return [
            *new,
            f"INSERT INTO {q(self._scratch)} ({names}) SELECT {values} FROM {q(self.table)}",
            f"DROP TABLE {q(self.table)}",
            f"ALTER TABLE {q(self._scratch)} RENAME TO {q(self.table)}",
        ]

    def risk(self, probe: Probe) -> Risk | None:
        kept = {c.name for c in self.columns}
        dropped = [n for n in catalog.columns(probe.catalog, self.table) if n not in kept]
        if self.copy:  # a column read by a copy expression is moved, not lost
            dropped = [n for n in dropped if not any(_mentions(e, n) for e in self.copy.values())]
        values = _non_null_values(probe, self.table, dropped)
        if not values:
            return None
        return Risk(f"rebuilding {self.table!r} without columns {', '.join(dropped)}", values)

    def python(self) -> str:
        cols = "".join(f"\n            {c.python()}," for c in self.columns)
        cons = f", constraints={list(self.constraints)!r}" if self.constraints else ""
        copy = f", copy={dict(self.copy)!r}" if self.copy else ""
        return _call("rebuild_table", self.table, cols, cons + copy)
