"""The DuckDB implementation: DuckDB's catalog functions, its WAL checkpoint, its file lock.

Everything reads ``duckdb_tables()`` / ``duckdb_columns()``, never table data, so
it costs the same on a 1k-row and a 3M-row warehouse. Types come back normalized
(:func:`~egregora_pipeline.schema.duckdb_types.normalize_type`). The single-writer
lock is DuckDB's own file lock, taken when the file is opened
(:func:`egregora_pipeline.backends.duckdb.connection.connect_warehouse`), so
:meth:`DuckDBImpl.migration_lock` takes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from egregora_pipeline.backends.duckdb.target import DuckDBTarget
from egregora_pipeline.backends.migration_base import LiveColumn, MigrationImpl, NoLock
from egregora_pipeline.schema.duckdb_types import duckdb_type, normalize_type
from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    import ibis.expr.datatypes as dt

    from egregora_pipeline.backends.dependents_base import CheckDef, Dependents
    from egregora_pipeline.backends.references_base import ForeignKey, Lift
    from egregora_pipeline.errors import DiskFullError
    from egregora_pipeline.schema.types import TypeSpec

_SCOPE = "database_name = current_database() AND schema_name = current_schema()"


class DuckDBImpl(MigrationImpl):
    name: ClassVar[str] = "duckdb"
    label: ClassVar[str] = "DuckDB"
    missing_object_errors: ClassVar[tuple[type[BaseException], ...]] = (
        duckdb.CatalogException,
        duckdb.BinderException,
    )
    transactional_ddl: ClassVar[bool] = False

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (duckdb.Error,)

    def table_names(self, conn: Any) -> set[str]:
        rows = conn.execute(f"SELECT table_name FROM duckdb_tables() WHERE {_SCOPE}").fetchall()
        return {str(r[0]) for r in rows}

    def table_exists(self, conn: Any, table: str) -> bool:
        row = conn.execute(
            f"SELECT count(*) FROM duckdb_tables() WHERE {_SCOPE} AND table_name = ?", [table]
        ).fetchone()
        return bool(row and row[0])

    def columns(self, conn: Any, table: str) -> dict[str, LiveColumn]:
        rows = conn.execute(
            f"SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
            f"WHERE {_SCOPE} AND table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        return {
            str(name): LiveColumn(str(name), normalize_type(str(dtype)), bool(nullable))
            for name, dtype, nullable in rows
        }

    def all_columns(self, conn: Any) -> dict[str, dict[str, LiveColumn]]:
        rows = conn.execute(
            f"SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
            f"WHERE {_SCOPE} AND NOT internal ORDER BY table_name, column_index"
        ).fetchall()
        result: dict[str, dict[str, LiveColumn]] = {name: {} for name in self.table_names(conn)}
        for table, name, dtype, nullable in rows:
            if table in result:
                result[str(table)][str(name)] = LiveColumn(
                    str(name), normalize_type(str(dtype)), bool(nullable)
                )
        return result

    def database_label(self, conn: Any) -> str:
        row = conn.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        return str(row[0]) if row and row[0] else "the in-memory database"

    def migration_lock(self, conn: Any, timeout: float) -> contextlib.AbstractContextManager[None]:
        return NoLock()  # the read-write file lock taken at open already serializes migrators

    def render_type(self, spec: TypeSpec) -> str:
        """Through Ibis's ``DuckDBType``; a DuckDB spelling is kept verbatim, so the
        plans of existing revisions do not change."""
        from ibis.backends.sql.datatypes import DuckDBType

        from egregora_pipeline.schema.types import is_duckdb_spelling, to_dtype

        if isinstance(spec, str) and is_duckdb_spelling(spec):
            return spec
        return str(DuckDBType.to_string(to_dtype(spec)))

    def fill_nulls_sql(self, table: str, column: str, sql_type: str, expression: str) -> list[str]:
        # not an UPDATE: DuckDB 2.0 refuses SET NOT NULL on a column UPDATEd earlier in
        # the same transaction
        col = quote_ident(column)
        return [
            f"ALTER TABLE {quote_ident(table)} ALTER COLUMN {col} SET DATA TYPE "
            f"{sql_type} USING COALESCE({col}, {expression})"
        ]

    def conversion_loss_sql(
        self, table: str, column: str, new_type: str, live_type: str, using: str | None
    ) -> tuple[str, str]:
        col = quote_ident(column)
        converted = using if using is not None else f"TRY_CAST({col} AS {new_type})"
        return (
            f"SELECT count(*) FROM {quote_ident(table)} WHERE {col} IS NOT NULL AND "
            f"({converted} IS NULL OR TRY_CAST({converted} AS {live_type}) "
            f"IS DISTINCT FROM {col})",
            "(values that do not convert or do not round-trip)",
        )

    def catalog_type(self, dtype: dt.DataType) -> str:
        return duckdb_type(dtype)

    def shown_type(self, live_type: str) -> str:
        return normalize_type(live_type)

    def dependents(self, conn: Any, table: str) -> Dependents:
        from egregora_pipeline.backends.duckdb.dependents import dependents

        return dependents(conn, table)

    def checks_of(self, conn: Any, table: str) -> tuple[CheckDef, ...]:
        from egregora_pipeline.backends.duckdb.dependents import checks_of

        return checks_of(conn, table)

    def foreign_keys_to(self, conn: Any, table: str) -> tuple[ForeignKey, ...]:
        from egregora_pipeline.backends.duckdb.references import foreign_keys_to

        return foreign_keys_to(conn, table)

    def referenced_keys(
        self, conn: Any, key: ForeignKey, column: str, keys: Sequence[str]
    ) -> list[str]:
        from egregora_pipeline.backends.duckdb.references import referenced_keys

        return referenced_keys(conn, key, column, keys)

    def lifted_references(
        self, conn: Any, table: str, *, only: Sequence[str] | None = None
    ) -> contextlib.AbstractContextManager[Lift]:
        from egregora_pipeline.backends.duckdb.references import lifted_references

        return lifted_references(conn, table, only=only)

    def repoint_lifted(self, lift: Lift, mapping: Mapping[str, str], *, column: str) -> int:
        from egregora_pipeline.backends.duckdb.references import repoint_lifted

        return repoint_lifted(lift, mapping, column=column)

    def rekey_rows(self, conn: Any, table: str, mapping: Mapping[str, str], *, column: str) -> None:
        from egregora_pipeline.backends.duckdb.references import rekey_rows

        rekey_rows(conn, table, mapping, column=column)

    def reorder_columns_sql(
        self, conn: Any, table: str, live: Sequence[str], order: Sequence[str]
    ) -> list[str]:
        from egregora_pipeline.backends.duckdb.column_order import reorder_statements

        return reorder_statements(conn, table, live, order)

    def target_of(self, conn: Any) -> DuckDBTarget | None:
        """The file behind ``conn``, or None for an in-memory database."""
        row = conn.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        path = str(row[0]) if row and row[0] else ""
        return DuckDBTarget(Path(path)) if path and os.path.isfile(path) else None

    def disk_full(self, error: BaseException) -> DiskFullError | None:
        # also DuckDB's own error when a WAL or checkpoint write fails
        from egregora_pipeline.compute_engine import disk_full

        return disk_full(error)

    def shadow(self, real: Any | None, rows_of: Sequence[str] = ()) -> duckdb.DuckDBPyConnection:
        """An in-memory database with ``real``'s schema and the rows of ``rows_of``, but no
        other data: a dry run executes its exact SQL there, so the printed plan is what a
        real upgrade would run, and the file is never opened for writing."""
        from egregora_pipeline.compute_engine import connect_bounded

        shadow = connect_bounded()
        if real is None:
            return shadow
        for statement in self.schema_ddl(real):
            shadow.execute(statement)
        for table in rows_of:
            rows = real.execute(f"SELECT * FROM {quote_ident(table)}").fetchall()
            if rows:
                marks = ", ".join("?" for _ in rows[0])
                shadow.executemany(
                    f"INSERT INTO {quote_ident(table)} VALUES ({marks})", [list(r) for r in rows]
                )
        return shadow

    def checkpoint_statement(self) -> str | None:
        # DuckDB has crashed replaying DDL from the WAL in several releases
        return "CHECKPOINT"

    def schema_ddl(self, conn: Any) -> list[str]:
        """The ``CREATE`` statements that rebuild the current schema (no data), for the
        in-memory shadow a DuckDB dry run executes on."""
        statements: list[str] = []
        for query in (
            f"SELECT sql FROM duckdb_sequences() WHERE {_SCOPE}",
            f"SELECT sql FROM duckdb_tables() WHERE {_SCOPE} ORDER BY table_oid",
            f"SELECT sql FROM duckdb_indexes() WHERE {_SCOPE} AND sql IS NOT NULL",
            f"SELECT sql FROM duckdb_views() WHERE {_SCOPE} AND NOT internal ORDER BY view_oid",
        ):
            statements.extend(str(r[0]) for r in conn.execute(query).fetchall() if r[0])
        return statements
