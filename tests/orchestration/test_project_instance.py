"""Every run lives in the project's one Dagster instance, whoever starts it.

``egregora-pipeline ingest`` from the project root records its run, the
materializations of all three assets and every check result where ``dagster dev``
(started in the same folder) reads them. ``DAGSTER_HOME`` wins; ``--ephemeral``
keeps nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from egregora_pipeline.definitions import defs
from egregora_pipeline.errors import SettingsError
from egregora_pipeline.orchestration.instance import choose_instance, open_instance
from egregora_pipeline.orchestration.jobs import INGEST_JOB

CLI = str(Path(sys.executable).parent / "egregora-pipeline")
ASSETS = ("egregora_schema", "messages", "documents")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}
    return {**env, **extra}


def _ingest(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "ingest", *args],
        cwd=cwd,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out + err


def _job_check_keys() -> set[dg.AssetCheckKey]:
    return set(defs.resolve_job_def(INGEST_JOB).asset_layer.asset_graph.asset_check_keys)


# -- the rule ------------------------------------------------------------------------


def test_dagster_home_wins_over_everything(tmp_path: Path, project_dir: Path) -> None:
    choice = choose_instance(
        ephemeral=True, cwd=project_dir, environ={"DAGSTER_HOME": str(tmp_path)}
    )
    assert (choice.kind, choice.location) == ("dagster_home", tmp_path)


def test_the_project_instance_is_the_dagster_yaml_of_the_folder_a_command_runs_in(
    project_dir: Path,
) -> None:
    choice = choose_instance(cwd=project_dir, environ={})
    assert (choice.kind, choice.location, choice.persistent) == ("project", project_dir, True)
    assert choose_instance(ephemeral=True, cwd=project_dir, environ={}).kind == "ephemeral"


def test_outside_a_project_the_run_is_throw_away_and_the_reason_says_so(tmp_path: Path) -> None:
    choice = choose_instance(cwd=tmp_path, environ={})
    assert not choice.persistent
    assert "not kept" in choice.reason
    assert "DAGSTER_HOME" in choice.reason


@pytest.mark.parametrize("home", ["relative/home", "/no/such/folder"])
def test_an_unusable_dagster_home_is_a_settings_error(home: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DAGSTER_HOME"):
        choose_instance(cwd=tmp_path, environ={"DAGSTER_HOME": home})


# -- the CLI and the instance -----------------------------------------------------------


def test_a_cli_run_leaves_its_run_materializations_and_check_results_in_the_project_instance(
    project_dir: Path, inputs_dir: Path
) -> None:
    code, output = _finish(_ingest(project_dir, str(inputs_dir), "-d", "w.duckdb"))
    assert code == 0, output
    assert "the project instance" in output

    with open_instance(choose_instance(cwd=project_dir, environ={})) as instance:
        (run,) = instance.get_runs()
        assert (run.job_name, run.status) == (INGEST_JOB, dg.DagsterRunStatus.SUCCESS)
        assert run.run_id in output
        for name in ASSETS:
            event = instance.get_latest_materialization_event(dg.AssetKey(name))
            assert event is not None, name
            assert event.run_id == run.run_id, name
            assert event.asset_materialization is not None
            assert event.asset_materialization.metadata, name
        rows = instance.get_latest_materialization_event(dg.AssetKey("messages"))
        assert rows is not None
        assert rows.asset_materialization is not None
        assert rows.asset_materialization.metadata["dagster/row_count"].value == 4
        evaluated = {}
        for key in _job_check_keys():
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key]).get(
                key
            )
            assert record is not None, key
            assert record.run_id == run.run_id, key
            evaluated[key.name] = record.status
        assert set(evaluated.values()) == {AssetCheckExecutionRecordStatus.SUCCEEDED}
    assert (project_dir / ".dagster" / "storage").is_dir()


def test_ephemeral_runs_leave_nothing_behind(project_dir: Path, inputs_dir: Path) -> None:
    code, output = _finish(_ingest(project_dir, str(inputs_dir), "-d", "w.duckdb", "--ephemeral"))
    assert code == 0, output
    assert "not kept" in output
    assert not (project_dir / ".dagster").exists()


def test_two_cli_runs_at_once_share_the_instance_and_both_succeed(
    project_dir: Path, inputs_dir: Path
) -> None:
    """SQLite run and event storage under two concurrent writers, one DuckDB warehouse."""
    first = _ingest(project_dir, str(inputs_dir), "-d", "w.duckdb")
    second = _ingest(project_dir, str(inputs_dir), "-d", "w.duckdb")
    results = [_finish(first), _finish(second)]

    assert [code for code, _ in results] == [0, 0], results
    with open_instance(choose_instance(cwd=project_dir, environ={})) as instance:
        runs = instance.get_runs()
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
        for run in runs:
            records = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ).records
            assert {r.asset_key.to_user_string() for r in records if r.asset_key} == set(ASSETS)
    with duckdb.connect(str(project_dir / "w.duckdb"), read_only=True) as conn:
        assert conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM messages"
        ).fetchone() == (
            4,
            4,
        )


def test_no_foreign_banner_even_when_dagster_home_leaves_telemetry_on(
    tmp_path: Path, inputs_dir: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")  # Dagster's defaults: telemetry enabled
    code, output = _finish(
        _ingest(tmp_path, str(inputs_dir), "-d", "w.duckdb", env=_env(DAGSTER_HOME=str(home)))
    )
    assert code == 0, output
    assert "Welcome to Dagster" not in output
    assert "Telemetry" not in output
    assert f"DAGSTER_HOME={home}" in output
