"""Ingestion into a PostgreSQL warehouse: parse in DuckDB, load with COPY, upsert by key.

:class:`PostgresSink` is the :class:`~.sinks.Sink` the pipeline writes through
when the warehouse is a PostgreSQL server. Parsing stays where it is fastest:
a chat is parsed by the very same DuckDB SQL as for a DuckDB warehouse, into a
private in-memory DuckDB ("scratch") that holds one chat at a time. What it
produced goes to PostgreSQL in bulk -- DuckDB writes it as CSV, which is fed
to ``COPY ... FROM STDIN`` in 1 MiB blocks -- into a temporary staging table,
and set-based SQL moves it into the warehouse. Documents and rejections,
already Python records, go through ``COPY`` too (psycopg's ``write_row``
serialises them into the same stream). Nothing is ever inserted row by row.

Idempotence and identity are those of the DuckDB path, decided *in
PostgreSQL*, inside the input's transaction:

* ``messages``: rows whose ``event_id`` is already stored are skipped;
* ``documents``: new ``id`` inserted, same ``source_checksum`` skipped, a
  changed one updated in place (``created_at`` kept); the claims of
  :func:`.loader.claimed_elsewhere` (the same query) are checked against the
  server's rows first;
* ``ingest_rejections``: keyed by the deterministic ``rejection_id``.

**Concurrent runs.** The declared tables carry no PRIMARY KEY / UNIQUE
constraint (see the ``0001`` revision), so ``ON CONFLICT`` has nothing to
lean on. Each write instead takes a transaction-scoped advisory lock per
table (:data:`LOCK_CLASS`, the table's rank) *before* the statement that
reads the stored keys: under READ COMMITTED the anti-join then sees every row
a concurrent run committed, and no key is inserted twice. Parsing and the
``COPY`` into the session's own staging table run outside the lock, so
concurrent runs overlap everywhere but in the final ``INSERT ... SELECT``.
Locks are taken in one order (messages, documents, rejections), so runs
cannot deadlock on them. Rejections written inside a :meth:`~PostgresSink.transaction`
(a chat writes them in batches *while it is parsed*) are therefore only staged
in the session's own table and moved into ``ingest_rejections`` as the
transaction's last statement, under the last lock: a batch written mid-parse
once took the rejections lock before the messages lock, and a concurrent run
holding messages and waiting for rejections made PostgreSQL abort one of the
chats as a deadlock.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb

from egregora_pipeline.connection import bounded_config
from egregora_pipeline.errors import WarehouseError, WarehouseLockedError
from egregora_pipeline.ingestion.errors import (
    IngestionError,
    InvalidSettingError,
    WarehouseConnectionLostError,
)
from egregora_pipeline.ingestion.ids import rejection_id
from egregora_pipeline.ingestion.loader import (
    ARROW_SCHEMAS,
    PROFILE_COLUMNS,
    STORED_PROFILES_SQL,
    claim_origin,
    claims_sql,
    clash_reasons,
    unchanged_sql,
)
from egregora_pipeline.ingestion.rejection_log import RejectionSink
from egregora_pipeline.ingestion.report import IngestReport, Rejection
from egregora_pipeline.ingestion.streams import ReadableBytes
from egregora_pipeline.ingestion.whatsapp.formats import DateOrder
from egregora_pipeline.ingestion.whatsapp.messages import ChatLoad, load_chat
from egregora_pipeline.processes import left_by_a_dead_process, owned_prefix
from egregora_pipeline.settings import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.sql import quote_ident, quote_literal
from egregora_pipeline.warehouse_url import postgres_lock_timeout

if TYPE_CHECKING:
    import psycopg

    from egregora_pipeline.settings import Settings
    from egregora_pipeline.warehouse_url import PostgresTarget

LOCK_CLASS: Final = 0x45475249
"""First key of ``pg_advisory_xact_lock(int, int)`` for ingestion writes ("EGRI");
the second is the table's rank in :data:`LOCK_ORDER`."""
LOCK_ORDER: Final = ("messages", "documents", "ingest_rejections")
"""The one order in which a transaction takes the table locks (so runs cannot deadlock)."""
COPY_BLOCK_BYTES: Final = 1 << 20
"""How much CSV is handed to ``COPY`` per write: big enough to amortise the call."""

