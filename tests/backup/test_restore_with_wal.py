"""A backup with a pending WAL is restored whole, or not at all."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from pathlib import Path

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.backup.conftest import execute, rows, sha256
from tests.conftest import CLI, REPO_ROOT

PENDING = (
    "PRAGMA disable_checkpoint_on_shutdown",
    "SET checkpoint_threshold = '10GB'",
    "INSERT INTO documents (id, content, created_at, source_checksum, title, status, doc_type) "
    "SELECT 'wal-' || i, repeat('x', 500) || i, now(), 'sha-wal-' || i, 'T', 'published', "
    "'post' FROM range(20000) t(i)",
)


def _backup_with_pending_wal(warehouse: Path) -> Path:
    """A copy of the warehouse whose WAL (bigger than the file itself) holds 20 000 rows."""
    backup = warehouse.parent / "with-wal.duckdb"
    shutil.copyfile(warehouse, backup)  # no process holds it: a plain copy is safe
    execute(backup, *PENDING)
    assert backup.with_name(backup.name + ".wal").stat().st_size > backup.stat().st_size
    return backup


def test_a_backup_with_a_pending_wal_is_restored_with_its_rows(warehouse: Path) -> None:
    backup = _backup_with_pending_wal(warehouse)

    done = subprocess.run(
        [str(CLI), "db", "restore", str(backup), "--database", str(warehouse)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )

    assert done.returncode == ExitCode.OK, done.stderr
    assert not warehouse.with_name(warehouse.name + ".wal").exists()
    assert rows(warehouse, "SELECT count(*) FROM documents") == [(20003,)]


def test_when_the_wal_cannot_be_copied_the_warehouse_is_unchanged(warehouse: Path) -> None:
    backup = _backup_with_pending_wal(warehouse)
    execute(warehouse, "DELETE FROM documents WHERE id = 'doc-0'")  # differs from the backup
    before = sha256(warehouse)
    # files may grow to the size of the warehouse (the pre-restore copy, the main
    # file's copy), not to the size of the backup's WAL: its copy fails (EFBIG)
    limit = max(warehouse.stat().st_size, backup.stat().st_size) + 64 * 1024

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [str(CLI), "db", "restore", str(backup), "--database", str(warehouse)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "250"},
        preexec_fn=limit_file_size,
        timeout=120,
        check=False,
    )

    assert done.returncode == ExitCode.ERROR, done.stdout + done.stderr
    assert "File too large" in done.stderr
    assert sha256(warehouse) == before
    assert rows(warehouse, "SELECT count(*) FROM documents") == [(2,)]
    assert [p.name for p in warehouse.parent.iterdir() if ".restoring" in p.name] == []
