"""``--json``: every reporting command answers a script with one document that matches its
published schema (docs/cli-json.md), the same exit code as without it, and JSON errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import typer

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.json_schemas import SCHEMA_OF_COMMAND, load_schema
from egregora_pipeline.cli.main import app
from tests.cli.json_answers import json_answer, junit_cases
from tests.conftest import BUNDLED_HEAD, BUNDLED_REVISIONS, REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"

NOT_REPORTING: frozenset[str] = frozenset()
"""Commands that answer nothing a script reads, so need no --json. Empty today: a command
added here must say why in docs/cli-json.md."""


def _leaf_commands(group: object, prefix: str = "") -> dict[str, object]:
    commands: dict[str, object] = {}
    for name, command in getattr(group, "commands", {}).items():
        full = f"{prefix}{name}"
        if getattr(command, "commands", None):
            commands.update(_leaf_commands(command, f"{full} "))
        else:
            commands[full] = command
    return commands


def test_every_reporting_command_has_json_and_a_schema() -> None:
    commands = _leaf_commands(typer.main.get_command(app))

    assert {"db check", "db backups", "ingest"} <= set(commands), "the walk finds the commands"
    for name, command in commands.items():
        if name in NOT_REPORTING:
            continue
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}  # type: ignore[attr-defined]
        assert "--json" in options, f"`{name}` reports but has no --json"
        assert name in SCHEMA_OF_COMMAND, f"`{name}` has no schema in cli/schemas"


def test_the_schemas_are_package_data_and_say_their_version() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert '"cli/schemas/*.json"' in pyproject
    documented = (REPO_ROOT / "docs" / "cli-json.md").read_text()
    for name in {*SCHEMA_OF_COMMAND.values(), "error"}:
        schema = load_schema(name)
        assert schema["properties"]["schema_version"]["const"] == 1
        assert "schema_version" in schema["required"]
        assert schema.get("additionalProperties", True) is True, "additive changes stay valid"
        assert f"{name}.json" in documented


def test_the_db_commands_answer_with_valid_documents(
    warehouse_path: Path, versions_dir: Path
) -> None:
    db = ("--database", str(warehouse_path))

    done, planned = json_answer("db", "plan", *db)
    assert done.returncode == ExitCode.OK
    assert planned["command"] == "db plan"
    assert not planned["empty"]
    assert 'CREATE TABLE "documents"' in planned["sql"]
    assert not warehouse_path.exists(), "a plan changes nothing"
    _, as_sql = json_answer("db", "upgrade", "--sql", *db)
    assert as_sql["command"] == "db upgrade --sql"
    assert [s["kind"] for s in as_sql["steps"]] == [s["kind"] for s in planned["steps"]]

    done, upgraded = json_answer("db", "upgrade", *db)
    assert done.returncode == ExitCode.OK
    assert upgraded["changed"]
    assert upgraded["from_revision"] is None
    assert [r["revision"] for r in upgraded["revisions"]] == BUNDLED_REVISIONS
    _, current = json_answer("db", "current", *db)
    assert current["revision"] == BUNDLED_HEAD
    assert current["warehouse"] == str(warehouse_path)
    _, history = json_answer("db", "history", *db)
    assert history["current"] == history["head"] == BUNDLED_HEAD
    assert history["revisions"][0]["applied"]
    assert history["revisions"][0]["applied_by"]
    done, checked = json_answer("db", "check", *db)
    assert done.returncode == ExitCode.OK
    assert checked["ok"]
    assert checked["problems"] == []

    done, backed = json_answer("db", "backup", *db)
    assert done.returncode == ExitCode.OK
    backup = backed["backup"]
    assert Path(backup["path"]).is_file()
    assert backup["revision"] == BUNDLED_HEAD
    assert backed["restore_command"].startswith(f"egregora-pipeline db restore {backup['path']}")
    _, listed = json_answer("db", "backups", *db)
    assert listed["backups"][0]["path"] == backup["path"], "newest first"
    done, restored = json_answer("db", "restore", backup["path"], *db)
    assert done.returncode == ExitCode.OK
    assert restored["restored"]["sha256"] == backup["sha256"]
    assert restored["previous"] is not None
    assert Path(restored["previous"]["path"]).is_file()

    _, stamped = json_answer("db", "stamp", "base", *db)
    assert stamped["to_revision"] is None
    _, stamped = json_answer("db", "stamp", "head", *db)
    assert stamped["to_revision"] == BUNDLED_HEAD
    _, planned_down = json_answer("db", "downgrade", "base", "--sql", *db)
    assert planned_down["command"] == "db downgrade --sql"
    assert planned_down["to_revision"] is None
    done, down = json_answer("db", "downgrade", "base", "--allow-destructive", *db)
    assert done.returncode == ExitCode.OK
    assert down["command"] == "db downgrade"
    assert down["to_revision"] is None
    assert down["backup"] is not None
    assert down["undo"].startswith("egregora-pipeline db restore")

    done, wrote = json_answer(
        "db", "revision", "-m", "add a thing", "--versions-dir", str(versions_dir), *db
    )
    assert done.returncode == ExitCode.OK
    assert Path(wrote["path"]).is_file()
    assert Path(wrote["path"]).parent == versions_dir
    assert wrote["revision"] == "0002"
    assert wrote["message"] == "add a thing"


def test_a_failing_check_names_each_column_with_expected_and_found(
    warehouse_path: Path, tmp_path: Path
) -> None:
    json_answer("db", "upgrade", "--database", str(warehouse_path))
    with duckdb.connect(str(warehouse_path)) as conn:
        conn.execute("ALTER TABLE documents DROP COLUMN slug")
        conn.execute("ALTER TABLE messages ALTER COLUMN text SET DATA TYPE INTEGER")
    report = tmp_path / "reports" / "db-check.xml"

    done, checked = json_answer(
        "db", "check", "--database", str(warehouse_path), "--junit", str(report)
    )

    assert done.returncode == ExitCode.CHECK_FAILED
    assert checked["ok"] is False
    tables = {t["table"]: t for t in checked["tables"]}
    assert tables["documents"]["missing_columns"] == ["slug"]
    (mismatch,) = tables["messages"]["mismatched_columns"]
    assert (mismatch["column"], mismatch["expected_type"], mismatch["found_type"]) == (
        "text",
        "VARCHAR",
        "INTEGER",
    )
    assert tables["ingest_rejections"]["ok"] is True
    assert "documents.slug is missing" in checked["problems"]
    cases = junit_cases(report)
    assert "slug" in str(cases["table documents matches its declaration"])
    assert "INTEGER" in str(cases["table messages matches its declaration"])
    assert cases["table ingest_rejections matches its declaration"] is None
    assert cases["warehouse is at head"] is None


def test_ingest_reports_the_run_rejections_and_a_failed_asset_check(
    warehouse_path: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "inbox"
    shutil.copytree(EXAMPLES / "posts", inputs / "posts")
    db = ("--database", str(warehouse_path), "--ephemeral")
    done, first = json_answer("ingest", *db, str(inputs))
    assert done.returncode == ExitCode.OK, first
    assert first["ok"]
    # a post whose status is outside the declared set (as an older tool or a hand edit would
    # leave it): the next run's data check must fail on that row and name it
    with duckdb.connect(str(warehouse_path)) as conn:
        (bad_id,) = conn.execute(
            "UPDATE documents SET status = 'bogus' WHERE slug = 'meetup-recap-january' RETURNING id"
        ).fetchone()  # type: ignore[misc]
    (inputs / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    report = tmp_path / "ingest.xml"

    done, run = json_answer("ingest", *db, "--junit", str(report), str(inputs))

    assert done.returncode == ExitCode.CHECK_FAILED
    assert run["ok"] is False
    assert run["exit_code"] == ExitCode.CHECK_FAILED
    assert run["run_id"]
    assert run["run_id"] != first["run_id"]
    by_path = {Path(item["path"]).name: item for item in run["inputs"]}
    broken = by_path["broken.md"]
    assert broken["rejected"] == 1
    assert broken["rejected_as_a_whole"]
    (rejection,) = broken["rejections"]
    assert Path(rejection["source_path"]).name == "broken.md"
    assert rejection["line"] == 3
    assert "front matter is not valid YAML" in rejection["reason"]
    assert by_path["meetup-recap.md"]["rejected"] == 0
    (failed,) = [check for check in run["checks"] if not check["passed"]]
    assert (failed["asset"], failed["name"], failed["severity"]) == (
        "documents",
        "doc_type_rules_hold",
        "ERROR",
    )
    assert failed["offending_rows"] >= 1
    assert {row["id"] for row in failed["sample"]} == {bad_id}
    assert any("status not in" in row["rule"] for row in failed["sample"])
    assert run["failed_checks"] == ["documents:doc_type_rules_hold"]
    cases = junit_cases(report)
    assert cases["doc_type_rules_hold"] is not None
    assert "offending row" in cases["doc_type_rules_hold"]
    assert cases["id_is_unique"] is None
    assert cases[str(inputs / "broken.md")] is not None


def test_errors_are_json_documents_with_the_same_exit_codes(
    warehouse_path: Path,
) -> None:
    done, missing = json_answer("db", "check", "--database", str(warehouse_path))
    assert done.returncode == ExitCode.ERROR
    assert missing["error"]["code"] == ExitCode.ERROR
    assert missing["error"]["kind"] == "warehouse_not_found"
    assert str(warehouse_path) in missing["error"]["message"]
    assert missing["error"]["hint"]
    assert missing["command"] == "db check"
    assert "no warehouse at" in done.stderr, "the human message still goes to stderr"

    done, usage = json_answer("db", "backups", "--no-such-option")
    assert done.returncode == ExitCode.USAGE
    assert usage["error"]["kind"] == "usage"
    assert "--no-such-option" in usage["error"]["message"]

    done, unknown = json_answer("ingest", str(warehouse_path.parent / "absent.zip"))
    assert done.returncode == ExitCode.USAGE
    assert unknown["error"]["code"] == ExitCode.USAGE


def test_a_bad_postgres_url_is_a_json_error_without_its_password() -> None:
    done, answer = json_answer(
        "db", "current", "--database", "postgresql://bob:hunter2secret@/?host=/nonexistent-dir"
    )

    assert done.returncode in (ExitCode.USAGE, ExitCode.ERROR)
    assert answer["error"]["code"] == done.returncode
    assert "hunter2secret" not in done.stdout + done.stderr
    assert json.dumps(answer).count("bob") >= 1
