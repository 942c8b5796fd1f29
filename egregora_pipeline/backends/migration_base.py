"""What every backend gives the migration engine (Alembic's ``impl`` pattern).

The engine in :mod:`egregora_pipeline.migrations` talks to a :class:`MigrationImpl`
for everything that differs between backends -- reading the catalog, rendering
types, what a transaction and the migrators' lock are, which errors a failing
statement raises -- and never to ``duckdb`` or ``psycopg`` directly. The registry
(:func:`egregora_pipeline.backends.impl_for`) finds the impl of an open
connection; while operations render to SQL, :func:`current_dialect` (set by
:func:`using`) names the backend, so one revision file renders for whichever
backend runs it.

:class:`LiveColumn` lives here, beside the impls that produce it, so the engine's
catalog module and the impls no longer import each other.
"""

from __future__ import annotations

import contextlib
import errno
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from egregora_pipeline.errors import DiskFullError, EgregoraError

if TYPE_CHECKING:
    import ibis.expr.datatypes as dt

    from egregora_pipeline.backends.dependents_base import CheckDef, Dependents
    from egregora_pipeline.backends.references_base import ForeignKey, Lift
    from egregora_pipeline.backends.target_base import WarehouseTarget
    from egregora_pipeline.schema.types import TypeSpec


class Connection(Protocol):
    """An open warehouse connection, as a backend's :meth:`~.base.Backend.connect` gives it
    (DuckDB's own connection, the PostgreSQL wrapper): what the engine and the checks
    call on it directly. Everything else goes through the backend's impl."""

    def execute(self, query: Any, parameters: Any = ..., /) -> Any:
        """Run one statement; the result is read with ``fetchall`` / ``fetchone``."""
        ...

    def close(self) -> None:
        """End the session."""
        ...


class MigrationError(EgregoraError):
    """Base of every error the migration engine raises on purpose (here, below the engine,
    because the backends' impls raise some of them)."""


class MigrationLockedError(MigrationError):
    """Another migrator held the PostgreSQL advisory lock for longer than we wait."""

    def __init__(self, database: str, waited_seconds: float, holder: str) -> None:
        super().__init__(
            f"warehouse {database}: another migrator holds the migration lock ({holder}); "
            f"waited {waited_seconds:.0f}s. Wait for it to finish, raise "
            "EGREGORA_LOCK_TIMEOUT, or end a stuck session with "
            "`SELECT pg_terminate_backend(PID)`."
        )
        self.database = database
        self.waited_seconds = waited_seconds
        self.holder = holder


_RENDERING: ContextVar[MigrationImpl | None] = ContextVar("egregora_rendering_impl", default=None)
DEFAULT_DIALECT = "duckdb"
"""What operations render for outside :func:`using` (the default backend's)."""


@dataclass(frozen=True)
class LiveColumn:
    """One column as the catalog reports it."""

    name: str
    type: str
    """DuckDB: the normalized DuckDB type (``VARCHAR[]``); PostgreSQL: the Ibis type
    string Ibis's ``PostgresType`` reads the catalog's type as (``array<string>``).
    Either is a valid revision type (:mod:`egregora_pipeline.schema.types`)."""
    nullable: bool

    @property
    def dtype(self) -> dt.DataType:
        """The column's Ibis dtype (nullable as it is)."""
        from egregora_pipeline.schema.types import to_dtype

        return to_dtype(self.type).copy(nullable=self.nullable)


