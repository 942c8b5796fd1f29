"""A table held by a migration (an ALTER in progress) stops an ingest; no input is blamed.

On PostgreSQL ``db upgrade`` can run beside an ingest: its ``ALTER TABLE`` holds
the table in ACCESS EXCLUSIVE mode until it commits. An ingest reaching that
table waits ``EGREGORA_LOCK_TIMEOUT``; past it PostgreSQL cancels the statement.
That cancellation used to be taken for the input's fault: every Markdown file
was refused ("could not write this document: ... LockNotAvailable"), recorded in
``ingest_rejections``, and the run carried on blaming the next inputs. It now
stops the run as a wait for another run's advisory lock does
(:class:`~egregora_pipeline.backends.postgres.sink_errors.IngestLockTimeoutError`,
exit 3), naming the session that holds the table, and blames nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.backends.postgres.sink_errors import IngestLockTimeoutError
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
)

__all__ = ["pg_target", "postgres_database", "postgres_server"]


def _post(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"---\ntitle: {name}\ndate: 2024-01-01\n---\nbody\n", encoding="utf-8")
    return path


def test_a_table_a_migration_holds_stops_the_run_and_blames_no_input(
    pg_target: PostgresTarget, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    for name in ("a.md", "b.md", "c.md"):
        _post(inbox / "posts", name)
    settings = Settings(media_dir=tmp_path / "media", timezone="UTC", lock_timeout_seconds=0.3)

    with pg_target.connect(autocommit=True) as migrator:
        migrator.execute("SET application_name = 'egregora-pipeline db upgrade'")
        migrator.execute("BEGIN")
        migrator.execute('LOCK TABLE "documents" IN ACCESS EXCLUSIVE MODE')
        holder = migrator.info.backend_pid
        with pytest.raises(IngestLockTimeoutError) as stopped:
            ingest_postgres(pg_target, [inbox], settings=settings, run_id="blocked")
        migrator.execute("ROLLBACK")

    message = str(stopped.value)
    assert message.startswith(f"warehouse {pg_target.display}: ")
    assert "'documents'" in message
    assert f"server process {holder}" in message
    assert "egregora-pipeline db upgrade" in message
    with pg_target.connect() as pg:
        assert pg.execute("SELECT count(*) FROM ingest_rejections").fetchone() == (0,)
        assert pg.execute("SELECT count(*) FROM documents").fetchone() == (0,)

    # once the table is free, the same command loads everything
    report = ingest_postgres(pg_target, [inbox], settings=settings, run_id="later")
    assert report.ok
    assert report.documents_added == 3
