"""A PostgreSQL session for the engine, and the advisory lock that serializes migrators.

* :class:`PgConnection` wraps a psycopg connection in autocommit mode and answers
  the engine's DuckDB-style calls (``execute(sql, params)`` with ``?``
  placeholders); the engine issues ``BEGIN`` / ``COMMIT`` itself.
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
from typing import Any, Final

import psycopg

from egregora_pipeline.backends.migration_base import MigrationLockedError
from egregora_pipeline.backends.postgres.target import PostgresTarget, postgres_lock_timeout

LOCK_NAME: Final = "egregora_pipeline.migrations"
LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True
)
"""The advisory lock every migrator of a database takes (a bigint derived from a name)."""
APPLICATION_NAME: Final = "egregora-pipeline"

_HOLDER_SQL: Final = """\
SELECT a.pid, a.application_name, a.client_addr::text, a.client_port,
       a.backend_start, a.state, a.query_start
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND l.classid = %s AND l.objid = %s AND l.objsubid = 1"""
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


_SESSION_ONLY = frozenset(
    {"password", "application_name", "connect_timeout", "hostaddr", "sslcertmode"}
)
"""Parameters libpq reports that name this session, not the warehouse (or are secret)."""


def target_of(conn: PgConnection) -> PostgresTarget:
    """The warehouse an open PostgreSQL session is on (its password kept apart, unshown).

    For callers that hold only the connection (the Dagster op): libpq reports the
    parameters it used, and the password wherever it found it (URL, PGPASSWORD, .pgpass).
    """
    info = conn.raw.info
    params = {k: v for k, v in info.get_parameters().items() if k not in _SESSION_ONLY}
    params.update({"host": info.host, "port": str(info.port), "dbname": info.dbname})
    params.setdefault("user", info.user)
    return PostgresTarget(params, info.password or None)