class MigrationImpl(ABC):
    """The backend-specific half of the migration engine."""

    name: ClassVar[str]
    """``duckdb`` or ``postgres``: also the SQL dialect name (Ibis / sqlglot)."""
    label: ClassVar[str]
    """How messages name the backend (``DuckDB``, ``PostgreSQL``)."""
    transactional_ddl: ClassVar[bool]
    """DDL rolls back with its transaction (PostgreSQL), so a dry run can really run."""

    @property
    @abstractmethod
    def errors(self) -> tuple[type[BaseException], ...]:
        """The driver's error types: a statement failing with one rolls its step back."""

    @abstractmethod
    def table_names(self, conn: Any) -> set[str]:
        """Base tables of the current schema."""

    @abstractmethod
    def all_columns(self, conn: Any) -> dict[str, dict[str, LiveColumn]]:
        """Every base table's columns in table order, in one catalog query."""

    def columns(self, conn: Any, table: str) -> dict[str, LiveColumn]:
        return self.all_columns(conn).get(table, {})

    def table_exists(self, conn: Any, table: str) -> bool:
        return table in self.table_names(conn)

    @abstractmethod
    def database_label(self, conn: Any) -> str:
        """The warehouse behind ``conn``, for messages (never with a password)."""

    def checkpoint_statement(self) -> str | None:
        """A statement to run after each committed step (DuckDB empties its WAL)."""
        return None

    def execute(self, conn: Any, sql: str, params: Sequence[object] | None = None) -> Any:
        """Run one statement with ``?`` parameters; returns a cursor-like result."""
        return conn.execute(sql, list(params)) if params is not None else conn.execute(sql)

    @abstractmethod
    def migration_lock(self, conn: Any, timeout: float) -> contextlib.AbstractContextManager[None]:
        """Hold the migrators' lock on ``conn``'s warehouse inside the block.

        DuckDB: nothing to take (the writer's file lock, taken when the file was
        opened, already serializes migrators). PostgreSQL: the advisory lock.
        """

    @abstractmethod
    def render_type(self, spec: TypeSpec) -> str:
        """``spec`` (a revision's column type) as this backend's DDL type."""

    # -- how operations render (Alembic's per-dialect DDL) ------------------------------
    adds_not_null_inline: ClassVar[bool] = False
    """``ADD COLUMN ... DEFAULT d NOT NULL`` in one statement costs no scan (PostgreSQL
    fills a constant default without touching a row); else a separate ``SET NOT NULL``."""

    def fill_nulls_sql(self, table: str, column: str, sql_type: str, expression: str) -> list[str]:
        """Replace NULLs of ``table.column`` by ``expression`` so ``SET NOT NULL`` may follow."""
        from egregora_pipeline.sql import quote_ident as q

        col = q(column)
        return [f"UPDATE {q(table)} SET {col} = {expression} WHERE {col} IS NULL"]

    def conversion_loss_sql(
        self, table: str, column: str, new_type: str, live_type: str, using: str | None
    ) -> tuple[str, str]:
        """A ``count`` query of the values of ``table.column`` a type change would lose,
        and how the message qualifies the count. Without a way to test each value's
        conversion, every non-null value counts."""
        from egregora_pipeline.sql import quote_ident as q

        return (
            f"SELECT count({q(column)}) FROM {q(table)}",
            f"({self.label} cannot test each value's conversion: every value counts)",
        )

    def catalog_type(self, dtype: dt.DataType) -> str:
        """A declared dtype as this backend's catalog shows types (drift reports)."""
        from egregora_pipeline.schema.types import ibis_type_string

        return ibis_type_string(dtype)

    def shown_type(self, live_type: str) -> str:
        """A :attr:`LiveColumn.type` as drift reports show it."""
        return live_type

    # -- what stands in the way of an ALTER (DuckDB's batch mode reads it) --------------
    missing_object_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    """Errors meaning "no such table or column": a dry run's count of an object an
    earlier step of the same plan creates (only in the shadow) is zero."""

    def dependents(self, conn: Any, table: str) -> Dependents:
        """The indexes, CHECKs and referencing tables that keep ``table`` from being
        altered in place (none: this backend alters any table in place)."""
        from egregora_pipeline.backends.dependents_base import no_dependents

        return no_dependents(table)

    def checks_of(self, conn: Any, table: str) -> tuple[CheckDef, ...]:
        """``table``'s CHECK constraints, where adoption may widen them (none here)."""
        return ()

    # -- FOREIGN KEYs referencing a table (:mod:`.references_base` dispatches here) ------
    @abstractmethod
    def foreign_keys_to(self, conn: Any, table: str) -> tuple[ForeignKey, ...]:
        """Every FOREIGN KEY referencing ``table`` (its own self-references included)."""

    def referencing_tables(self, conn: Any, table: str) -> list[str]:
        """The tables whose FOREIGN KEYs reference ``table``."""
        from egregora_pipeline.backends.references_base import tables_holding

        return tables_holding(self.foreign_keys_to(conn, table), table)

    @abstractmethod
    def referenced_keys(
        self, conn: Any, key: ForeignKey, column: str, keys: Sequence[str]
    ) -> list[str]:
        """Which of ``keys`` (values of ``key.referenced_table.column``) rows of
        ``key.table`` reference through ``key``."""

    def referenced(
        self, conn: Any, table: str, column: str, keys: Sequence[str]
    ) -> dict[str, list[str]]:
        """Which of ``keys`` (values of ``table.column``) rows of other tables reference:
        referencing table -> the referenced keys (sorted).

        A FOREIGN KEY on another column of ``table`` counts when its referenced column's
        value belongs to a row with one of ``keys``. Tables that reference none are left out.
        """
        if not keys:
            return {}
        out: dict[str, set[str]] = {}
        for key in self.foreign_keys_to(conn, table):
            found = self.referenced_keys(conn, key, column, keys)
            if found:
                out.setdefault(key.table, set()).update(found)
        return {name: sorted(found) for name, found in out.items()}

    @abstractmethod
    def lifted_references(
        self, conn: Any, table: str, *, only: Sequence[str] | None = None
    ) -> contextlib.AbstractContextManager[Lift]:
        """Inside the block, nothing references ``table`` (DuckDB: the referencing tables
        are copied aside and dropped; PostgreSQL: their FOREIGN KEY constraints are
        dropped); on exit all is put back and checked, in the caller's transaction or one
        of its own. ``only``: just those referencing tables, where the backend lifts tables."""

    @abstractmethod
    def repoint_lifted(self, lift: Lift, mapping: Mapping[str, str], *, column: str) -> int:
        """Inside :meth:`lifted_references`, re-point the lifted references to
        ``lift.table.column`` from old keys to new (``mapping``); how many changed."""

    @abstractmethod
    def rekey_rows(self, conn: Any, table: str, mapping: Mapping[str, str], *, column: str) -> None:
        """Give rows of ``table`` new values of ``column`` (``mapping``: old -> new), inside
        :meth:`lifted_references` (references are :meth:`repoint_lifted`'s)."""

    def reorder_columns_sql(
        self, conn: Any, table: str, live: Sequence[str], order: Sequence[str]
    ) -> list[str]:
        """The statements that rebuild ``table`` with its columns in ``order``; only for a
        backend whose :meth:`Backend.refusal` of ``column_reorder`` is None."""
        raise NotImplementedError(f"{self.label} does not reorder columns")

    @abstractmethod
    def target_of(self, conn: Any) -> WarehouseTarget | None:
        """The warehouse an open session is on, for callers holding only the connection
        (the Dagster op): what its automatic backup copies. None: nothing to back up
        (an in-memory database)."""

    def disk_full(self, error: BaseException) -> DiskFullError | None:
        """A :class:`DiskFullError` when ``error`` is the disk filling up, else None."""
        if isinstance(error, DiskFullError):
            return error
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFullError(str(error))
        return None

    def shadow(self, real: Any | None, rows_of: Sequence[str] = ()) -> Any:
        """A scratch database with ``real``'s schema and the rows of the tables ``rows_of``
        (the bookkeeping), but no other data: where a dry run executes its exact SQL when
        DDL is not transactional. ``real`` None: an empty one."""
        raise NotImplementedError(f"{self.name} runs dry runs in a rolled-back transaction")


class NoLock(contextlib.AbstractContextManager[None]):
    """A lock already held by other means (DuckDB's writer file lock)."""

    def __exit__(self, *exc: object) -> None:
        return None


def rendering_impl() -> MigrationImpl | None:
    """The impl operations are being rendered for, as :func:`using` set it (None outside)."""
    return _RENDERING.get()


def current_dialect() -> str:
    """The backend operations are being rendered for (``duckdb`` unless :func:`using` says)."""
    impl = _RENDERING.get()
    return DEFAULT_DIALECT if impl is None else impl.name


@contextlib.contextmanager
def using(impl: MigrationImpl) -> Iterator[MigrationImpl]:
    """Render operations for ``impl``'s backend inside the block."""
    token = _RENDERING.set(impl)
    try:
        yield impl
    finally:
        _RENDERING.reset(token)
