"""The CLI's error contract: usage errors exit 2 with usage text, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["no-such-command"])

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "No such command 'no-such-command'" in err
    assert "Traceback" not in err
    assert "internal error" not in err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == ExitCode.OK
    assert "db" in capsys.readouterr().out


def test_a_command_exit_code_reaches_the_caller(tmp_path: Path) -> None:
    missing = tmp_path / "absent.duckdb"

    code = main(["db", "check", "--database", str(missing)])

    assert code != ExitCode.OK
