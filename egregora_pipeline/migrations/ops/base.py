"""What every schema operation shares: :class:`Column`, :class:`Risk`, :class:`Operation`.

Separate from the concrete operations so that each family of them (tables, columns,
data) builds on one small base without importing the others.

Operations know three more things than their SQL: how to undo themselves
(:meth:`Operation.reverse`, used by autogenerate to write downgrades), whether
they can lose data (:meth:`Operation.risk`, the destructive guard) and how to
write themselves back as Python (:meth:`Operation.python`, for autogenerate).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from egregora_pipeline.backends import current_impl
from egregora_pipeline.migrations.probe import Probe
from egregora_pipeline.schema.types import TypeSpec, is_duckdb_spelling
from egregora_pipeline.sql import quote_ident as q


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
