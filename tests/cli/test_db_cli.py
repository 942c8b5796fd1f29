"""``egregora-pipeline db ...``: what people and CI see, and the exit codes they rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main
from tests.conftest import run_cli

_cli = run_cli


def _sql(database: Path, *statements: str) -> None:
    conn = duckdb.connect(str(database))
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def test_upgrade_then_check_as_real_processes(
    warehouse_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgraded = _cli("db", "upgrade", env={"EGREGORA_DATABASE": str(warehouse_path)})

    assert upgraded.returncode == ExitCode.OK, upgraded.stderr
    assert "0001" in upgraded.stdout
    assert warehouse_path.exists(), "the database came from EGREGORA_DATABASE"
    checked = _cli("db", "check", "--database", str(warehouse_path))
    assert checked.returncode == ExitCode.OK, checked.stdout
    assert "OK" in checked.stdout
    assert main(["db", "upgrade", "--database", str(warehouse_path)]) == ExitCode.OK
    assert "nothing to do" in capsys.readouterr().out


def test_check_exits_1_and_names_drifted_columns(warehouse_path: Path) -> None:
    assert main(["db", "upgrade", "--database", str(warehouse_path)]) == ExitCode.OK
    _sql(
        warehouse_path,
        "ALTER TABLE documents DROP COLUMN slug",
        "ALTER TABLE messages ALTER COLUMN text SET DATA TYPE INTEGER",
    )

    checked = _cli("db", "check", "--database", str(warehouse_path))

    assert checked.returncode == ExitCode.CHECK_FAILED
    assert "missing column slug" in checked.stdout
    assert "text: type INTEGER, declared VARCHAR" in checked.stdout
    assert "Traceback" not in checked.stderr


def test_plan_and_upgrade_sql_print_sql_and_create_nothing(
    warehouse_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "plan", "--database", str(warehouse_path)]) == ExitCode.OK
    planned = capsys.readouterr().out
    assert main(["db", "upgrade", "--sql", "--database", str(warehouse_path)]) == ExitCode.OK
    as_sql = capsys.readouterr().out

    assert 'CREATE TABLE "documents"' in planned
    assert '"authors" VARCHAR[]' in planned, "SQL is printed verbatim, not as Rich markup"
    assert planned.split("\n", 1)[0] == as_sql.split("\n", 1)[0]
    assert not warehouse_path.exists()


def test_check_of_a_missing_warehouse_is_an_error_not_a_crash(
    warehouse_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["db", "check", "--database", str(warehouse_path)])

    assert code == ExitCode.ERROR
    assert "no warehouse at" in capsys.readouterr().err
    assert not warehouse_path.exists()


def test_a_tampered_revision_is_refused_with_exit_3(
    warehouse_path: Path, versions_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database", str(warehouse_path), "--versions-dir", str(versions_dir)]
    assert main(["db", "upgrade", *args]) == ExitCode.OK
    edited = next(versions_dir.glob("0001_*.py"))
    edited.write_text(edited.read_text() + "\n# edited\n")
    capsys.readouterr()

    assert main(["db", "upgrade", *args]) == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "error:" in err
    assert edited.name in err
    assert main(["db", "check", *args]) == ExitCode.CHECK_FAILED
    assert main(["db", "stamp", "0001", *args]) == ExitCode.OK
    assert main(["db", "check", *args]) == ExitCode.OK


def test_downgrade_refuses_to_lose_data_without_allow_destructive(
    warehouse_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database", str(warehouse_path)]
    assert main(["db", "upgrade", *db]) == ExitCode.OK
    _sql(
        warehouse_path,
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type) "
        "VALUES ('d', now(), 'c', 'draft', 'post')",
    )
    capsys.readouterr()

    assert main(["db", "downgrade", "base", *db]) == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "would lose 5 non-null value(s)" in err
    assert "--allow-destructive" in err

    assert main(["db", "downgrade", "base", "--sql", *db]) == ExitCode.OK
    assert "DESTRUCTIVE" in capsys.readouterr().out
    assert main(["db", "downgrade", "base", "--allow-destructive", *db]) == ExitCode.OK
    assert main(["db", "current", *db]) == ExitCode.OK
    assert capsys.readouterr().out.strip().endswith("base")


def test_downgrade_minus_one_steps_back_one_revision(
    warehouse_path: Path, versions_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database", str(warehouse_path), "--versions-dir", str(versions_dir)]
    assert main(["db", "revision", "-m", "second", *args]) == ExitCode.OK
    assert main(["db", "upgrade", *args]) == ExitCode.OK
    capsys.readouterr()

    assert main(["db", "downgrade", "-1", *args]) == ExitCode.OK
    assert main(["db", "current", *args]) == ExitCode.OK
    assert capsys.readouterr().out.strip().endswith("0001")


def test_current_history_and_revision(
    warehouse_path: Path, versions_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database", str(warehouse_path), "--versions-dir", str(versions_dir)]
    assert main(["db", "upgrade", *args]) == ExitCode.OK
    capsys.readouterr()

    assert main(["db", "current", *args]) == ExitCode.OK
    assert capsys.readouterr().out.strip() == "0001"
    assert main(["db", "revision", "-m", "add a thing", *args]) == ExitCode.OK
    assert "0002_add_a_thing.py" in capsys.readouterr().out
    assert main(["db", "history", *args]) == ExitCode.OK
    listed = capsys.readouterr().out
    assert "0001" in listed
    assert "0002 (head)" in listed


@pytest.mark.parametrize(
    ("command", "phrase"),
    [
        ("upgrade", "reconcile"),
        ("downgrade", "allow-destructive"),
        ("plan", "change nothing"),
        ("current", "applied revision"),
        ("history", "applied"),
        ("check", "Exit 1"),
        ("stamp", "without running"),
        ("revision", "autogenerate"),
    ],
)
def test_every_command_explains_itself(
    command: str, phrase: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", command, "--help"]) == ExitCode.OK

    text = " ".join(capsys.readouterr().out.split())
    assert phrase in text
    assert "--database" in text


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.mkdir(), "is a directory"),
        (lambda path: path.write_bytes(b"SQLite format 3\x00" + bytes(100)), "not a DuckDB"),
        (lambda path: path.write_text("hello"), "not a DuckDB"),
    ],
    ids=["directory", "sqlite-file", "text-file"],
)
def test_a_path_that_cannot_be_the_warehouse_is_refused_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, reason: str
) -> None:
    path = tmp_path / "w.duckdb"
    make(path)
    before = path.read_bytes() if path.is_file() else None

    for command in (["db", "upgrade"], ["db", "check"], ["db", "current"]):
        code = main([*command, "--database", str(path)])
        assert code == ExitCode.ERROR, command
        err = capsys.readouterr().err
        assert reason in err, err
        assert "internal error" not in err
    assert (path.read_bytes() if path.is_file() else None) == before


@pytest.mark.parametrize("database", [":memory:", "md:prod", "s3://bucket/w.duckdb"])
def test_a_database_that_is_not_one_file_on_disk_is_refused(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)

    code = main(["db", "upgrade", "--database", database])

    assert code == ExitCode.ERROR
    assert "is not a file path" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_autogenerate_refuses_a_warehouse_that_is_not_at_head(
    tmp_path: Path, versions_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Against a missing (or behind) warehouse, autogenerate would re-create
    # every table the pending revisions already create.
    missing = tmp_path / "missing.duckdb"
    args = ["--database", str(missing), "--versions-dir", str(versions_dir)]

    code = main(["db", "revision", "-m", "again", "--autogenerate", *args])

    assert code == ExitCode.ERROR
    assert "db upgrade" in capsys.readouterr().err
    assert sorted(p.name for p in versions_dir.glob("*.py")) == ["0001_initial_schema.py"]
    assert main(["db", "upgrade", *args]) == ExitCode.OK
    assert main(["db", "revision", "-m", "nothing new", "--autogenerate", *args]) == ExitCode.OK


@pytest.mark.parametrize("command", [["check"], ["upgrade"], ["current"], ["history"]])
def test_a_versions_dir_that_does_not_exist_is_an_error_not_the_bundled_chain(
    warehouse_path: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--database", str(warehouse_path)]) == ExitCode.OK
    capsys.readouterr()
    absent = tmp_path / "no-such-dir"

    code = main(["db", *command, "--database", str(warehouse_path), "--versions-dir", str(absent)])

    assert code == ExitCode.ERROR
    assert "does not exist" in capsys.readouterr().err


def test_an_empty_versions_dir_is_not_replaced_by_the_bundled_chain(
    warehouse_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--database", str(warehouse_path)]) == ExitCode.OK
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()

    code = main(["db", "check", "--database", str(warehouse_path), "--versions-dir", str(empty)])

    assert code != ExitCode.OK
    captured = capsys.readouterr()
    assert "0001" in captured.out + captured.err  # the applied revision no file declares


@pytest.mark.parametrize("command", [["current"], ["stamp", "head"], ["downgrade", "base"]])
def test_commands_that_need_a_warehouse_refuse_a_missing_path_and_create_nothing(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo" / "w.duckdb"

    code = main(["db", *command, "--database", str(missing)])

    assert code == ExitCode.ERROR
    assert "no warehouse at" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_a_relative_target_past_base_says_how_far_it_can_go(
    warehouse_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--database", str(warehouse_path)]) == ExitCode.OK
    capsys.readouterr()

    code = main(["db", "downgrade", "-5", "--database", str(warehouse_path)])

    assert code == ExitCode.ERROR
    assert "2 applied" in capsys.readouterr().err


def test_strict_adoption_refuses_a_contradicting_check_with_exit_3(
    warehouse_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.migrations.upstream_layouts import build

    build(warehouse_path, "constrained")

    code = main(["db", "upgrade", "--strict-adoption", "--database", str(warehouse_path)])

    assert code == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "strict adoption" in err
    assert "media_type IN ('image', 'video', 'audio')" in err
    assert main(["db", "upgrade", "--database", str(warehouse_path)]) == ExitCode.OK
    assert "widen CHECK on documents" in capsys.readouterr().out
