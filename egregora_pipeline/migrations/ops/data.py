"""Operations that rewrite rows rather than the schema: backfills, raw SQL, Python steps.

Separate from the DDL operations because they carry code of the revision's author
(SQL text, Ibis expressions compiled per backend, a Python function given a
:class:`DataStep`) that the destructive guard cannot see into.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egregora_pipeline.backends import current_impl, impl_for
from egregora_pipeline.backends.migration_base import current_dialect
from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.errors import BackendNotSupportedError
from egregora_pipeline.migrations.ops.base import Operation, sql_type, type_python
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.schema.types import TypeSpec
from egregora_pipeline.sql import quote_ident as q


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