_MESSAGES_IN: Final = "_egregora_messages_in"
_DOCUMENTS_IN: Final = "_egregora_documents_in"
_CLAIMS_IN: Final = "_egregora_claims_in"
_REJECTIONS_IN: Final = "_egregora_rejections_in"


class IngestLockTimeoutError(WarehouseLockedError):
    """Another run kept writing a table for longer than we wait: the run stops.

    Not the input's fault, so no input is blamed (the pipeline lets this
    error through); nothing of the input being written was committed, and the
    same command later finishes the work.
    """

    def __init__(
        self,
        url: str,
        table: str,
        waited_seconds: float,
        holder: str,
        *,
        who: str = "another ingest kept writing",
        what: str = "that run",
    ) -> None:
        WarehouseError.__init__(
            self,
            f"warehouse {url}: {who} {table!r} for "
            f"{waited_seconds:g}s ({holder}); this run stopped before writing the input "
            f"it was on. Wait for {what} to finish, or raise EGREGORA_LOCK_TIMEOUT.",
        )
        self.path = self.url = url
        self.table = table
        self.waited_seconds = waited_seconds
        self.holder = holder


class NotStorableInPostgresError(IngestionError):
    """A value PostgreSQL cannot store: text holding the NUL character (U+0000).

    DuckDB stores it, PostgreSQL's ``text`` and ``json`` refuse it; rather than
    alter the text (and with it a message's ``event_id``), the input is refused
    as a whole, naming where the character is, and the other inputs still load.
    """

    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where} holds the NUL character (U+0000), which a PostgreSQL warehouse "
            "cannot store (DuckDB can): remove it from the file and ingest it again"
        )
        self.where = where


_NUL: Final = "\x00"


def _check_storable(record: Mapping[str, Any]) -> None:
    """Refuse a document record holding a NUL anywhere, naming the column.

    JSON columns (``extensions``) are looked into: ``json`` stores a NUL escaped
    (``\\u0000``) but cannot give it back as text, so ``extensions->>'origin'``
    (the identity claims of every later ingest) would fail on that row for good.
    """
    json_columns = _json_columns()
    for column, value in record.items():
        if column in json_columns and isinstance(value, str):
            value = json.loads(value)
        if _holds_nul(value):
            raise NotStorableInPostgresError(f"the {column!r} of document {record.get('id')!r}")


@functools.cache
def _json_columns() -> frozenset[str]:
    """The documents' JSON columns (``extensions``), from the declaration."""
    from egregora_pipeline.schema import DOCUMENTS

    return frozenset(name for name, dtype in DOCUMENTS.schema.items() if dtype.is_json())


