"""A copy that comes out shorter than its source is finished or refused, never installed.

The copier is a real child process; these tests put a faulty one in its place
(a script run exactly as the real one is) to reproduce what a filesystem can
do: ``copy_file_range`` answering 0 before the end, or a copy cut short.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from egregora_pipeline.backends.duckdb import backup as backup_module
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main
from tests.backup.conftest import sha256

REAL_COPIER = Path(backup_module.__file__).with_name("copy_file.py")

STOPS_EARLY = """
import os, runpy, sys
real = os.copy_file_range
calls = []
def copy_file_range(src, dst, count, *args):
    calls.append(count)
    # the first call copies a little, every later one answers 0 (end of nothing)
    return real(src, dst, min(count, 4096), *args) if len(calls) == 1 else 0
os.copy_file_range = copy_file_range
sys.argv = [{copier!r}, *sys.argv[1:]]
runpy.run_path({copier!r}, run_name="__main__")
"""

CUTS_SHORT = """
import os, runpy, sys
sys.argv = [{copier!r}, *sys.argv[1:]]
try:
    runpy.run_path({copier!r}, run_name="__main__")
except SystemExit as done:
    os.truncate(sys.argv[2], os.stat(sys.argv[2]).st_size // 2)
    raise
"""


def _script(tmp_path: Path, name: str, template: str) -> Path:
    path = tmp_path / name
    path.write_text(template.format(copier=str(REAL_COPIER)), encoding="utf-8")
    return path


def test_the_copier_finishes_a_copy_the_kernel_stopped_short(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(256)) * 40_000)  # ~10 MB: more than one chunk
    destination = tmp_path / "destination.bin"

    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            str(_script(tmp_path, "stops_early.py", STOPS_EARLY)),
            str(source),
            str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert destination.read_bytes() == source.read_bytes()
    assert done.stdout.split() == [sha256(source), str(source.stat().st_size)]


def test_a_backup_cut_short_is_refused_and_removed(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup_module, "_COPIER", _script(tmp_path, "cuts.py", CUTS_SHORT))

    code = main(["db", "backup", "--database", str(warehouse)])

    assert code == ExitCode.ERROR
    assert list((warehouse.parent / "backups").glob("*")) == []


def test_a_restore_never_installs_a_copy_cut_short(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["db", "backup", "--database", str(warehouse)]) == ExitCode.OK
    [backup] = (warehouse.parent / "backups").glob("*.duckdb")
    before = sha256(warehouse)
    monkeypatch.setattr(backup_module, "_COPIER", _script(tmp_path, "cuts.py", CUTS_SHORT))

    code = main(["db", "restore", str(backup), "--database", str(warehouse)])

    assert code == ExitCode.ERROR
    assert sha256(warehouse) == before
    assert [p for p in warehouse.parent.iterdir() if ".restoring" in p.name] == []
