"""The PostgreSQL implementation of the migration engine: ``pg_catalog``, transactional DDL.

* **Catalog**: one query over ``pg_attribute`` / ``pg_class`` -- the query Ibis's
  ``Backend.get_schema`` runs, for every table of the current schema at once -- with
  each type read by Ibis's own ``PostgresType`` mapper, so drift compares dtypes
  (``text`` = ``character varying`` = DuckDB ``VARCHAR``). A type is read as an
  Ibis dtype only when that dtype, rendered back by ``PostgresType``, is the very
  same PostgreSQL type (:func:`_readable_types`): Ibis also reads ``name`` (63
  bytes), ``character`` (blank-padded) as ``string`` and ``oid`` as ``int64``,
  which store values differently, and fails on ``regclass``; those are kept by
  their PostgreSQL name, so they are drift against any declared type, and no
  column of any table stops the catalog from being read.
* **Transactions**: DDL is transactional, so a revision and its bookkeeping row
  commit together, and a dry run really runs inside a transaction that is rolled back.
* **Locking**: the advisory lock of :mod:`.connection` (:meth:`PostgresImpl.migration_lock`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

import psycopg

from egregora_pipeline.backends.migration_base import LiveColumn, MigrationImpl
from egregora_pipeline.backends.postgres.connection import migration_lock, target_of

if TYPE_CHECKING:
    from egregora_pipeline.backends.postgres.target import PostgresTarget
    from egregora_pipeline.backends.references_base import ForeignKey, Lift
    from egregora_pipeline.schema.types import TypeSpec

_CATALOG_SQL: Final = """\
SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       a.atttypid
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
  AND n.nspname = current_schema()
ORDER BY c.relname, a.attnum"""
_TABLES_SQL: Final = """\
SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"""
_RENDERED_SQL: Final = """\
SELECT r, pg_catalog.to_regtype(r)::oid FROM unnest(?::text[]) AS r"""
_SAME_STORAGE: Final = (frozenset({"text", "varchar"}), frozenset({"_text", "_varchar"}))
"""Type names PostgreSQL stores and compares alike: Ibis reads ``text`` as ``string``
and renders ``string`` as ``VARCHAR`` (unbounded), the same type to every client."""
_TYPNAME_SQL: Final = "SELECT oid, typname FROM pg_catalog.pg_type WHERE oid = ANY(?::oid[])"


class PostgresImpl(MigrationImpl):
    name: ClassVar[str] = "postgres"
    label: ClassVar[str] = "PostgreSQL"
    adds_not_null_inline: ClassVar[bool] = True
    transactional_ddl: ClassVar[bool] = True

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (psycopg.Error,)

    def table_names(self, conn: Any) -> set[str]:
        return {str(r[0]) for r in conn.execute(_TABLES_SQL).fetchall()}

    def all_columns(self, conn: Any) -> dict[str, dict[str, LiveColumn]]:
        result: dict[str, dict[str, LiveColumn]] = {name: {} for name in self.table_names(conn)}
        rows = conn.execute(_CATALOG_SQL).fetchall()
        readable = _readable_types(conn, {(str(r[2]), int(r[4])) for r in rows})
        for table, name, typestr, nullable, typid in rows:
            if table in result:
                shown = readable[(str(typestr), int(typid))]
                result[str(table)][str(name)] = LiveColumn(str(name), shown, bool(nullable))
        return result

    def database_label(self, conn: Any) -> str:
        return str(conn.display)

    def migration_lock(self, conn: Any, timeout: float) -> contextlib.AbstractContextManager[None]:
        return migration_lock(conn, timeout)

    def target_of(self, conn: Any) -> PostgresTarget:
        return target_of(conn)

    def render_type(self, spec: TypeSpec) -> str:
        """Through Ibis's ``PostgresType``; a type name Ibis cannot read (``name``,
        ``oid``, as ``db check`` shows them) is kept verbatim."""
        from ibis.backends.sql.datatypes import PostgresType

        from egregora_pipeline.schema.types import is_duckdb_spelling, to_dtype

        if isinstance(spec, str) and not is_duckdb_spelling(spec):
            try:
                dtype = to_dtype(spec)
            except Exception:
                # a PostgreSQL type as its catalog names it, one Ibis does not read as
                # the same type (``name``, ``oid``...): what autogenerate writes as the
                # old type of a column it changes, so that the downgrade restores it
                return spec
            return str(PostgresType.to_string(dtype))
        return str(PostgresType.to_string(to_dtype(spec)))

    def foreign_keys_to(self, conn: Any, table: str) -> tuple[ForeignKey, ...]:
        from egregora_pipeline.backends.postgres.references import foreign_keys_to

        return foreign_keys_to(conn, table)

    def referenced_keys(
        self, conn: Any, key: ForeignKey, column: str, keys: Sequence[str]
    ) -> list[str]:
        from egregora_pipeline.backends.postgres.references import referenced_keys

        return referenced_keys(conn, key, column, keys)

    def lifted_references(
        self, conn: Any, table: str, *, only: Sequence[str] | None = None
    ) -> contextlib.AbstractContextManager[Lift]:
        from egregora_pipeline.backends.postgres.references import lifted_references

        return lifted_references(conn, table, only=only)

    def repoint_lifted(self, lift: Lift, mapping: Mapping[str, str], *, column: str) -> int:
        from egregora_pipeline.backends.postgres.references import repoint_lifted

        return repoint_lifted(lift, mapping, column=column)

    def rekey_rows(self, conn: Any, table: str, mapping: Mapping[str, str], *, column: str) -> None:
        from egregora_pipeline.backends.postgres.references import rekey_rows

        rekey_rows(conn, table, mapping, column=column)


def _readable_types(conn: Any, types: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """Each catalog type (``format_type`` text, type oid) as the Ibis type string it
    means, or as PostgreSQL spells it when Ibis cannot read it faithfully.

    Faithfully: Ibis's ``PostgresType`` reads it, and renders that dtype back to
    the same PostgreSQL type (by oid; ``text`` and ``varchar`` count as one). Two
    small catalog queries for the few distinct types of a warehouse.
    """
    import ibis.expr.datatypes as dt
    from ibis.backends.sql.datatypes import PostgresType

    read: dict[tuple[str, int], tuple[str, str]] = {}
    for typestr, typid in types:
        try:
            dtype = PostgresType.from_string(typestr, nullable=True)
            if isinstance(dtype, dt.Unknown):
                continue
            read[(typestr, typid)] = (str(dtype), str(PostgresType.to_string(dtype)))
        except Exception:  # noqa: S112 (any type Ibis cannot read stays as PostgreSQL names it)
            continue
    rendered_oid = {
        str(r): (None if oid is None else int(oid))
        for r, oid in conn.execute(
            _RENDERED_SQL, [sorted({rendered for _, rendered in read.values()})]
        ).fetchall()
    }
    oids = {typid for _, typid in types} | {o for o in rendered_oid.values() if o is not None}
    typname = {
        int(oid): str(name) for oid, name in conn.execute(_TYPNAME_SQL, [sorted(oids)]).fetchall()
    }
    out: dict[tuple[str, int], str] = {}
    for typestr, typid in types:
        found = read.get((typestr, typid))
        back = None if found is None else rendered_oid.get(found[1])
        same = back is not None and (
            back == typid
            or any({typname.get(back), typname.get(typid)} <= pair for pair in _SAME_STORAGE)
        )
        out[(typestr, typid)] = found[0] if same and found is not None else typestr
    return out