def _holds_nul(value: Any) -> bool:
    """A NUL in ``value``, a string or a JSON-like tree of lists and dicts (keys too)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _NUL in item:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _printable(text: str) -> str:
    return text.replace(_NUL, "\ufffd")


def _messages_columns() -> list[str]:
    from egregora_pipeline.schema import MESSAGES

    return list(MESSAGES.schema.names)


_SPOOL_PREFIX: Final = "egregora-pg-load-"


def _sweep_abandoned_spools() -> None:
    """Delete the spool folders of runs of this host that were killed (``SIGKILL`` cannot
    clean up): their spilled chats would otherwise fill the temp folder, run after run."""
    for path in Path(tempfile.gettempdir()).glob(f"{_SPOOL_PREFIX}*"):
        if left_by_a_dead_process(path.name, _SPOOL_PREFIX):
            shutil.rmtree(path, ignore_errors=True)


class PostgresSink:
    """Writes of an ingestion run into the PostgreSQL warehouse ``pg``.

    ``pg`` must be in autocommit mode (as :meth:`PostgresTarget.connect`
    returns it): each :meth:`transaction` is one explicit transaction. The
    tables must exist at the declared schema. :meth:`open` makes the sink
    from a target and closes what it opened.
    """

    def __init__(
        self,
        pg: psycopg.Connection[Any],
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
        display: str = "PostgreSQL",
    ) -> None:
        self._pg = pg
        self._lock_timeout = lock_timeout
        self._display = display
        _sweep_abandoned_spools()
        self._spool = Path(tempfile.mkdtemp(prefix=owned_prefix(_SPOOL_PREFIX)))
        # a chat past the chat memory limit spills here, as it spills beside a DuckDB file
        try:
            self._scratch = duckdb.connect(
                ":memory:", config={**bounded_config(None), "temp_directory": str(self._spool)}
            )
        except BaseException:
            shutil.rmtree(self._spool, ignore_errors=True)
            raise
        self._locked: set[str] = set()
        self._messages = _messages_columns()
        self._in_transaction = False
        """Inside :meth:`transaction`: rejections are staged, moved before COMMIT."""
        self._staged_rejections = False

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, target: PostgresTarget, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    ) -> Iterator[PostgresSink]:
        """A sink on a new connection to ``target``; closed (with its scratch) on exit.

        ``lock_timeout`` bounds the wait for another run's write of the same table
        (``EGREGORA_LOCK_TIMEOUT``, as for DuckDB's file lock).
        """
        pg = target.connect(autocommit=True)
        try:
            sink = cls(pg, lock_timeout=lock_timeout, display=target.display)
            try:
                yield sink
            finally:
                sink.close()
        finally:
            pg.close()

    def close(self) -> None:
        """Close the scratch DuckDB and delete the spool folder (not the PostgreSQL connection)."""
        self._scratch.close()
        shutil.rmtree(self._spool, ignore_errors=True)

    # -- transactions and locks ---------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One PostgreSQL transaction; its advisory locks are released when it ends."""
        import psycopg

        self._locked.clear()
        self._staged_rejections = False
        self._in_transaction = True
        try:
            with self._pg.transaction():
                yield
                self._in_transaction = False
                if self._staged_rejections:
                    self._move_staged_rejections()
        except psycopg.errors.LockNotAvailable:
            # a table another session holds (a migration's ALTER): not the input's fault
            table, holder = self._table_holder()
            raise IngestLockTimeoutError(
                self._display,
                table,
                self._lock_timeout,
                holder,
                who="another session held the table",
                what="that session",
            ) from None
        except psycopg.Error as error:
            if self._pg.closed or self._pg.broken or _session_ended(error):
                raise WarehouseConnectionLostError(
                    self._display, _printable(str(error).strip().splitlines()[0] or "no detail")
                ) from None
            raise
        finally:
            self._locked.clear()
            self._in_transaction = self._staged_rejections = False

    def _lock(self, table: str) -> None:
        """Serialise this table's key check and write with concurrent runs, until commit.

        The wait is bounded (PostgreSQL's ``lock_timeout``, for the rest of the
        transaction); past it the run stops with :class:`IngestLockTimeoutError`
        naming the session that holds the lock. The lock is taken in a savepoint
        so that, after a timeout, the holder can still be looked up.
        """
        if table in self._locked:
            return
        import psycopg

        key = (LOCK_CLASS, LOCK_ORDER.index(table))
        try:
            with self._pg.transaction():  # a savepoint
                self._pg.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    (postgres_lock_timeout(self._lock_timeout),),
                )
                self._pg.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)
        except psycopg.errors.LockNotAvailable:
            raise IngestLockTimeoutError(
                self._display, table, self._lock_timeout, self._holder(key)
            ) from None
        self._locked.add(table)

    def _holder(self, key: tuple[int, int]) -> str:
        """Who holds the advisory lock ``key``: pid, user, application, client, since when."""
        found = self._pg.execute(
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

    def _table_holder(self) -> tuple[str, str]:
        """Which declared table another session holds in a mode that blocks writes, and who."""
        found = self._pg.execute(
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

    # -- messages -----------------------------------------------------------------------

    def load_chat(
        self,
        stream: ReadableBytes,
        *,
        source_path: str,
        thread_id: str,
        tenant_id: str,
        timezone: str,
        namespace: uuid.UUID | None,
        run_id: str,
        resolve_attachments: Callable[[list[str]], Mapping[str, str]] | None = None,
        date_order: DateOrder | None = None,
        progress: Callable[[int], None] | None = None,
        rejections: RejectionSink | None = None,
    ) -> ChatLoad:
        """Parse the chat in the scratch DuckDB, then add its new messages to PostgreSQL.

        Its rejected lines go to ``rejections`` as they are found (the pipeline's
        :class:`.rejection_log.RejectionLog` writes them here, in batches).

        The scratch table starts empty for every chat, so the parse decides
        nothing about idempotence: the counts are corrected to what the
        anti-join in PostgreSQL actually inserted.
        """
        self._reset_scratch()
        try:
            with _scratch_transaction(self._scratch):
                loaded = load_chat(
                    self._scratch,
                    stream,
                    source_path=source_path,
                    thread_id=thread_id,
                    tenant_id=tenant_id,
                    timezone=timezone,
                    namespace=namespace,
                    run_id=run_id,
                    resolve_attachments=resolve_attachments,
                    date_order=date_order,
                    progress=progress,
                    rejections=rejections,
                )
            added = self._push_messages() if loaded.added else 0
        finally:
            self._scratch.execute("DROP TABLE IF EXISTS messages")
        loaded.skipped += loaded.added - added
        loaded.added = added
        return loaded

    def _reset_scratch(self) -> None:
        from egregora_pipeline.schema import MESSAGES, create_table_sql

        self._scratch.execute("DROP TABLE IF EXISTS messages")
        self._scratch.execute(create_table_sql("messages", MESSAGES.schema))

    def _refuse_nul(self) -> None:
        """Name the first message holding a NUL (one scan; PostgreSQL would refuse the COPY)."""
        text_columns = [c for c in self._messages if c not in ("ts", "created_at")]
        has_nul = " OR ".join(f"contains({quote_ident(c)}::VARCHAR, chr(0))" for c in text_columns)
        found = self._scratch.execute(
            f"SELECT msg_id, event_id FROM messages WHERE {has_nul} ORDER BY msg_id::BIGINT LIMIT 1"
        ).fetchone()
        if found is not None:
            raise NotStorableInPostgresError(f"message {found[0]} (event_id {found[1]})")

    def _push_messages(self) -> int:
        """COPY the scratch's messages into a staging table, then insert the new ones."""
        self._refuse_nul()
        names = ", ".join(quote_ident(c) for c in self._messages)
        spool = self._spool / "messages.csv"
        # TimeZone only shapes how TIMESTAMPTZ is printed: UTC, with its +00 offset
        self._scratch.execute("SET TimeZone = 'UTC'")
        try:
            self._scratch.execute(
                f"COPY (SELECT {names} FROM messages) TO {quote_literal(str(spool))} "
                "(FORMAT csv, HEADER false)"
            )
        finally:
            self._scratch.execute("RESET TimeZone")
        staging = quote_ident(_MESSAGES_IN)
        try:
            self._stage_like(staging, "messages")
            with (
                self._pg.cursor() as cursor,
                cursor.copy(f"COPY {staging} ({names}) FROM STDIN (FORMAT csv)") as copy,
                spool.open("rb") as csv,
            ):
                while block := csv.read(COPY_BLOCK_BYTES):
                    copy.write(block)
        finally:
            spool.unlink(missing_ok=True)
        self._pg.execute(f"ANALYZE {staging}")  # a temp table has no statistics otherwise
        self._lock("messages")
        cursor = self._pg.execute(
            f"INSERT INTO messages ({names}) SELECT {names} FROM {staging} s "
            "WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.event_id = s.event_id)"
        )
        added = cursor.rowcount
        self._pg.execute(f"DROP TABLE {staging}")
        return added

    def _stage_like(self, staging: str, table: str) -> None:
        """A session-local staging table shaped like ``table``, gone at commit."""
        self._pg.execute(f"DROP TABLE IF EXISTS {staging}")
        self._pg.execute(f"CREATE TEMP TABLE {staging} (LIKE {quote_ident(table)}) ON COMMIT DROP")

    def _copy_rows(
        self, staging: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Python rows into ``staging`` with one ``COPY`` (psycopg serialises them in bulk)."""
        names = ", ".join(quote_ident(c) for c in columns)
        with (
            self._pg.cursor() as cursor,
            cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    # -- documents ----------------------------------------------------------------------

    def claimed_elsewhere(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """:func:`.loader.claimed_elsewhere` against the server's rows (same query, same rules)."""
        if not records:
            return {}
        staging = quote_ident(_CLAIMS_IN)
        self._pg.execute(f"DROP TABLE IF EXISTS {staging}")
        self._pg.execute(
            f"CREATE TEMP TABLE {staging} (id text, doc_type text, slug text, origin text) "
            "ON COMMIT DROP"
        )
        self._copy_rows(
            staging,
            ("id", "doc_type", "slug", "origin"),
            (
                (
                    r["id"],
                    r.get("doc_type"),
                    r.get("slug") if r.get("doc_type") == "post" else None,
                    claim_origin(r),
                )
                for r in records
            ),
        )
        self._lock("documents")
        found = self._pg.execute(claims_sql(staging, quote_ident("documents"))).fetchall()
        self._pg.execute(f"DROP TABLE {staging}")
        return clash_reasons(found, records)

    def stored_profiles(self) -> list[dict[str, Any]]:
        """:func:`.loader.stored_profiles` from the server, waiting at most the lock
        timeout for a table another session holds (a migration's ALTER)."""
        with self.transaction():
            self._pg.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                (postgres_lock_timeout(self._lock_timeout),),
            )
            rows = self._pg.execute(STORED_PROFILES_SQL).fetchall()
        return [dict(zip(PROFILE_COLUMNS, row, strict=True)) for row in rows]

    def upsert_documents(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """:func:`.loader.upsert_documents` in PostgreSQL: COPY, an update and an anti-join."""
        if not records:
            return {}
        for record in records:
            _check_storable(record)
        columns = list(ARROW_SCHEMAS["documents"].names)
        staging = quote_ident(_DOCUMENTS_IN)
        self._stage_like(staging, "documents")
        self._copy_rows(staging, columns, ([r.get(c) for c in columns] for r in records))
        self._lock("documents")
        outcome = {
            str(doc_id): str(status)
            for doc_id, status in self._pg.execute(
                f"""
                SELECT s.id, CASE WHEN d.id IS NULL THEN 'added'
                    WHEN {unchanged_sql("d")} THEN 'skipped'
                    ELSE 'updated' END
                FROM {staging} s LEFT JOIN documents d ON d.id = s.id
                """
            ).fetchall()
        }
        updatable = [c for c in columns if c not in ("id", "created_at")]
        assignments = ", ".join(f"{quote_ident(c)} = s.{quote_ident(c)}" for c in updatable)
        self._pg.execute(
            f"UPDATE documents SET {assignments} FROM {staging} s "
            f"WHERE documents.id = s.id AND NOT ({unchanged_sql('documents')})"
        )
        names = ", ".join(quote_ident(c) for c in columns)
        self._pg.execute(
            f"INSERT INTO documents ({names}) SELECT {names} FROM {staging} s "
            "WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = s.id)"
        )
        self._pg.execute(f"DROP TABLE {staging}")
        return outcome

    # -- rejections ---------------------------------------------------------------------

    def insert_rejections(
        self, rejections: Iterable[Rejection], *, run_id: str, input_kind: str
    ) -> int:
        """:func:`.loader.insert_rejections` in PostgreSQL (same ids: :func:`.ids.rejection_id`).

        The first occurrence of an id wins, as in DuckDB; the ids are computed
        here in Python, where the DuckDB path computes the same UUIDv5 in SQL.
        A NUL quoted in a rejection is stored as U+FFFD (PostgreSQL refuses
        NUL, and losing the rejection of a file holding one would be worse);
        the id is computed before, so it is the one DuckDB gives.

        Inside :meth:`transaction` the rows are staged (no lock taken) and the
        count is of the rows staged; they reach ``ingest_rejections`` at the end
        of the transaction, after the messages and documents writes (the lock
        order). Outside one, they are written at once and the count is of rows added.
        """
        now = datetime.now(UTC)
        rows: dict[str, tuple[Any, ...]] = {}
        for r in rejections:
            key = rejection_id(r.source_path, r.line_number, r.column_number, r.reason)
            if key not in rows:
                rows[key] = (
                    key,
                    run_id,
                    input_kind,
                    _printable(r.source_path),
                    r.line_number,
                    r.column_number,
                    _printable(r.reason),
                    None if r.raw is None else _printable(r.raw),
                    now,
                )
        if not rows:
            return 0
        columns = list(ARROW_SCHEMAS["ingest_rejections"].names)
        staging = quote_ident(_REJECTIONS_IN)
        if not self._staged_rejections:
            # _seq numbers the rows in the order they came: across batches too, the
            # first occurrence of an id wins
            self._pg.execute(f"DROP TABLE IF EXISTS {staging}")
            self._pg.execute(
                f"CREATE TEMP TABLE {staging} (LIKE {quote_ident('ingest_rejections')}, "
                "_seq bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP"
            )
            self._staged_rejections = True
        self._copy_rows(staging, columns, rows.values())
        if self._in_transaction:
            return len(rows)
        return self._move_staged_rejections()

    def _move_staged_rejections(self) -> int:
        """Insert the staged rejections not stored yet (first occurrence of an id wins)."""
        self._staged_rejections = False
        columns = list(ARROW_SCHEMAS["ingest_rejections"].names)
        staging = quote_ident(_REJECTIONS_IN)
        self._lock("ingest_rejections")
        names = ", ".join(quote_ident(c) for c in columns)
        cursor = self._pg.execute(
            f"INSERT INTO ingest_rejections ({names}) SELECT {names} FROM "
            f"(SELECT DISTINCT ON (rejection_id) * FROM {staging} "
            "ORDER BY rejection_id, _seq) s "
            "WHERE NOT EXISTS "
            "(SELECT 1 FROM ingest_rejections r WHERE r.rejection_id = s.rejection_id)"
        )
        added = cursor.rowcount
        self._pg.execute(f"DROP TABLE {staging}")
        return added


_SESSION_ENDED_STATES: Final = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: the server ended the session."""


def _session_ended(error: BaseException) -> bool:
    """Whether ``error`` says the session is gone (connection class 08, or a shutdown)."""
    state = getattr(error, "sqlstate", None) or ""
    return state.startswith("08") or state in _SESSION_ENDED_STATES


@contextlib.contextmanager
def _scratch_transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ingest_postgres(
    target: PostgresTarget,
    paths: Sequence[Path],
    *,
    settings: Settings,
    run_id: str,
    **options: Any,
) -> IngestReport:
    """:func:`.pipeline.ingest` into the PostgreSQL warehouse ``target`` (one connection).

    ``settings.media_dir`` (``EGREGORA_MEDIA_DIR``) is required when documents
    are written: a server has no folder next to it for the media store.
    """
    from egregora_pipeline.ingestion.pipeline import DEFAULT_TARGETS, ingest

    if settings.media_dir is None and "documents" in options.get("targets", DEFAULT_TARGETS):
        raise InvalidSettingError(
            "EGREGORA_MEDIA_DIR",
            "",
            f"a folder for the media store: the PostgreSQL warehouse {target.display} "
            "has no folder of its own to keep it beside",
        )
    with PostgresSink.open(target, lock_timeout=settings.lock_timeout_seconds) as sink:
        return ingest(sink, paths, settings=settings, run_id=run_id, **options)
