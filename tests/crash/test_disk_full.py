"""A full disk during ingest or migration: a clear error, nothing lost, the next run completes.

Each test mounts its own small tmpfs (so it needs root, like CI's container;
it fails, saying why, when the mount is refused) and fills it with a ballast
file to leave just a little room, then frees the room and runs again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.backup.conftest import cli
from tests.conftest import REPO_ROOT


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs of our own, unmounted afterwards."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = _mount(mount_point, "size=48m")
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full tests (run as root): {mounted.stderr}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], timeout=30, check=False)


def _mount(mount_point: Path, options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _grow(mount_point: Path) -> None:
    """Free space the way an operator would: a bigger filesystem."""
    grown = subprocess.run(
        ["mount", "-o", "remount,size=96m", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert grown.returncode == 0, grown.stderr


def _fill(folder: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes of the filesystem with a ballast file."""
    ballast = folder / "ballast"
    size = shutil.disk_usage(folder).free - leave
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)
    return ballast


def _snapshot(database: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = duckdb.connect(str(database), read_only=True)
    try:
        return {
            table: conn.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()
            for table in ("documents", "messages", "ingest_rejections", "egregora_migrations")
        }
    finally:
        conn.close()


def _half_written(store: Path) -> list[Path]:
    return [
        path
        for path in store.rglob("*")
        if path.is_file()
        and not path.name.startswith(".")
        and hashlib.sha256(path.read_bytes()).hexdigest() != path.name.split(".")[0]
    ]


def _big_chat(folder: Path) -> Path:
    folder.mkdir()
    moment = datetime(2023, 1, 1, 8, 0)
    lines = []
    for i in range(40_000):
        moment += timedelta(minutes=1)
        lines.append(f"{moment:%d/%m/%Y, %H:%M} - Person {i % 5}: message number {i}")
    path = folder / "WhatsApp Chat with Big.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("WhatsApp Chat with Big.txt", "\n".join(lines) + "\n")
    shutil.copy(REPO_ROOT / "tests" / "fixtures" / "whatsapp" / "demo_chat.zip", folder)
    return folder


def test_ingest_on_a_full_disk_stops_clearly_and_the_next_run_completes(
    small_fs: Path, tmp_path: Path
) -> None:
    database = small_fs / "egregora.duckdb"
    first = cli(
        "ingest", "--ephemeral", str(REPO_ROOT / "examples" / "posts"), "--database", str(database)
    )
    assert first.returncode == ExitCode.OK, first.stdout + first.stderr
    held = _snapshot(database)
    ballast = _fill(small_fs, leave=2_000_000)
    inputs = _big_chat(tmp_path / "inputs")

    full = cli("ingest", "--ephemeral", str(inputs), "--database", str(database))

    said = " ".join((full.stdout + full.stderr).split())
    assert full.returncode == ExitCode.ERROR, said
    assert "the disk is full" in said
    assert "run the same command again" in said
    assert _snapshot(database) == held, "the warehouse opens and holds what it held"
    assert _half_written(small_fs / "media") == []

    ballast.unlink()
    again = cli("ingest", "--ephemeral", str(inputs), "--database", str(database))

    assert again.returncode == ExitCode.OK, again.stdout + again.stderr
    after = _snapshot(database)
    assert len(after["messages"]) > 40_000
    assert after["ingest_rejections"] == held["ingest_rejections"]
    assert _half_written(small_fs / "media") == []


REWRITE = """from egregora_pipeline.migrations.ops import Operations

revision = "0002"
down_revision = "0001"
message = "rewrite every content"


def upgrade(op: Operations) -> None:
    op.backfill("documents", "content", "content || repeat('x', 200)", where="true")


def downgrade(op: Operations) -> None:
    pass
"""


def _warehouse_at_0001(database: Path, versions_dir: Path) -> None:
    (versions_dir / "0002_rewrite.py").write_text(REWRITE, encoding="utf-8")
    assert cli("db", "upgrade", "0001", "--database", str(database)).returncode == ExitCode.OK
    conn = duckdb.connect(str(database))
    conn.execute(
        "INSERT INTO documents (id, content, created_at, source_checksum, status, doc_type) "
        "SELECT 'd' || i, md5(i::VARCHAR) || md5((i * 7)::VARCHAR), now(), 'x', 'published', "
        "'post' FROM range(60000) t(i)"
    )
    conn.close()


def test_a_migration_on_a_full_disk_refuses_or_rolls_back_and_completes_later(
    small_fs: Path, versions_dir: Path
) -> None:
    database = small_fs / "egregora.duckdb"
    _warehouse_at_0001(database, versions_dir)
    held = _snapshot(database)
    ballast = _fill(small_fs, leave=database.stat().st_size // 2)
    upgrade = ["db", "upgrade", "--database", str(database), "--versions-dir", str(versions_dir)]

    refused = cli(*upgrade)

    assert refused.returncode == ExitCode.ERROR
    assert "not enough free space" in refused.stderr
    assert list((small_fs / "backups").glob("*")) == []

    unguarded = cli(*upgrade, "--no-backup")

    assert unguarded.returncode == ExitCode.ERROR
    assert "No space left on device" in unguarded.stderr
    assert "rolled back" in unguarded.stderr
    assert _snapshot(database) == held

    ballast.unlink()
    done = cli(*upgrade)

    assert done.returncode == ExitCode.OK, done.stderr
    assert "backup taken first" in done.stdout
    assert (
        cli(
            "db", "current", "--database", str(database), "--versions-dir", str(versions_dir)
        ).stdout.strip()
        == "0002"
    )


def test_a_checkpoint_that_runs_out_of_space_after_the_commit_is_a_clear_error(
    tmp_path: Path, versions_dir: Path
) -> None:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    # sized so the automatic backup and the commit's WAL fit but the checkpoint does not,
    # for a warehouse in the default storage format v1.0.0+ (docs/storage-format.md)
    mounted = _mount(mount_point, "size=25m")
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full tests (run as root): {mounted.stderr}")
    try:
        database = mount_point / "egregora.duckdb"
        _warehouse_at_0001(database, versions_dir)
        upgrade = [
            "db",
            "upgrade",
            "--database",
            str(database),
            "--versions-dir",
            str(versions_dir),
        ]

        full = cli(*upgrade)

        said = " ".join(full.stderr.split())
        assert full.returncode == ExitCode.ERROR, said
        assert "the disk is full" in said
        assert "db restore" in said, "the automatic backup taken first is named"
        _grow(mount_point)
        done = cli(*upgrade)
        assert done.returncode == ExitCode.OK, done.stderr
        current = cli(
            "db", "current", "--database", str(database), "--versions-dir", str(versions_dir)
        )
        assert current.stdout.strip() == "0002"
        conn = duckdb.connect(str(database), read_only=True)
        try:
            rewritten = conn.execute(
                "SELECT count(*) FROM documents WHERE content LIKE '%' || repeat('x', 200)"
            ).fetchall()
        finally:
            conn.close()
        assert rewritten == [(60_000,)]
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], timeout=30, check=False)
