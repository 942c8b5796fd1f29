"""Too little room for a copy: the refusal offers only what the command at hand can do.

Each test mounts its own small tmpfs (root, like CI's container; it fails,
saying why, when the mount is refused) and fills it with a ballast file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from egregora_pipeline.backends.duckdb.backup import take_backup
from egregora_pipeline.backends.duckdb.connection import connect_warehouse
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.errors import NotEnoughSpaceError
from tests.backup.conftest import cli, sha256


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A warehouse on a 32 MB tmpfs with less room left than the warehouse's size."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for this test (run as root): {mounted.stderr}")
    try:
        database = mount_point / "egregora.duckdb"
        assert cli("db", "upgrade", "--database", str(database)).returncode == ExitCode.OK
        fd = os.open(mount_point / "ballast", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            room = shutil.disk_usage(mount_point).free - database.stat().st_size // 2
            os.posix_fallocate(fd, 0, room)
        finally:
            os.close(fd)
        yield database
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], timeout=30, check=False)


def test_db_backup_offers_another_place(full_disk: Path) -> None:
    done = cli("db", "backup", "--database", str(full_disk))

    assert done.returncode == ExitCode.ERROR
    assert "not enough free space" in done.stderr
    assert "--to PATH" in done.stderr


def test_the_automatic_backup_offers_to_skip_it_not_a_place(full_disk: Path) -> None:
    conn = connect_warehouse(full_disk)
    try:
        with pytest.raises(NotEnoughSpaceError) as refused:
            take_backup(conn, full_disk, kind="automatic", reason="a step that drops data")
    finally:
        conn.close()

    assert "--no-backup" in str(refused.value)
    assert "--to" not in str(refused.value)


def test_restore_offers_only_to_free_space(full_disk: Path, tmp_path: Path) -> None:
    backup = tmp_path / "elsewhere.duckdb"
    shutil.copyfile(full_disk, backup)  # no process holds it: a plain copy is safe
    before = sha256(full_disk)

    done = cli("db", "restore", str(backup), "--database", str(full_disk))

    assert done.returncode == ExitCode.ERROR
    assert "not enough free space" in done.stderr
    assert "Free some space" in done.stderr
    assert "--to" not in done.stderr
    assert "--no-backup" not in done.stderr
    assert sha256(full_disk) == before
