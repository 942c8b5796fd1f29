"""The PostgreSQL implementation: ``pg_catalog``, transactional DDL, an advisory lock.

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
* **Locking**: migrators are serialized by a session-level advisory lock keyed from a
  fixed name (:data:`LOCK_KEY`), polled with ``pg_try_advisory_lock`` up to the lock
  timeout; past it, :class:`MigrationLockedError` names the holder from ``pg_locks``
  joined with ``pg_stat_activity``. DDL waiting for a table lock (a long ingest
  transaction) also gives up after the same timeout (``lock_timeout``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

import psycopg

from egregora_pipeline.migrations.catalog import LiveColumn
from egregora_pipeline.migrations.errors import MigrationLockedError
from egregora_pipeline.migrations.impl.base import MigrationImpl

if TYPE_CHECKING:
    from egregora_pipeline.warehouse_url import PostgresTarget

LOCK_NAME: Final = "egregora_pipeline.migrations"
LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True
)
"""The advisory lock every migrator of a database takes (a bigint derived from a name)."""
APPLICATION_NAME: Final = "egregora-pipeline"

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
_HOLDER_SQL: Final = """\
SELECT a.pid, a.application_name, a.client_addr::text, a.client_port,
       a.backend_start, a.state, a.query_start
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND l.classid = %s AND l.objid = %s AND l.objsubid = 1"""
_RENDERED_SQL: Final = """\
SELECT r, pg_catalog.to_regtype(r)::oid FROM unnest(?::text[]) AS r"""
_SAME_STORAGE: Final = (frozenset({"text", "varchar"}), frozenset({"_text", "_varchar"}))
"""Type names PostgreSQL stores and compares alike: Ibis reads ``text`` as ``string``
and renders ``string`` as ``VARCHAR`` (unbounded), the same type to every client."""
_TYPNAME_SQL: Final = "SELECT oid, typname FROM pg_catalog.pg_type WHERE oid = ANY(?::oid[])"
_PLACEHOLDER: Final = re.compile(r"'(?:[^']|'')*'|\?")


def _psycopg_params(sql: str) -> str:
    """``?`` placeholders (the engine's, DuckDB's style) as ``%s``; quoted text untouched."""
    return _PLACEHOLDER.sub(lambda m: "%s" if m.group(0) == "?" else m.group(0), sql)


class PgConnection:
    """A psycopg connection in autocommit mode, answering the engine's DuckDB-style calls.

    ``execute(sql, params)`` takes ``?`` placeholders; the engine issues ``BEGIN`` /
    ``COMMIT`` itself, so transactions are exactly the engine's steps.
    """

    def __init__(self, raw: psycopg.Connection[Any], display: str) -> None:
        self.raw = raw
        self.display = display

    def execute(self, sql: str, params: Sequence[object] | None = None) -> psycopg.Cursor[Any]:
        if params is None or not params:
            # no placeholders processed: a revision's raw SQL may hold '%' or '?'
            return self.raw.execute(sql.encode())
        return self.raw.execute(_psycopg_params(sql), list(params))

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed)


def connect(
    target: PostgresTarget, *, read_only: bool, lock_timeout: float, purpose: str
) -> PgConnection:
    """A session for the engine: autocommit, named in ``pg_stat_activity``, DDL lock waits
    bounded by ``lock_timeout``; a read-only command's session cannot write at all."""
    from egregora_pipeline.warehouse_url import postgres_lock_timeout

    conn = PgConnection(target.connect(autocommit=True), target.display)
    settings = {
        "application_name": f"{APPLICATION_NAME} {purpose} pid {os.getpid()}"[:63],
        "lock_timeout": postgres_lock_timeout(lock_timeout),
        "TimeZone": "UTC",
    }
    if read_only:
        settings["default_transaction_read_only"] = "on"
    try:
        for name, value in settings.items():
            conn.raw.execute("SELECT set_config(%s, %s, false)", [name, value])
    except BaseException:
        conn.close()  # never a session left open behind an error
        raise
    return conn


def _holder(conn: PgConnection) -> str:
    classid, objid = (LOCK_KEY >> 32) & 0xFFFFFFFF, LOCK_KEY & 0xFFFFFFFF
    row = conn.raw.execute(_HOLDER_SQL, [classid, objid]).fetchone()
    if row is None:
        return "holder unknown (it may just have finished)"
    pid, app, addr, port, since, state, query_start = row
    where = f"{addr}:{port}" if addr else "local socket"
    return (
        f"pid {pid}, application_name {app!r}, client {where}, connected since "
        f"{since:%Y-%m-%d %H:%M:%S%z}, {state or 'unknown state'}"
        + (f" since {query_start:%H:%M:%S}" if query_start else "")
    )


@contextlib.contextmanager
def migration_lock(conn: PgConnection, timeout: float) -> Iterator[None]:
    """Hold the database's migration advisory lock inside the block.

    Polled (``pg_try_advisory_lock``) with jittered backoff rather than a blocking
    ``pg_advisory_lock``, so the wait is bounded and the error can name the holder.
    A session-level lock: a killed migrator's lock goes with its session.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        row = conn.raw.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
        if row and row[0]:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MigrationLockedError(conn.display, timeout, _holder(conn))
        time.sleep(min(remaining, delay * (0.5 + random.random())))  # noqa: S311 (jitter)
        delay = min(delay * 2, 1.0)
    try:
        yield
    finally:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):
                if conn.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.raw.execute("ROLLBACK")
                conn.raw.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


class PostgresImpl(MigrationImpl):
    name: ClassVar[str] = "postgres"
    transactional_ddl: ClassVar[bool] = True
    legacy_layouts: ClassVar[bool] = False

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
