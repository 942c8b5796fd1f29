"""A PostgreSQL warehouse has no DuckDB storage format: the setting is DuckDB-only.

``EGREGORA_DUCKDB_STORAGE_VERSION`` names the format of new DuckDB *files*
(docs/storage-format.md); on a PostgreSQL URL it changes nothing, ``db current`` and
``db check`` report ``storage_format: null`` and ``db storage-upgrade`` refuses.
"""

from __future__ import annotations

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.cli.json_answers import json_answer
from tests.conftest import run_cli
from tests.postgres.server import PostgresServer


def test_postgresql_reports_no_storage_format_and_ignores_the_setting(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    url = postgres_server.url(postgres_database)
    db = ("--database", url)
    setting = {"EGREGORA_DUCKDB_STORAGE_VERSION": "v2.0.0"}

    done, _ = json_answer("db", "upgrade", *db, env=setting)
    assert done.returncode == ExitCode.OK, done.stderr
    _, current = json_answer("db", "current", *db, env=setting)
    assert current["storage_format"] is None
    _, checked = json_answer("db", "check", *db)
    assert checked["ok"]
    assert checked["storage_format"] is None
    said = run_cli("db", "current", *db)
    assert "storage format" not in said.stdout + said.stderr

    done, refused = json_answer("db", "storage-upgrade", "--to", "v2.0.0", *db)
    assert done.returncode == ExitCode.ERROR
    assert "no DuckDB storage format" in refused["error"]["message"]
    assert postgres_server.password not in done.stdout + done.stderr
