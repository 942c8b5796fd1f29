"""The CLI's error contract: usage errors exit 2 with usage text, never a traceback."""

from __future__ import annotations

import subprocess
import sys
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


def test_help_loads_no_engine_and_no_dagster() -> None:
    """``--help`` is instant: it imports neither Dagster nor the engine's Ibis, DuckDB, Arrow.

    Start-up time is measured by ``benchmarks/bench_startup.py``; this guards the
    reason it is low, in a fresh interpreter.
    """
    probe = (
        "import sys\n"
        "from egregora_pipeline.cli.main import main\n"
        "assert main(['--help']) == 0\n"
        "assert main(['ingest', '--help']) == 0\n"
        "assert main(['db', 'upgrade', '--help']) == 0\n"
        "heavy = {'dagster', 'ibis', 'duckdb', 'pyarrow'}\n"
        "print('loaded:', sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("loaded: []")


def test_db_current_reads_the_bookkeeping_without_ibis_arrow_or_dagster(tmp_path: Path) -> None:
    """``db current`` needs DuckDB and the revision files, nothing else (see bench_startup)."""
    database = tmp_path / "w.duckdb"
    assert main(["db", "upgrade", "--database", str(database)]) == ExitCode.OK
    probe = (
        "import sys\n"
        "from egregora_pipeline.cli.main import main\n"
        f"assert main(['db', 'current', '--database', {str(database)!r}]) == 0\n"
        "heavy = {'dagster', 'ibis', 'pyarrow', 'pandas'}\n"
        "print('loaded:', sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["0002", "loaded: []"]
