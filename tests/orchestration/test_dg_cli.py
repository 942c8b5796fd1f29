"""``dg`` (dagster-dg-cli) works from the repository root, as the README shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from egregora_pipeline.orchestration.ingestion_assets import INGEST_OP
from tests.conftest import REPO_ROOT

DG = str(Path(sys.executable).parent / "dg")


def _dg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DG, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}
    return {**env, "EGREGORA_DATABASE": str(tmp_path / "w.duckdb"), "COLUMNS": "200"}


def test_dg_check_defs_and_list_defs_see_the_code_location(tmp_path: Path) -> None:
    env = _env(tmp_path)
    checked = _dg("check", "defs", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr

    listed = _dg("list", "defs", "--json", env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    names = json.dumps(json.loads(listed.stdout))
    for expected in ("egregora_schema", "messages", "documents", "ingest_job", "inbox_sensor"):
        assert expected in names
    assert "warning" not in listed.stderr.lower()
    assert not (tmp_path / "w.duckdb").exists()  # listing loads code, touches no warehouse


def test_dg_launch_runs_ingest_job_into_the_instance_dagster_home_names(
    tmp_path: Path, inputs_dir: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    config = {"ops": {INGEST_OP: {"config": {"paths": [str(inputs_dir)]}}}}
    launched = _dg(
        "launch",
        "--job",
        "ingest_job",
        "--config-json",
        json.dumps(config),
        env={**_env(tmp_path), "DAGSTER_HOME": str(home)},
    )
    assert launched.returncode == 0, launched.stdout + launched.stderr

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert (run.job_name, run.status) == ("ingest_job", dg.DagsterRunStatus.SUCCESS)
    assert (tmp_path / "w.duckdb").exists()
