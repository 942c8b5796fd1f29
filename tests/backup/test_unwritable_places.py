"""A folder that cannot be created, or a warehouse on a read-only disk: a clear refusal.

Root ignores file modes, so these use what stops root too: a path whose parent
is a file, and a read-only bind mount (which needs root, like CI's container;
the test fails, saying why, when the mount is refused).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.backup.conftest import cli, sha256


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` bind-mounted read-only onto itself, for the duration."""
    mounted = _run("mount", "--bind", str(folder), str(folder))
    if mounted.returncode != 0:
        pytest.fail(f"cannot bind-mount a folder for this test (run as root): {mounted.stderr}")
    try:
        remounted = _run("mount", "-o", "remount,bind,ro", str(folder))
        assert remounted.returncode == 0, remounted.stderr
        yield
    finally:
        _run("umount", "-l", str(folder))


def test_backup_to_a_path_under_a_file_is_refused_naming_it(warehouse: Path) -> None:
    a_file = warehouse.parent / "notes.txt"
    a_file.write_text("not a folder")

    done = cli(
        "db", "backup", "--to", str(a_file / "sub" / "copy.duckdb"), "--database", str(warehouse)
    )

    assert done.returncode == ExitCode.ERROR, done.stderr
    assert str(a_file / "sub") in done.stderr
    assert "Not a directory" in done.stderr
    assert a_file.read_text() == "not a folder"


def test_restore_into_a_folder_that_cannot_be_created_is_refused(warehouse: Path) -> None:
    assert cli("db", "backup", "--database", str(warehouse)).returncode == ExitCode.OK
    [backup] = (warehouse.parent / "backups").glob("*.duckdb")
    a_file = warehouse.parent / "notes.txt"
    a_file.write_text("not a folder")

    done = cli(
        "db",
        "restore",
        str(backup),
        "--database",
        str(a_file / "egregora.duckdb"),
    )

    assert done.returncode == ExitCode.ERROR, done.stderr
    assert str(a_file) in done.stderr
    assert "nothing was changed" in done.stderr


def test_restore_onto_a_read_only_disk_is_refused_naming_the_file(
    warehouse: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "elsewhere" / "copy.duckdb"
    assert cli("db", "backup", "--to", str(backup), "--database", str(warehouse)).returncode == 0
    before = sha256(warehouse)

    with read_only(warehouse.parent):
        done = cli("db", "restore", str(backup), "--database", str(warehouse))

    assert done.returncode == ExitCode.ERROR, done.stderr
    assert f"cannot open {warehouse} for writing" in done.stderr
    assert "Read-only file system" in done.stderr
    assert sha256(warehouse) == before
