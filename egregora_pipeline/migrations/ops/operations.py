"""The ``op`` facade: the object a revision's ``upgrade(op)`` / ``downgrade(op)`` calls.

Separate from the operations themselves because it is the revision files' API (one
method per ``op.*`` call, keyword names and defaults included), while the operation
classes are what the engine, autogenerate and the guard work with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from egregora_pipeline.backends.migration_base import current_dialect
from egregora_pipeline.migrations.ops.base import Column, Operation
from egregora_pipeline.migrations.ops.columns import (
    AddColumn,
    AlterColumnType,
    DropColumn,
    RenameColumn,
    SetNullable,
)
from egregora_pipeline.migrations.ops.data import Backfill, Execute, FillNulls, RunPython
from egregora_pipeline.migrations.ops.tables import (
    CreateIndex,
    CreateTable,
    DropIndex,
    DropTable,
    RebuildTable,
    RenameTable,
)


class Operations:
    """The ``op`` object a revision's ``upgrade(op)`` / ``downgrade(op)`` receives.

    Each method records one :class:`Operation`; nothing runs until the engine
    executes :attr:`recorded`.
    """

    def __init__(self) -> None:
        self.recorded: list[Operation] = []

    @property
    def dialect(self) -> str:
        """The backend this revision is being run for (``duckdb`` or ``postgres``), for a
        revision that needs raw SQL per backend."""
        return current_dialect()

    def _add(self, operation: Operation) -> None:
        self.recorded.append(operation)

    def create_table(
        self, table: str, columns: Sequence[Column], *, constraints: Sequence[str] = ()
    ) -> None:
        self._add(CreateTable(table, tuple(columns), tuple(constraints)))

    def drop_table(self, table: str) -> None:
        self._add(DropTable(table))

    def rename_table(self, table: str, new_name: str) -> None:
        self._add(RenameTable(table, new_name))

    def add_column(
        self,
        table: str,
        name: str,
        type_: str,
        *,
        nullable: bool = True,
        default: str | None = None,
        backfill: str | None = None,
        keep_default: bool = True,
    ) -> None:
        column = Column(name, type_, nullable, default)
        self._add(AddColumn(table, column, backfill, keep_default))

    def drop_column(self, table: str, name: str) -> None:
        self._add(DropColumn(table, name))

    def rename_column(self, table: str, name: str, new_name: str) -> None:
        self._add(RenameColumn(table, name, new_name))

    def alter_column_type(
        self,
        table: str,
        name: str,
        type_: str,
        *,
        using: str | None = None,
        old_type: str | None = None,
    ) -> None:
        self._add(AlterColumnType(table, name, type_, using, old_type))

    def alter_column_nullable(self, table: str, name: str, nullable: bool) -> None:
        self._add(SetNullable(table, name, nullable))

    def set_not_null(self, table: str, name: str) -> None:
        self._add(SetNullable(table, name, nullable=False))

    def drop_not_null(self, table: str, name: str) -> None:
        self._add(SetNullable(table, name, nullable=True))

    def create_index(
        self, name: str, table: str, columns: Sequence[str], *, unique: bool = False
    ) -> None:
        self._add(CreateIndex(name, table, tuple(columns), unique))

    def drop_index(self, name: str) -> None:
        self._add(DropIndex(name))

    def rebuild_table(
        self,
        table: str,
        columns: Sequence[Column],
        *,
        constraints: Sequence[str] = (),
        copy: Mapping[str, str] | None = None,
    ) -> None:
        self._add(RebuildTable(table, tuple(columns), tuple(constraints), dict(copy or {})))

    def backfill(self, table: str, name: str, expression: Any, *, where: Any = None) -> None:
        """Set ``name`` where it is NULL (or where ``where`` holds) to ``expression``: SQL
        text, or an Ibis expression such as ``_.id`` compiled for the running backend."""
        self._add(Backfill(table, name, expression, where))

    def fill_nulls(self, table: str, name: str, type_: str, expression: str) -> None:
        """Fill NULLs so that ``set_not_null`` may follow in the same revision."""
        self._add(FillNulls(table, name, type_, expression))

    def run_python(self, function: Any, description: str) -> None:
        """Run ``function(step)`` (a :class:`DataStep`) in the revision's transaction."""
        self._add(RunPython(function, description))

    def execute(
        self, sql: str, *, reverse_sql: str | None = None, dialect: str | None = None
    ) -> None:
        """Raw SQL; name its ``dialect`` when it is not portable (refused elsewhere)."""
        self._add(Execute(sql, reverse_sql, dialect))
