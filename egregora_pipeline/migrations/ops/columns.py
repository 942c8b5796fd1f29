"""Operations on one column of an existing table: add, drop, rename, retype, (not) null.

Separate from the table operations because each changes a single column in place
(``ALTER TABLE ... COLUMN``), with its own guard for values a drop or a type change
would lose.
"""

from __future__ import annotations

from dataclasses import dataclass

from egregora_pipeline.backends import current_impl, impl_for
from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.ops.base import Column, Operation, Risk, sql_type, type_python
from egregora_pipeline.migrations.ops.data import FillNulls
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.schema.types import TypeSpec, same_type
from egregora_pipeline.sql import quote_ident as q


@dataclass(frozen=True)
class AddColumn(Operation):
    """``ALTER TABLE ADD COLUMN`` in place, with an optional backfill and NOT NULL.

    A NOT NULL column on a table that has rows needs values first: a constant
    ``default`` (DuckDB fills it in during the ADD), and/or a per-row
    ``backfill`` expression over the other columns. With ``keep_default=False``
    the default only serves existing rows and is dropped afterwards, so later
    inserts must give the value.

    On PostgreSQL a NOT NULL column with a ``default`` is added in one statement
    (``ADD COLUMN ... DEFAULT ... NOT NULL``): metadata-only for a constant default.

    The statement order matters in DuckDB 2.0: ``SET NOT NULL`` on a column
    that was UPDATEd earlier in the same transaction fails ("Cannot create
    index with outstanding updates"). So with a ``default`` placeholder the
    order is ADD ... DEFAULT, SET NOT NULL, DROP DEFAULT, then UPDATE (fast);
    without one, the backfill is applied by ``SET DATA TYPE ... USING
    COALESCE(col, backfill)`` before SET NOT NULL (slower: it rewrites the
    column). A backfill expression must never yield NULL for a NOT NULL column.
    """

    table: str
    column: Column
    backfill: str | None = None
    keep_default: bool = True

    def render(self) -> list[str]:
        c = self.column
        t, n = q(self.table), q(c.name)
        default = f" DEFAULT {c.default}" if c.default is not None else ""
        # PostgreSQL fills a constant DEFAULT without touching a row, and a NOT NULL given
        # in the same ADD needs no scan; a separate SET NOT NULL would read every row
        inline = current_impl().adds_not_null_inline and c.default is not None and not c.nullable
        not_null = " NOT NULL" if inline else ""
        out = [f"ALTER TABLE {t} ADD COLUMN {n} {c.sql_type}{default}{not_null}"]
        late: list[str] = []
        if self.backfill is not None:
            if c.default is not None or c.nullable:
                late.append(f"UPDATE {t} SET {n} = {self.backfill}")
            else:
                out.extend(FillNulls(self.table, c.name, c.type, self.backfill).render())
        if not c.nullable and not inline:
            out.append(f"ALTER TABLE {t} ALTER COLUMN {n} SET NOT NULL")
        if c.default is not None and not self.keep_default:
            out.append(f"ALTER TABLE {t} ALTER COLUMN {n} DROP DEFAULT")
        return out + late

    def reverse(self) -> Operation:
        return DropColumn(self.table, self.column.name, self.column)

    def python(self) -> str:
        c = self.column
        extra = "" if c.nullable else ", nullable=False"
        if c.default is not None:
            extra += f", default={c.default!r}"
        if self.backfill is not None:
            extra += f", backfill={self.backfill!r}"
        if not self.keep_default:
            extra += ", keep_default=False"
        return f"op.add_column({self.table!r}, {c.name!r}, {type_python(c.type)}{extra})"


@dataclass(frozen=True)
class DropColumn(Operation):
    table: str
    name: str
    column: Column | None = None
    """The dropped definition, only so that :meth:`reverse` can recreate it (empty)."""
    destructive = True

    def render(self) -> list[str]:
        return [f"ALTER TABLE {q(self.table)} DROP COLUMN {q(self.name)}"]

    def reverse(self) -> Operation | None:
        if self.column is None:
            return None
        return AddColumn(self.table, self.column.as_nullable())

    def risk(self, probe: Probe) -> Risk | None:
        values = probe.count(f"SELECT count({q(self.name)}) FROM {q(self.table)}")
        return Risk(f"dropping column {self.table}.{self.name}", values) if values else None

    def python(self) -> str:
        return f"op.drop_column({self.table!r}, {self.name!r})"


@dataclass(frozen=True)
class RenameColumn(Operation):
    table: str
    name: str
    new_name: str

    def render(self) -> list[str]:
        return [f"ALTER TABLE {q(self.table)} RENAME COLUMN {q(self.name)} TO {q(self.new_name)}"]

    def reverse(self) -> Operation:
        return RenameColumn(self.table, self.new_name, self.name)

    def python(self) -> str:
        return f"op.rename_column({self.table!r}, {self.name!r}, {self.new_name!r})"


@dataclass(frozen=True)
class AlterColumnType(Operation):
    """Change a column's type in place (``ALTER ... SET DATA TYPE``).

    The guard counts the non-null values that would not survive: those the
    new type cannot hold (the cast fails) and those that change on a round
    trip back to the old type (``'01'`` as INTEGER comes back as ``'1'``). A
    widening change (INTEGER to BIGINT, anything to VARCHAR) counts zero.
    """

    table: str
    name: str
    type: TypeSpec
    using: str | None = None
    old_type: TypeSpec | None = None
    """The type before, only so that :meth:`reverse` can restore it."""
    destructive = True

    def render(self) -> list[str]:
        using = f" USING {self.using}" if self.using is not None else ""
        return [
            f"ALTER TABLE {q(self.table)} ALTER COLUMN {q(self.name)} "
            f"SET DATA TYPE {sql_type(self.type)}{using}"
        ]

    def reverse(self) -> Operation | None:
        if self.old_type is None:
            return None
        return AlterColumnType(self.table, self.name, self.old_type, old_type=self.type)

    def risk(self, probe: Probe) -> Risk | None:
        live = catalog.columns(probe.catalog, self.table).get(self.name)
        if live is None or same_type(live.type, self.type):
            return None
        count, what = impl_for(probe.catalog).conversion_loss_sql(
            self.table, self.name, sql_type(self.type), live.type, self.using
        )
        lost = probe.count(count)
        if not lost:
            return None
        return Risk(
            f"changing {self.table}.{self.name} from {live.type} to {self.type} {what}", lost
        )

    def python(self) -> str:
        extra = f", using={self.using!r}" if self.using is not None else ""
        if self.old_type is not None:
            extra += f", old_type={type_python(self.old_type)}"
        return (
            f"op.alter_column_type({self.table!r}, {self.name!r}, {type_python(self.type)}{extra})"
        )


@dataclass(frozen=True)
class SetNullable(Operation):
    """``SET NOT NULL`` (nullable=False) or ``DROP NOT NULL`` (nullable=True).

    SET NOT NULL fails (and the revision rolls back) while NULLs remain:
    backfill first.
    """

    table: str
    name: str
    nullable: bool

    def render(self) -> list[str]:
        action = "DROP NOT NULL" if self.nullable else "SET NOT NULL"
        return [f"ALTER TABLE {q(self.table)} ALTER COLUMN {q(self.name)} {action}"]

    def reverse(self) -> Operation:
        return SetNullable(self.table, self.name, not self.nullable)

    def python(self) -> str:
        return f"op.alter_column_nullable({self.table!r}, {self.name!r}, {self.nullable!r})"
