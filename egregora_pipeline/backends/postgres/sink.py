"""The PostgreSQL sink: parse in DuckDB, load with COPY, upsert by key.

:class:`PostgresSink` is the :class:`~egregora_pipeline.backends.sink_base.Sink`
the pipeline writes through
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
  changed one updated in place (``created_at`` kept); the identity claims
  (the same query as DuckDB's, :mod:`..sink_sql`) are checked against the
  server's rows first;
* ``ingest_rejections``: keyed by the deterministic ``rejection_id``.

**Concurrent runs.** The declared tables carry no PRIMARY KEY / UNIQUE constraint (see
the ``0001`` revision), so ``ON CONFLICT`` has nothing to lean on. Each write instead
takes a transaction-scoped advisory lock per table (:mod:`.sink_locks`) *before* the
statement that reads the stored keys: under READ COMMITTED the anti-join then sees every
row a concurrent run committed, and no key is inserted twice. Parsing and the ``COPY``
into the session's own staging table run outside the lock, so concurrent runs overlap
everywhere but in the final ``INSERT ... SELECT``. Locks are taken in one order
(messages, documents, rejections), so runs cannot deadlock on them. Rejections written
inside a :meth:`~PostgresSink.transaction` (a chat writes them in batches *while it is
parsed*) are therefore only staged in the session's own table and moved into
``ingest_rejections`` as the transaction's last statement, under the last lock: a batch
written mid-parse once took the rejections lock before the messages lock, and a
concurrent run holding messages and waiting for rejections made PostgreSQL abort one of
the chats as a deadlock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.backends.postgres.scratch import Scratch
from egregora_pipeline.backends.postgres.sink_copy import copy_csv, copy_rows, stage_like
from egregora_pipeline.backends.postgres.sink_errors import (
    IngestLockTimeoutError,
    check_storable,
    printable,
    session_ended,
)
from egregora_pipeline.backends.postgres.sink_locks import (
    lock_table,
    set_lock_timeout,
    table_holder,
)
from egregora_pipeline.backends.sink_base import ChatParse, Counts, MessageWriter, Rejection
from egregora_pipeline.backends.sink_sql import (
    ARROW_SCHEMAS,
    PROFILE_COLUMNS,
    STORED_PROFILES_SQL,
    claim_origin,
    claims_sql,
    clash_reasons,
    insert_new_messages,
    unchanged_sql,
)
from egregora_pipeline.compute_engine import describe_engine_error, fatal_engine_error
from egregora_pipeline.defaults import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.errors import WarehouseConnectionLostError
from egregora_pipeline.ids import rejection_id
from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    import psycopg

    from egregora_pipeline.backends.postgres.target import PostgresTarget

_MESSAGES_IN: Final = "_egregora_messages_in"
_DOCUMENTS_IN: Final = "_egregora_documents_in"
_CLAIMS_IN: Final = "_egregora_claims_in"
_REJECTIONS_IN: Final = "_egregora_rejections_in"


def _messages_columns() -> list[str]:
    from egregora_pipeline.schema import MESSAGES

    return list(MESSAGES.schema.names)


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
        self._scratch = Scratch()
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
            table, holder = table_holder(self._pg)
            raise IngestLockTimeoutError(
                self._display,
                table,
                self._lock_timeout,
                holder,
                who="another session held the table",
                what="that session",
            ) from None
        except psycopg.Error as error:
            if self._pg.closed or self._pg.broken or session_ended(error):
                raise WarehouseConnectionLostError(
                    self._display, printable(str(error).strip().splitlines()[0] or "no detail")
                ) from None
            raise
        finally:
            self._locked.clear()
            self._in_transaction = self._staged_rejections = False

    def _lock(self, table: str) -> None:
        """The table's advisory lock (:func:`.sink_locks.lock_table`), once per transaction."""
        if table in self._locked:
            return
        lock_table(self._pg, table, lock_timeout=self._lock_timeout, display=self._display)
        self._locked.add(table)

    # -- messages -----------------------------------------------------------------------

    def load_chat(self, parse: ChatParse[Counts]) -> Counts:
        """Parse the chat in the scratch DuckDB, then add its new messages to PostgreSQL.

        Its rejected lines go where ``parse`` puts them (the pipeline's
        :class:`~egregora_pipeline.ingestion.rejection_log.RejectionLog` writes
        them here, in batches).

        The scratch table starts empty for every chat, so the parse decides
        nothing about idempotence: the counts are corrected to what the
        anti-join in PostgreSQL actually inserted.
        """
        self._scratch.reset_messages()
        write: MessageWriter = insert_new_messages
        try:
            with self._scratch.transaction():
                loaded = parse(self._scratch.conn, write)
            added = self._push_messages() if loaded.added else 0
        finally:
            self._scratch.drop_messages()
        loaded.skipped += loaded.added - added
        loaded.added = added
        return loaded

    def _push_messages(self) -> int:
        """COPY the scratch's messages into a staging table, then insert the new ones."""
        self._scratch.refuse_nul(self._messages)
        names = ", ".join(quote_ident(c) for c in self._messages)
        spool = self._scratch.messages_csv(self._messages)
        staging = quote_ident(_MESSAGES_IN)
        try:
            stage_like(self._pg, staging, "messages")
            copy_csv(self._pg, staging, self._messages, spool)
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

    # -- documents ----------------------------------------------------------------------

    def claimed_elsewhere(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """The DuckDB sink's claims against the server's rows (same query, same rules)."""
        if not records:
            return {}
        staging = quote_ident(_CLAIMS_IN)
        self._pg.execute(f"DROP TABLE IF EXISTS {staging}")
        self._pg.execute(
            f"CREATE TEMP TABLE {staging} (id text, doc_type text, slug text, origin text) "
            "ON COMMIT DROP"
        )
        copy_rows(
            self._pg,
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
        """:func:`..duckdb.documents.stored_profiles` from the server, waiting at most the lock
        timeout for a table another session holds (a migration's ALTER)."""
        with self.transaction():
            set_lock_timeout(self._pg, self._lock_timeout)
            rows = self._pg.execute(STORED_PROFILES_SQL).fetchall()
        return [dict(zip(PROFILE_COLUMNS, row, strict=True)) for row in rows]

    def upsert_documents(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """The DuckDB sink's upsert in PostgreSQL: COPY, an update and an anti-join."""
        if not records:
            return {}
        for record in records:
            check_storable(record)
        columns = list(ARROW_SCHEMAS["documents"].names)
        staging = quote_ident(_DOCUMENTS_IN)
        stage_like(self._pg, staging, "documents")
        copy_rows(self._pg, staging, columns, ([r.get(c) for c in columns] for r in records))
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
        """The DuckDB sink's rejections in PostgreSQL (same ids: :func:`.ids.rejection_id`).

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
                    printable(r.source_path),
                    r.line_number,
                    r.column_number,
                    printable(r.reason),
                    None if r.raw is None else printable(r.raw),
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
        copy_rows(self._pg, staging, columns, rows.values())
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

    # -- errors -------------------------------------------------------------------------

    def fatal(self, error: BaseException) -> BaseException | None:
        """Chats are parsed in DuckDB here too: its Ctrl-C and full disk stop the run."""
        return fatal_engine_error(error)

    def describe(self, error: BaseException) -> str | None:
        return describe_engine_error(error)
