"""``--json`` on a real PostgreSQL warehouse: the same documents, the same schemas, no password.

The server's password holds characters a URL must percent-encode (see
``conftest.py``); it must appear in no answer, while the documents name the
warehouse by its password-free URL.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.cli.json_answers import json_answer, junit_cases
from tests.conftest import BUNDLED_HEAD
from tests.postgres.server import PostgresServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def url(postgres_server: PostgresServer, postgres_database: str) -> str:
    return postgres_server.url(postgres_database)


def _no_password(output: str, server: PostgresServer, url: str) -> None:
    assert quote(server.password, safe="") in url, "the URL given carries the password"
    assert server.password not in output
    assert quote(server.password, safe="") not in output


def test_db_commands_answer_json_on_postgresql(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    db = ("--database", url)

    done, upgraded = json_answer("db", "upgrade", *db)
    assert done.returncode == ExitCode.OK, done.stderr
    assert upgraded["to_revision"] == BUNDLED_HEAD
    assert upgraded["warehouse"].startswith("postgresql://")
    _no_password(done.stdout + done.stderr, postgres_server, url)
    done, current = json_answer("db", "current", *db)
    assert current["revision"] == BUNDLED_HEAD
    _no_password(done.stdout, postgres_server, url)

    with psycopg.connect(url) as conn:
        conn.execute('ALTER TABLE documents DROP COLUMN "slug"')
    report = tmp_path / "check.xml"
    done, checked = json_answer("db", "check", *db, "--junit", str(report))

    assert done.returncode == ExitCode.CHECK_FAILED
    assert not checked["ok"]
    tables = {t["table"]: t for t in checked["tables"]}
    assert tables["documents"]["missing_columns"] == ["slug"]
    assert "slug" in str(junit_cases(report)["table documents matches its declaration"])
    _no_password(done.stdout + done.stderr, postgres_server, url)
    done, listed = json_answer("db", "backups", *db)
    assert done.returncode == ExitCode.OK
    assert isinstance(listed["backups"], list)
    _no_password(done.stdout, postgres_server, url)


def test_ingest_answers_json_on_postgresql(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    env = {"EGREGORA_MEDIA_DIR": str(tmp_path / "media")}

    done, run = json_answer(
        "ingest", "--ephemeral", "--database", url, str(EXAMPLES / "posts"), env=env
    )

    assert done.returncode == ExitCode.OK, done.stderr
    assert run["ok"]
    assert run["run_id"]
    assert run["tables"]["documents"]["row_count"] == 2
    assert all(check["passed"] for check in run["checks"])
    assert run["warehouse"].startswith("postgresql://")
    _no_password(done.stdout + done.stderr, postgres_server, url)
