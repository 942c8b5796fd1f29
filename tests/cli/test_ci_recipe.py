"""docs/ci.md's job, run for real: ``docs/ci-example.sh`` against a temporary warehouse.

The GitHub Actions job in docs/ci.md calls one step of the script per job step,
so running the script is running the job. Every step but ``install`` runs here
(``install`` builds a venv from the pinned tree, as ``make setup`` does, which is
what the test environment already is); the JSON answers it leaves validate
against their schemas and its JUnit reports parse, on a passing run and on runs
that must fail (a drifted warehouse, a rejected input).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.cli.json_answers import junit_cases, validate
from tests.conftest import BUNDLED_HEAD, REPO_ROOT

SCRIPT = REPO_ROOT / "docs" / "ci-example.sh"
STEPS = ["install", "schema", "defs", "ingest"]


def _run(
    *steps: str, warehouse: Path, reports: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(SCRIPT), *steps],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "EGREGORA_CI_BIN": str(Path(sys.executable).parent),
            "EGREGORA_DATABASE": str(warehouse),
            "EGREGORA_CI_REPORTS": str(reports),
            **env,
        },
        timeout=300,
        check=False,
    )


def test_the_documented_job_runs_the_script_step_by_step() -> None:
    text = (REPO_ROOT / "docs" / "ci.md").read_text()
    (block,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    job = yaml.safe_load(block)["jobs"]["gate"]

    runs = [step["run"] for step in job["steps"] if "run" in step]

    assert runs == [f"sh docs/ci-example.sh {step}" for step in STEPS]
    assert SCRIPT.is_file()


def test_the_script_passes_on_a_fresh_warehouse_and_leaves_its_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"

    done = _run("schema", "defs", "ingest", warehouse=tmp_path / "ci.duckdb", reports=reports)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "schema gate passed" in done.stdout
    assert "All definitions loaded successfully." in done.stdout + done.stderr
    assert json.loads((reports / "db-upgrade.json").read_text())["to_revision"] == BUNDLED_HEAD
    for name in ("db-upgrade.json", "db-check.json", "ingest.json"):
        validate(json.loads((reports / name).read_text()))
    run = json.loads((reports / "ingest.json").read_text())
    assert run["ok"]
    assert f"Dagster run {run['run_id']}: ok=True" in done.stdout
    assert set(junit_cases(reports / "db-check.xml").values()) == {None}
    ingest_cases = junit_cases(reports / "ingest.xml")
    assert "doc_type_rules_hold" in ingest_cases
    assert set(ingest_cases.values()) == {None}


def test_the_schema_step_gates_an_existing_warehouse_as_it_is(tmp_path: Path) -> None:
    warehouse, reports = tmp_path / "ci.duckdb", tmp_path / "reports"
    assert _run("schema", warehouse=warehouse, reports=reports).returncode == 0
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("ALTER TABLE documents DROP COLUMN slug")

    done = _run("schema", warehouse=warehouse, reports=reports)

    assert done.returncode == ExitCode.CHECK_FAILED
    assert "schema drift: documents.slug is missing" in done.stderr, "not repaired by an upgrade"
    assert "slug" in str(
        junit_cases(reports / "db-check.xml")["table documents matches its declaration"]
    )


def test_the_ingest_step_fails_on_a_rejected_input_naming_file_and_line(tmp_path: Path) -> None:
    fixture = tmp_path / "fixture"
    shutil.copytree(REPO_ROOT / "examples" / "posts", fixture)
    (fixture / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    reports = tmp_path / "reports"

    done = _run(
        "ingest",
        warehouse=tmp_path / "ci.duckdb",
        reports=reports,
        EGREGORA_CI_FIXTURE=str(fixture),
    )

    assert done.returncode == ExitCode.CHECK_FAILED, done.stdout + done.stderr
    assert f"rejected {fixture / 'broken.md'}:3: front matter is not valid YAML" in done.stderr
    cases = junit_cases(reports / "ingest.xml")
    assert cases[str(fixture / "broken.md")] is not None
    assert cases[str(fixture / "meetup-recap.md")] is None
