"""Schema operations as data, and the ``op`` facade revision files call.

A revision's ``upgrade(op)`` does not touch the database: each ``op.*`` call
appends an :class:`Operation` to a list. The engine then renders every
operation to SQL (for ``db plan`` / ``--sql``) and executes exactly that SQL
(for ``db upgrade``), so what a dry run prints is what a real run does.

Operations know three more things than their SQL: how to undo themselves
(:meth:`Operation.reverse`, used by autogenerate to write downgrades), whether
they can lose data (:meth:`Operation.risk`, the destructive guard) and how to
write themselves back as Python (:meth:`Operation.python`, for autogenerate).

Every identifier is quoted with :func:`~egregora_pipeline.sql.quote_ident`.
Types, defaults, expressions and raw SQL come from revision files, which are
code reviewed like any other code, never from user input.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from egregora_pipeline.backends import current_impl, impl_for
from egregora_pipeline.backends.migration_base import current_dialect
from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.errors import BackendNotSupportedError
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.schema.types import TypeSpec, is_duckdb_spelling, same_type
from egregora_pipeline.sql import quote_ident

q = quote_ident


def type_python(spec: TypeSpec) -> str:
    """A type as Python source for a generated revision (a string in either grammar)."""
    return repr(spec if isinstance(spec, str) else str(spec))


def sql_type(spec: TypeSpec) -> str:
    """``spec`` in the DDL of the backend being rendered for (Ibis's type mappers)."""
    return current_impl().render_type(spec)


@dataclass(frozen=True)
class Column:
    """A column definition as frozen in a revision file.

    ``type`` is an Ibis dtype, an Ibis type string (``"!string"``, ``"array<string>"``)
    or a DuckDB type name in capitals (``"VARCHAR"``, the pre-backend form): see
    :mod:`egregora_pipeline.schema.types`. A non-nullable Ibis type (``"!string"``,
    ``dt.String(nullable=False)``) makes the column NOT NULL.
    """

    name: str
    type: TypeSpec
    nullable: bool = True
    default: str | None = None
    """A SQL expression (``'published'``, ``now()``), used verbatim."""

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not is_duckdb_spelling(self.type):
            from egregora_pipeline.schema.types import to_dtype

            if not to_dtype(self.type).nullable:
                object.__setattr__(self, "nullable", False)

    @property
    def sql_type(self) -> str:
        return sql_type(self.type)

    def ddl(self) -> str:
        default = f" DEFAULT {self.default}" if self.default is not None else ""
        not_null = "" if self.nullable else " NOT NULL"
        return f"{q(self.name)} {self.sql_type}{default}{not_null}"

    def python(self) -> str:
        extra = "" if self.nullable else ", nullable=False"
        if self.default is not None:
            extra += f", default={self.default!r}"
        return f"Column({self.name!r}, {type_python(self.type)}{extra})"

    def as_nullable(self) -> Column:
        """The same column, nullable (a non-nullable Ibis type made nullable too)."""
        spec = self.type
        if not isinstance(spec, str) or not is_duckdb_spelling(spec):
            from egregora_pipeline.schema.types import to_dtype

            spec = to_dtype(spec).copy(nullable=True)
        return Column(self.name, spec, True, self.default)


@dataclass(frozen=True)
class Risk:
    """What an operation would destroy if it ran now."""

    description: str
    values_lost: int


class Operation(ABC):
    """One schema change. Subclasses are frozen dataclasses."""

    destructive: bool = False
    """Statically able to lose data (autogenerate marks these in the file)."""

    @abstractmethod
    def render(self) -> list[str]:
        """The SQL statements this operation runs, in order."""

    def prepare(self, probe: Probe) -> Operation:
        """This operation ready to render against ``probe``'s backend (Ibis expressions
        compiled); most operations are ready as they are."""
        return self

    def reverse(self) -> Operation | None:
        """The operation that undoes this one, or None when it cannot be undone from data."""
        return None

    def risk(self, probe: Probe) -> Risk | None:
        """What running this now would lose (None when nothing)."""
        return None

    @abstractmethod
    def python(self) -> str:
        """This operation as an ``op.*`` call, for generated revision files."""


def _call(name: str, table: str, columns: str, rest: str) -> str:
    """A multi-line ``op.<name>(table, [columns...], rest)`` call, formatted like ruff would."""
    return f"op.{name}(\n        {table!r},\n        [{columns}\n        ]{rest},\n    )"


def _non_null_values(probe: Probe, table: str, names: Sequence[str]) -> int:
    if not names:
        return 0
    total = " + ".join(f"count({q(n)})" for n in names)
    return probe.count(f"SELECT {total} FROM {q(table)}")


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


@dataclass(frozen=True)
class Backfill(Operation):
    """``UPDATE table SET column = expression`` (by default only where it is NULL).

    ``expression`` (and ``where``) are SQL text, or Ibis expressions over the table
    -- ``_.id``, ``_.title.lower()``, or a function of the table -- compiled for the
    backend that runs them (:meth:`prepare`, against the live columns' dtypes).

    Do not ``set_not_null`` the same column later in the same revision (DuckDB
    2.0 refuses it after an UPDATE); use :class:`FillNulls` for that.
    """

    table: str
    name: str
    expression: Any
    where: Any = None

    def prepare(self, probe: Probe) -> Operation:
        if isinstance(self.expression, str) and (self.where is None or isinstance(self.where, str)):
            return self
        expression = _compile(self.table, self.expression, probe)
        where = None if self.where is None else _compile(self.table, self.where, probe)
        return Backfill(self.table, self.name, expression, where)

    def render(self) -> list[str]:
        if not isinstance(self.expression, str) or not (
            self.where is None or isinstance(self.where, str)
        ):
            raise TypeError("an Ibis backfill is compiled by prepare(probe) before render()")
        col = q(self.name)
        where = self.where if self.where is not None else f"{col} IS NULL"
        return [f"UPDATE {q(self.table)} SET {col} = {self.expression} WHERE {where}"]

    def python(self) -> str:
        where = f", where={self.where!r}" if self.where is not None else ""
        return f"op.backfill({self.table!r}, {self.name!r}, {self.expression!r}{where})"


def _compile(table: str, expression: Any, probe: Probe) -> str:
    """An Ibis value over ``table`` as one SQL expression in the running backend's dialect.

    The table is described by its live columns (so the expression type-checks against
    what is really there), the value compiled by ``ibis.to_sql`` for the dialect, and
    its projection taken out of the ``SELECT`` (sqlglot) without table qualifiers, to
    sit in an ``UPDATE``.
    """
    import ibis
    import sqlglot
    from ibis.common.deferred import Deferred
    from sqlglot import exp

    dialect = impl_for(probe.catalog).name
    live = catalog.columns(probe.catalog, table)
    unbound = ibis.table({name: column.dtype for name, column in live.items()}, name=table)
    if isinstance(expression, Deferred):
        value = expression.resolve(unbound)
    elif callable(expression):
        value = expression(unbound)
    else:
        value = expression
    selected = ibis.to_sql(unbound.select(__egregora_value=value), dialect=dialect)
    tree = sqlglot.parse_one(str(selected), read=dialect)
    projection = tree.expressions[0]
    if isinstance(projection, exp.Alias):
        projection = projection.this
    for column in projection.find_all(exp.Column):
        column.set("table", None)
    return str(projection.sql(dialect=dialect))


@dataclass(frozen=True)
class FillNulls(Operation):
    """Replace NULLs of a column by ``expression``, in a way that allows SET NOT NULL after.

    Rendered as ``SET DATA TYPE <same type> USING COALESCE(col, expression)``
    rather than an UPDATE: DuckDB 2.0 refuses ``SET NOT NULL`` on a column
    UPDATEd earlier in the same transaction.
    """

    table: str
    name: str
    type: TypeSpec
    expression: str

    def render(self) -> list[str]:
        return current_impl().fill_nulls_sql(
            self.table, self.name, sql_type(self.type), self.expression
        )

    def python(self) -> str:
        return (
            f"op.fill_nulls({self.table!r}, {self.name!r}, {type_python(self.type)}, "
            f"{self.expression!r})"
        )


@dataclass(frozen=True)
class Execute(Operation):
    """Raw SQL, verbatim. The guard cannot see inside it: review it like code.

    ``dialect`` (``"duckdb"``, ``"postgres"``) names the backend the SQL is written
    for; on another backend the revision is refused before anything runs. Without
    one the SQL is taken as portable and runs everywhere.
    """

    sql: str
    reverse_sql: str | None = None
    dialect: str | None = None

    def render(self) -> list[str]:
        backend = current_dialect()
        if self.dialect is not None and self.dialect != backend:
            raise BackendNotSupportedError(
                backend,
                f"raw SQL written for {self.dialect} ({self.sql.strip().splitlines()[0][:60]})",
                "give the revision a variant for this backend "
                f'(op.execute(sql, dialect="{backend}")) or an Ibis backfill',
            )
        return [self.sql]

    def reverse(self) -> Operation | None:
        if self.reverse_sql is None:
            return None
        return Execute(self.reverse_sql, self.sql, self.dialect)

    def python(self) -> str:
        dialect = f", dialect={self.dialect!r}" if self.dialect is not None else ""
        return f"op.execute({self.sql!r}{dialect})"


class DataStep:
    """What a :class:`RunPython` function gets: read rows, write through the plan.

    ``read`` queries the warehouse's *rows* (in a DuckDB dry run: the real file,
    read-only); ``run`` executes one statement on the migration's connection and
    records it in the step (``db plan`` prints it; a DuckDB dry run runs it on the
    schema-only shadow); ``raw`` is the driver connection, for a library that
    needs it (:mod:`egregora_pipeline.references`). ``?`` placeholders on both
    backends.
    """

    def __init__(self, runner: Any, probe: Probe) -> None:
        self._runner = runner
        self._probe = probe

    @property
    def dialect(self) -> str:
        return current_dialect()

    @property
    def dry_run(self) -> bool:
        return self._probe.dry_run

    @property
    def raw(self) -> Any:
        conn = self._runner.conn
        return getattr(conn, "raw", conn)

    def read(self, sql: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
        return list(self._probe.data.execute(sql, list(params) if params else None).fetchall())

    def run(self, sql: str, params: Sequence[object] | None = None) -> Any:
        return self._runner.run(sql, list(params) if params else None)

    def comment(self, text: str) -> None:
        self._runner.comment(text)


@dataclass(frozen=True)
class RunPython(Operation):
    """A data migration in Python: ``function(step)`` with a :class:`DataStep`.

    For rewrites SQL alone cannot express on both backends (a UUIDv5 needs SHA-1,
    which PostgreSQL lacks without an extension; Unicode normalisation, YAML). It
    runs inside the revision's transaction; the engine backs the warehouse up
    first (an operation the guard cannot see into counts as rewriting data).
    """

    function: Any
    description: str

    def render(self) -> list[str]:
        return [f"-- python: {self.description}"]

    def python(self) -> str:
        return (
            f"op.run_python({getattr(self.function, '__name__', 'function')}, {self.description!r})"
        )


def _mentions(expression: str, column: str) -> bool:
    """Whether ``expression`` reads ``column`` (as a whole identifier, quoted or not).

    A substring test would let a dropped ``id`` pass as copied because the
    expression mentions ``guid``.
    """
    quoted = '"' + column.replace('"', '""') + '"'
    bare = rf"(?<![\w\"]){re.escape(column)}(?![\w\"])"
    return quoted in expression or re.search(bare, expression, flags=re.IGNORECASE) is not None


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
