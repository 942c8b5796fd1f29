"""An ingest run's data checks judge what it wrote; ``full_data_checks_job`` judges all.

The warehouse holds 200k messages (one SQL insert) with an old duplicate ``event_id``
and an old duplicate document id. A one-chat ingest passes its checks -- scoped to
the run, it is not blamed for rows it never wrote -- and each result says ``scope:
run``; the full-table job, run on the same instance afterwards, fails on both old
duplicates and says ``scope: full table``.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.definitions import build_defs
from egregora_pipeline.orchestration.data_checks import (
    CHRONOLOGICAL_CHECK,
    UNIQUE_EVENT_ID_CHECK,
    UNIQUE_ID_CHECK,
)
from egregora_pipeline.orchestration.jobs import FULL_DATA_CHECKS_JOB
from egregora_pipeline.orchestration.local_run import run_ingest_job
from egregora_pipeline.orchestration.resources import build_resources
from egregora_pipeline.settings import Settings
from tests.cli.json_answers import json_answer

OUT_OF_ORDER = """\
25/04/2020, 10:00 - Ana: a
26/04/2020, 10:00 - Ana: b
20/04/2020, 10:00 - Ana: back in time
"""


def _old_problems(database: Path) -> None:
    with duckdb.connect(str(database)) as conn:
        conn.execute(
            "INSERT INTO messages (event_id, tenant_id, source, thread_id, msg_id, ts, "
            "author_uuid, text, attrs, pii_flags, created_at, created_by_run) "
            "SELECT CASE WHEN i < 2 THEN 'old-dup' ELSE md5(CAST(i AS VARCHAR)) END, 't', "
            "'whatsapp', 'thread-' || CAST(i % 50 AS VARCHAR), CAST(i AS VARCHAR), "
            "TIMESTAMPTZ '2015-01-01 00:00:00+00' + i * INTERVAL '1 minute', 'a', 'x', "
            "'{}', '{}', now(), 'run-old' FROM range(200000) AS t(i)"
        )
        conn.execute(
            "INSERT INTO documents (id, created_at, source_checksum, status, doc_type, title, "
            "slug) SELECT 'old-doc', now(), 'x', 'published', 'post', 'T', 'old' FROM range(2)"
        )


def test_an_ingest_run_is_not_blamed_for_old_rows_which_the_full_job_catches(
    inputs_dir: Path, tmp_path: Path, settings: Settings
) -> None:
    defs = build_defs(settings)
    assert run_ingest_job(defs, [inputs_dir], settings).success  # migrates
    _old_problems(settings.database)
    chat = tmp_path / "WhatsApp Chat with Trip.txt"
    chat.write_text(OUT_OF_ORDER, encoding="utf-8")

    outcome = run_ingest_job(defs, [chat, inputs_dir / "posts"], settings)

    assert outcome.success, outcome.failures
    checks = {check.name: check for check in outcome.checks}
    assert checks[UNIQUE_EVENT_ID_CHECK].passed
    assert checks[UNIQUE_ID_CHECK].passed
    data_checks = [c for c in outcome.checks if c.asset in ("messages", "documents")]
    assert len(data_checks) == 4
    assert {check.details["scope"] for check in data_checks} == {"run"}
    # the thread this run put out of order is still caught, in the run's scope
    assert not checks[CHRONOLOGICAL_CHECK].passed
    assert checks[CHRONOLOGICAL_CHECK].details["first_thread"] == "Trip"

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(FULL_DATA_CHECKS_JOB).execute_in_process(
            instance=instance, resources=build_resources(settings), raise_on_error=False
        )
    full = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not full[UNIQUE_EVENT_ID_CHECK].passed
    assert not full[UNIQUE_ID_CHECK].passed
    assert full[UNIQUE_ID_CHECK].metadata["sample"].value == [{"key": "old-doc", "copies": "2"}]
    assert {e.metadata["scope"].value for e in full.values()} == {"full table"}
    assert not full[CHRONOLOGICAL_CHECK].passed  # the Trip thread, seen by the full scan too

    done, answer = json_answer("checks", "--database", str(settings.database))
    assert done.returncode == ExitCode.CHECK_FAILED
    assert answer["ok"] is False
    assert answer["scope"] == "full table"
    by_name = {check["name"]: check for check in answer["checks"]}
    assert by_name[UNIQUE_ID_CHECK]["sample"] == [{"key": "old-doc", "copies": "2"}]
    assert by_name[UNIQUE_EVENT_ID_CHECK]["sample"] == [{"key": "old-dup", "copies": "2"}]
    assert by_name[CHRONOLOGICAL_CHECK]["severity"] == "WARN"
    assert {check["passed"] for check in answer["checks"]} == {True, False}
