"""A chat that rejects many lines takes the table locks in the one order all runs use.

A chat's rejected lines are written in batches of
:data:`~egregora_pipeline.ingestion.rejection_log.BATCH_ROWS` while it is parsed
(issue 12). On PostgreSQL every write of a table takes that table's advisory lock
until commit (:mod:`egregora_pipeline.backends.postgres.sink_locks`), in the order
messages, documents, rejections, so that two runs cannot deadlock. A batch written
mid-parse took the rejections lock *before* the messages lock: a run that had
already inserted its messages and was writing its own rejections then formed a
cycle with it, and PostgreSQL aborted one chat with "deadlock detected". The
other run is played here by a session taking the same locks in that order, so the
interleaving is deterministic.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg

from egregora_pipeline.backends.postgres.sink_locks import LOCK_CLASS, LOCK_ORDER
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.ingestion.rejection_log import BATCH_ROWS
from egregora_pipeline.ingestion.report import IngestReport
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
)

__all__ = ["pg_target", "postgres_database", "postgres_server"]

TIMEOUT_SECONDS = 120
BROKEN = BATCH_ROWS + 1
"""Unreadable header lines: one full batch is written during the parse, one row at the end."""


def _chat(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("01/02/2020, 10:00 - Ana: hello\n")
        for n in range(BROKEN):
            out.write(f"01/02/2020, 10:000 - Bob: broken {n}\n")
    return path


def _waiting_for_messages(pg: psycopg.Connection[tuple[object, ...]], holder: int) -> bool:
    found = pg.execute(
        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = %s AND objid = %s AND pid <> %s",
        (LOCK_CLASS, LOCK_ORDER.index("messages"), holder),
    ).fetchone()
    return found is not None


def test_rejections_written_during_a_parse_do_not_deadlock_with_another_run(
    pg_target: PostgresTarget, tmp_path: Path
) -> None:
    chat = _chat(tmp_path / "WhatsApp Chat with Many.txt")
    settings = Settings(media_dir=tmp_path / "media", timezone="UTC", lock_timeout_seconds=60)
    reports: list[IngestReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(ingest_postgres(pg_target, [chat], settings=settings, run_id="many"))
        except BaseException as error:
            errors.append(error)

    with pg_target.connect(autocommit=True) as other, pg_target.connect() as watcher:
        # the other run: its messages are in, it is about to write its rejections
        other.execute("SET deadlock_timeout = '10min'")  # the ingest is the one to notice
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, 0))
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not _waiting_for_messages(watcher, other.info.backend_pid):
            assert worker.is_alive(), errors or reports
            assert time.monotonic() < deadline, "the ingest never reached its messages write"
            time.sleep(0.05)
        other.execute("SET lock_timeout = '30s'")
        other.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            (LOCK_CLASS, LOCK_ORDER.index("ingest_rejections")),
        )
        other.execute("COMMIT")
        worker.join(TIMEOUT_SECONDS)
    assert not worker.is_alive()
    assert errors == []
    (report,) = reports
    (entry,) = report.inputs
    assert entry.error is None, entry.error
    assert entry.messages_added == 1
    assert entry.rejected == BROKEN
    with pg_target.connect() as pg:
        assert pg.execute("SELECT count(*) FROM messages").fetchone() == (1,)
        assert pg.execute(
            "SELECT count(*), count(DISTINCT rejection_id) FROM ingest_rejections"
        ).fetchone() == (BROKEN, BROKEN)
