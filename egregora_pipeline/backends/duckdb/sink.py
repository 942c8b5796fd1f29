"""The DuckDB sink: every write of an ingestion run goes straight to the warehouse file.

The embedded default :class:`~egregora_pipeline.backends.sink_base.Sink`. A chat
is parsed on the warehouse connection itself (DuckDB is the parser's compute
engine and the warehouse at once), so its rows land in ``messages`` in the same
statement that computes them. One input, one transaction (:func:`transaction`),
rolled back whole when anything in it fails, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import duckdb

from egregora_pipeline.backends.duckdb import documents, rejections
from egregora_pipeline.backends.sink_base import ChatParse, Counts, Rejection
from egregora_pipeline.backends.sink_sql import insert_new_messages
from egregora_pipeline.compute_engine import (
    describe_engine_error,
    fatal_engine_error,
    is_interruption,
)


@contextlib.contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One input, one transaction: either everything from it lands or nothing does."""
    try:
        conn.execute("BEGIN TRANSACTION")
    except BaseException:
        rollback(conn)  # an interrupted BEGIN may have opened the transaction
        raise
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # Also when COMMIT itself failed (e.g. interrupted): the connection must not
        # be left inside the transaction, where later statements would see its rows.
        rollback(conn)
        raise


def rollback(conn: duckdb.DuckDBPyConnection, attempts: int = 20) -> None:
    """ROLLBACK, again if a Ctrl-C interrupted the ROLLBACK itself.

    An interrupted ROLLBACK leaves the connection in an aborted transaction
    where every later statement fails; any other error (no transaction
    active) means there is nothing left to roll back.
    """
    for _ in range(attempts):
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error as error:
            if is_interruption(error):
                continue
        return


class DuckDBSink:
    """The embedded default: every write goes straight to the DuckDB warehouse ``conn``."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return transaction(self.conn)

    def load_chat(self, parse: ChatParse[Counts]) -> Counts:
        return parse(self.conn, insert_new_messages)

    def claimed_elsewhere(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        return documents.claimed_elsewhere(self.conn, records)

    def stored_profiles(self) -> list[dict[str, Any]]:
        return documents.stored_profiles(self.conn)

    def upsert_documents(self, records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        return documents.upsert_documents(self.conn, records)

    def insert_rejections(
        self, rejections_: Iterable[Rejection], *, run_id: str, input_kind: str
    ) -> int:
        return rejections.insert_rejections(
            self.conn, rejections_, run_id=run_id, input_kind=input_kind
        )

    def fatal(self, error: BaseException) -> BaseException | None:
        return fatal_engine_error(error)

    def describe(self, error: BaseException) -> str | None:
        return describe_engine_error(error)
