"""The WARN check ``threads_are_chronological`` on ``messages``, in a real Dagster run."""

from __future__ import annotations

from pathlib import Path

from egregora_pipeline.definitions import defs
from egregora_pipeline.orchestration.data_checks import CHRONOLOGICAL_CHECK
from egregora_pipeline.orchestration.local_run import CheckOutcome, run_ingest_job
from egregora_pipeline.settings import Settings

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


def test_a_thread_going_back_in_time_warns_with_thread_and_line_but_does_not_fail(
    tmp_path: Path, settings: Settings
) -> None:
    chat = tmp_path / "WhatsApp Chat with Trip.txt"
    chat.write_text(OUT_OF_ORDER, encoding="utf-8")

    outcome = run_ingest_job(defs, [chat], settings)

    assert outcome.success
    check = _check(outcome.checks, CHRONOLOGICAL_CHECK)
    assert not check.passed
    assert outcome.failed_checks == []  # WARN: rows kept, run not failed
    assert outcome.warned_checks == [check]
    assert check.details["offending_rows"] == 1
    assert check.details["first_thread"] == "Trip"
    assert check.details["first_msg_id"] == "3"
    assert check.details["first_line"] == "3"
