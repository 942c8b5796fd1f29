"""A PostgreSQL session that ends mid-run stops the run with a typed error, blaming no input.

The server can end a session at any time (a restart, ``pg_terminate_backend``, a
failover). The loader used to treat the error as the input's fault: each later
input failed in turn on the dead connection ("could not read this input
(OperationalError: the connection is lost)") and the run ended with a raw
``psycopg.OperationalError`` while writing their rejections. It now stops at the
input it was writing, with :class:`WarehouseConnectionLostError` naming the
warehouse (never its password); what was committed before stays, and the same
command later finishes the work.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from egregora_pipeline.backends.postgres.sink_locks import LOCK_CLASS, LOCK_ORDER
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.errors import WarehouseError
from egregora_pipeline.ingestion.errors import WarehouseConnectionLostError
from egregora_pipeline.ingestion.report import IngestReport
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
)
from tests.postgres.server import PostgresServer

__all__ = ["pg_target", "postgres_database", "postgres_server"]

TIMEOUT_SECONDS = 60


def _chats(folder: Path) -> list[Path]:
    chats = []
    for n in range(3):
        chat = folder / f"WhatsApp Chat with C{n}.txt"
        chat.write_text(f"01/02/2020, 10:00 - Ana: hello {n}\n", encoding="utf-8")
        chats.append(chat)
    return chats


def test_a_session_ended_by_the_server_stops_the_run_and_blames_no_input(
    pg_target: PostgresTarget, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    chats = _chats(tmp_path)
    settings = Settings(media_dir=tmp_path / "media", timezone="UTC", lock_timeout_seconds=60)
    outcome: list[IngestReport | BaseException] = []

    def run() -> None:
        try:
            outcome.append(ingest_postgres(pg_target, chats, settings=settings, run_id="r"))
        except BaseException as error:
            outcome.append(error)

    with pg_target.connect(autocommit=True) as other:
        # hold the messages table so the run's session waits where it can be ended
        other.execute("BEGIN")
        other.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, LOCK_ORDER.index("messages"))
        )
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while (
            waiting := other.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
        ) is None:
            assert worker.is_alive(), outcome
            assert time.monotonic() < deadline, "the run never reached its first write"
            time.sleep(0.05)
        other.execute("SELECT pg_terminate_backend(%s)", waiting)
        other.execute("COMMIT")
        worker.join(TIMEOUT_SECONDS)
    assert not worker.is_alive()

    (error,) = outcome
    assert isinstance(error, WarehouseConnectionLostError), repr(error)
    assert isinstance(error, WarehouseError)
    message = str(error)
    assert message.startswith(f"warehouse {pg_target.display}: the connection")
    assert postgres_server.password not in message
    with pg_target.connect() as pg:
        assert pg.execute("SELECT count(*) FROM ingest_rejections").fetchone() == (0,)
        assert pg.execute("SELECT count(*) FROM messages").fetchone() == (0,)

    # the server is still there: the same command then loads everything
    again = ingest_postgres(pg_target, chats, settings=settings, run_id="again")
    assert again.ok
    assert again.messages_added == 3
