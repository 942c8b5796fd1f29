"""The WARN check ``threads_are_chronological`` on ``messages``, in a real Dagster run.

The thread going back in time is checked on both backends: the query's JSON access,
lenient cast and interval are spelt per dialect (``quality._dialect``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from egregora_pipeline.definitions import build_defs, defs
from egregora_pipeline.orchestration.data_checks import CHRONOLOGICAL_CHECK
from egregora_pipeline.orchestration.local_run import CheckOutcome, run_ingest_job
from egregora_pipeline.settings import Settings
from tests.postgres.conftest import postgres_database, postgres_server
from tests.postgres.server import PostgresServer

__all__ = ["postgres_database", "postgres_server"]

OUT_OF_ORDER = """\
25/04/2020, 10:00 - Ana: a
26/04/2020, 10:00 - Ana: b
20/04/2020, 10:00 - Ana: back in time
27/04/2020, 10:00 - Ana: c
"""


def _check(outcome_checks: list[CheckOutcome], name: str) -> CheckOutcome:
    (check,) = [c for c in outcome_checks if c.name == name]
    return check


def test_a_chronological_thread_passes(inputs_dir: Path, settings: Settings) -> None:
    outcome = run_ingest_job(defs, [inputs_dir], settings)
    check = _check(outcome.checks, CHRONOLOGICAL_CHECK)
    assert check.passed
    assert check.warning_only


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_thread_going_back_in_time_warns_with_thread_and_line_but_does_not_fail(
    tmp_path: Path,
    settings: Settings,
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat = tmp_path / "WhatsApp Chat with Trip.txt"
    chat.write_text(OUT_OF_ORDER, encoding="utf-8")
    url = None
    if backend == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.url(request.getfixturevalue("postgres_database"))
        monkeypatch.setenv("EGREGORA_DATABASE", url)  # undone after the test
        settings = replace(settings, database=url, media_dir=tmp_path / "media")

    outcome = run_ingest_job(build_defs(settings), [chat], settings)

    assert outcome.success
    check = _check(outcome.checks, CHRONOLOGICAL_CHECK)
    assert not check.passed
    assert outcome.failed_checks == []  # WARN: rows kept, run not failed
    assert outcome.warned_checks == [check]
    assert check.details["offending_rows"] == 1
    assert check.details["first_thread"] == "Trip"
    assert check.details["first_msg_id"] == "3"
    assert check.details["first_line"] == "3"
