"""The daily schedule and the inbox sensor, evaluated for real against a folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg

from egregora_pipeline.definitions import defs
from egregora_pipeline.orchestration.ingestion_assets import INGEST_OP
from egregora_pipeline.orchestration.resources import build_resources
from egregora_pipeline.orchestration.schema_assets import HISTORY_CHECK, SCHEMA_CHECK_SPECS
from egregora_pipeline.orchestration.sensors import MAX_RUNS_PER_TICK, inbox_sensor
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_TAG
from egregora_pipeline.settings import Settings


def _tick(settings: Settings, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor, resources={"egregora": build_resources(settings)["egregora"]}
    )
    result = inbox_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _paths(result: dg.SensorResult) -> list[str]:
    return [r.run_config["ops"][INGEST_OP]["config"]["paths"][0] for r in result.run_requests or []]


def _settled_tick(settings: Settings, cursor: str | None) -> dg.SensorResult:
    """Two ticks: the first sees files change, the second requests the settled ones."""
    return _tick(settings, _tick(settings, cursor).cursor)


def test_the_daily_schedule_requests_an_inbox_run_of_ingest_job(settings: Settings) -> None:
    schedule = defs.resolve_schedule_def("daily_ingest")
    assert schedule.job_name == "ingest_job"
    assert schedule.cron_schedule == "0 5 * * *"
    context = dg.build_schedule_context(resources=build_resources(settings))
    requests = schedule.evaluate_tick(context).run_requests
    assert requests is not None
    assert len(requests) == 1
    assert requests[0].tags[WAREHOUSE_TAG] == str(settings.database)


def test_the_sensor_skips_an_empty_or_missing_inbox(settings: Settings) -> None:
    assert _paths(_tick(settings, None)) == []
    settings.inbox.mkdir(parents=True)
    assert _paths(_tick(settings, None)) == []


def test_a_file_still_being_written_waits_for_the_next_tick(
    settings: Settings, inputs_dir: Path
) -> None:
    settings.inbox.mkdir(parents=True)
    chat = settings.inbox / "WhatsApp Chat with Meetup.txt"
    shutil.copy(inputs_dir / chat.name, chat)

    first = _tick(settings, None)
    assert _paths(first) == []
    assert first.skip_reason is not None
    assert "still changing" in str(first.skip_reason)

    with chat.open("a", encoding="utf-8") as handle:  # the copy goes on
        handle.write("14/02/2024, 08:00 - Bruno: one more\n")
    assert _paths(_tick(settings, first.cursor)) == []


def test_a_new_file_triggers_one_run_and_never_a_second(
    settings: Settings, inputs_dir: Path
) -> None:
    settings.inbox.mkdir(parents=True)
    chat = settings.inbox / "WhatsApp Chat with Meetup.txt"
    shutil.copy(inputs_dir / chat.name, chat)

    first = _settled_tick(settings, None)
    assert _paths(first) == [str(chat)]
    assert first.run_requests[0].run_key  # type: ignore[index]

    assert _paths(_tick(settings, first.cursor)) == []
    os.utime(chat, ns=(1, 1))  # touched, same bytes: still nothing to do
    assert _paths(_settled_tick(settings, first.cursor)) == []


def test_a_changed_file_triggers_a_new_run_with_a_new_key(
    settings: Settings, inputs_dir: Path
) -> None:
    settings.inbox.mkdir(parents=True)
    chat = settings.inbox / "WhatsApp Chat with Meetup.txt"
    shutil.copy(inputs_dir / chat.name, chat)
    first = _settled_tick(settings, None)

    with chat.open("a", encoding="utf-8") as handle:
        handle.write("14/02/2024, 08:00 - Bruno: one more\n")
    changed = _settled_tick(settings, first.cursor)

    assert _paths(changed) == [str(chat)]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key  # type: ignore[index]


def test_the_cursor_forgets_files_that_left_the_inbox(settings: Settings, inputs_dir: Path) -> None:
    settings.inbox.mkdir(parents=True)
    chat = settings.inbox / "WhatsApp Chat with Meetup.txt"
    shutil.copy(inputs_dir / chat.name, chat)
    first = _settled_tick(settings, None)
    assert _paths(first) == [str(chat)]

    chat.unlink()
    emptied = _tick(settings, first.cursor)

    assert emptied.cursor is not None
    assert json.loads(emptied.cursor) == {"files": {}, "requested": []}


def test_a_backlog_larger_than_one_tick_drains_over_the_next_ticks(settings: Settings) -> None:
    posts = settings.inbox / "posts"
    posts.mkdir(parents=True)
    total = MAX_RUNS_PER_TICK + 3
    for n in range(total):
        (posts / f"p{n}.md").write_text(
            f"---\ntitle: P{n}\nslug: p{n}\nstatus: draft\n---\nbody {n}\n"
        )

    first = _settled_tick(settings, None)
    second = _tick(settings, first.cursor)

    assert len(_paths(first)) == MAX_RUNS_PER_TICK
    assert len(_paths(second)) == 3
    assert set(_paths(first)).isdisjoint(_paths(second))


def _requested_after_schema_update(*, checks_passed: bool) -> int:
    """How many ingestion assets automation requests after a schema materialization."""
    selection = dg.AssetSelection.groups("ingestion")
    with dg.instance_for_test() as instance:
        baseline = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=selection
        )
        instance.report_runless_asset_event(dg.AssetMaterialization("egregora_schema"))
        for check in SCHEMA_CHECK_SPECS:  # the history check fails when checks_passed is False
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=check.asset_key,
                    check_name=check.name,
                    passed=checks_passed or check.name != HISTORY_CHECK,
                    severity=dg.AssetCheckSeverity.ERROR,
                )
            )
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=selection, cursor=baseline.cursor
        )
        return result.total_requested


def test_automation_ingests_after_a_schema_update_whose_blocking_checks_passed() -> None:
    assert _requested_after_schema_update(checks_passed=True) == 2


def test_automation_holds_ingestion_back_when_a_blocking_check_failed() -> None:
    assert _requested_after_schema_update(checks_passed=False) == 0
