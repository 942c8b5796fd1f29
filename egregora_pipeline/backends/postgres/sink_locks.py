"""The PostgreSQL sink's table locks: one advisory lock per table, always in one order.

The declared tables carry no PRIMARY KEY / UNIQUE constraint (see the ``0001``
revision), so ``ON CONFLICT`` has nothing to lean on. Each write instead takes
a transaction-scoped advisory lock per table (:data:`LOCK_CLASS`, the table's
rank in :data:`LOCK_ORDER`) *before* the statement that reads the stored keys:
under READ COMMITTED the anti-join then sees every row a concurrent run
committed, and no key is inserted twice. The wait is bounded; past it the run
stops naming the session that holds the lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.backends.postgres.sink_errors import IngestLockTimeoutError
from egregora_pipeline.backends.postgres.target import postgres_lock_timeout

if TYPE_CHECKING:
    import psycopg

LOCK_CLASS: Final = 0x45475249
"""First key of ``pg_advisory_xact_lock(int, int)`` for ingestion writes ("EGRI");
the second is the table's rank in :data:`LOCK_ORDER`."""
LOCK_ORDER: Final = ("messages", "documents", "ingest_rejections")
"""The one order in which a transaction takes the table locks (so runs cannot deadlock)."""


def set_lock_timeout(pg: psycopg.Connection[Any], seconds: float) -> None:
    """Bound every lock wait for the rest of the current transaction."""
    pg.execute("SELECT set_config('lock_timeout', %s, true)", (postgres_lock_timeout(seconds),))


def lock_table(
    pg: psycopg.Connection[Any], table: str, *, lock_timeout: float, display: str
) -> None:
    """Serialise this table's key check and write with concurrent runs, until commit.

    The wait is bounded (PostgreSQL's ``lock_timeout``, for the rest of the
    transaction); past it the run stops with :class:`IngestLockTimeoutError`
    naming the session that holds the lock. The lock is taken in a savepoint
    so that, after a timeout, the holder can still be looked up.
    """
    import psycopg

    key = (LOCK_CLASS, LOCK_ORDER.index(table))
    try:
        with pg.transaction():  # a savepoint
            set_lock_timeout(pg, lock_timeout)
            pg.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)
    except psycopg.errors.LockNotAvailable:
        raise IngestLockTimeoutError(display, table, lock_timeout, _holder(pg, key)) from None


def _holder(pg: psycopg.Connection[Any], key: tuple[int, int]) -> str:
    """Who holds the advisory lock ``key``: pid, user, application, client, since when."""
    found = pg.execute(
        "SELECT a.pid, a.usename, a.application_name, a.client_addr::text, a.xact_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
        "AND l.objsubid = 2 LIMIT 1",
        key,
    ).fetchone()
    if found is None:
        return "a session that has ended since"
    pid, user, application, client, since = found
    where = f" from {client}" if client else ""
    name = f" ({application})" if application else ""
    return f"server process {pid} of user {user}{name}{where}, in a transaction since {since}"


def table_holder(pg: psycopg.Connection[Any]) -> tuple[str, str]:
    """Which declared table another session holds in a mode that blocks writes, and who."""
    found = pg.execute(
        "SELECT c.relname, a.pid, a.usename, a.application_name, a.client_addr::text, "
        "a.xact_start FROM pg_locks l "
        "JOIN pg_class c ON c.oid = l.relation "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.granted AND l.pid <> pg_backend_pid() AND c.relname = ANY(%s) "
        "AND c.relnamespace = current_schema()::regnamespace AND l.mode IN "
        "('AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock') "
        "ORDER BY l.mode = 'AccessExclusiveLock' DESC LIMIT 1",
        (list(LOCK_ORDER),),
    ).fetchone()
    if found is None:
        return "one of its tables", "a session that has ended since"
    table, pid, user, application, client, since = found
    where = f" from {client}" if client else ""
    name = f" ({application})" if application else ""
    return str(table), (
        f"server process {pid} of user {user}{name}{where}, in a transaction since {since}"
    )
