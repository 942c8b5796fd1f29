"""The PostgreSQL sink's scratch: a private in-memory DuckDB a chat is parsed on.

Parsing stays where it is fastest: a chat is parsed by the very same DuckDB SQL
(the WhatsApp parser's compute engine) as for a DuckDB warehouse, into this
scratch database, which holds one chat at a time. What it produced is written
as CSV into a spool folder and fed to ``COPY ... FROM STDIN``
(:mod:`.sink_copy`). A chat past the chat memory limit spills into the same
folder, as it spills beside a DuckDB file.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import duckdb

from egregora_pipeline.backends.postgres.sink_errors import NotStorableInPostgresError
from egregora_pipeline.compute_engine import bounded_config
from egregora_pipeline.processes import left_by_a_dead_process, owned_prefix
from egregora_pipeline.sql import quote_ident, quote_literal

_SPOOL_PREFIX: Final = "egregora-pg-load-"


def _sweep_abandoned_spools() -> None:
    """Delete the spool folders of runs of this host that were killed (``SIGKILL`` cannot
    clean up): their spilled chats would otherwise fill the temp folder, run after run."""
    for path in Path(tempfile.gettempdir()).glob(f"{_SPOOL_PREFIX}*"):
        if left_by_a_dead_process(path.name, _SPOOL_PREFIX):
            shutil.rmtree(path, ignore_errors=True)


class Scratch:
    """The scratch DuckDB and its spool folder, both gone on :meth:`close`."""

    def __init__(self) -> None:
        _sweep_abandoned_spools()
        self.spool = Path(tempfile.mkdtemp(prefix=owned_prefix(_SPOOL_PREFIX)))
        try:
            self.conn = duckdb.connect(
                ":memory:", config={**bounded_config(None), "temp_directory": str(self.spool)}
            )
        except BaseException:
            shutil.rmtree(self.spool, ignore_errors=True)
            raise

    def close(self) -> None:
        """Close the scratch DuckDB and delete the spool folder."""
        self.conn.close()
        shutil.rmtree(self.spool, ignore_errors=True)

    def reset_messages(self) -> None:
        """An empty ``messages`` table, at the declared schema, for the next chat."""
        from egregora_pipeline.schema import MESSAGES, create_table_sql

        self.conn.execute("DROP TABLE IF EXISTS messages")
        self.conn.execute(create_table_sql("messages", MESSAGES.schema))

    def drop_messages(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS messages")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self.conn
        conn.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def refuse_nul(self, columns: Sequence[str]) -> None:
        """Name the first message holding a NUL (one scan; PostgreSQL would refuse the COPY)."""
        text_columns = [c for c in columns if c not in ("ts", "created_at")]
        has_nul = " OR ".join(f"contains({quote_ident(c)}::VARCHAR, chr(0))" for c in text_columns)
        found = self.conn.execute(
            f"SELECT msg_id, event_id FROM messages WHERE {has_nul} ORDER BY msg_id::BIGINT LIMIT 1"
        ).fetchone()
        if found is not None:
            raise NotStorableInPostgresError(f"message {found[0]} (event_id {found[1]})")

    def messages_csv(self, columns: Sequence[str]) -> Path:
        """The scratch's messages written as CSV into the spool (the caller deletes it)."""
        names = ", ".join(quote_ident(c) for c in columns)
        spool = self.spool / "messages.csv"
        # TimeZone only shapes how TIMESTAMPTZ is printed: UTC, with its +00 offset
        self.conn.execute("SET TimeZone = 'UTC'")
        try:
            self.conn.execute(
                f"COPY (SELECT {names} FROM messages) TO {quote_literal(str(spool))} "
                "(FORMAT csv, HEADER false)"
            )
        finally:
            self.conn.execute("RESET TimeZone")
        return spool
