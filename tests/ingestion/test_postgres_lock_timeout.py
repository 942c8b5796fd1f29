"""A long ``EGREGORA_LOCK_TIMEOUT`` is a long wait for a PostgreSQL ingest, never a failure.

PostgreSQL's ``lock_timeout`` holds at most 2,147,483,647 ms (about 24.8 days); the
loader sets the run's timeout before every table write, and a longer one stopped
the run at its first write with a raw ``InvalidParameterValue``: nothing loaded.
"""

from __future__ import annotations

from pathlib import Path

from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
)

__all__ = ["pg_target", "postgres_database", "postgres_server"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_an_ingest_with_a_year_long_lock_timeout_loads_everything(
    pg_target: PostgresTarget, tmp_path: Path
) -> None:
    settings = Settings(
        media_dir=tmp_path / "media", timezone="UTC", lock_timeout_seconds=365 * 24 * 3600.0
    )

    report = ingest_postgres(pg_target, [EXAMPLES], settings=settings, run_id="patient")

    assert report.ok, [entry.error for entry in report.inputs]
    assert report.messages_added == 12
    with pg_target.connect() as pg:
        assert pg.execute("SELECT count(*) FROM documents").fetchone() == (8,)
        assert pg.execute("SELECT count(*) FROM ingest_rejections").fetchone() == (0,)
