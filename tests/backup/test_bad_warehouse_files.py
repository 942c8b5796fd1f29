"""A damaged warehouse file is refused with the reason and what to do, and never modified.

Each kind of damage is built from a real warehouse: emptied, cut short, replaced
by random bytes, stamped with a newer storage version (header checksum
recomputed, so DuckDB reads the version rather than stopping at the checksum),
or given a write-ahead log that cannot be replayed (one whose entries fail
their checksum, one that is not a DuckDB WAL at all).
"""

from __future__ import annotations

import random
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main
from tests.backup.conftest import cli, execute, sha256

_HEADER_SIZE = 4096
_VERSION_OFFSET = 12  # after the 8-byte checksum and the 4-byte "DUCK" magic
_MULTIPLIER = 0xBF58476D1CE4E5B9


def _header_checksum(block: bytes) -> int:
    """DuckDB's block checksum: 5381 xor each little-endian word times a constant."""
    result = 5381
    for (word,) in struct.iter_unpack("<Q", block):
        result ^= (word * _MULTIPLIER) % 2**64
    return result


def _zero_bytes(db: Path) -> None:
    db.write_bytes(b"")


def _truncated(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def _random_bytes(db: Path) -> None:
    db.write_bytes(random.Random(11).randbytes(300_000))


def _newer_storage_version(db: Path) -> None:
    data = bytearray(db.read_bytes())
    struct.pack_into("<Q", data, _VERSION_OFFSET, 1000)
    struct.pack_into("<Q", data, 0, _header_checksum(bytes(data[8:_HEADER_SIZE])))
    db.write_bytes(bytes(data))


def _leave_a_wal(db: Path) -> Path:
    execute(
        db,
        "PRAGMA disable_checkpoint_on_shutdown",
        "SET checkpoint_threshold = '10GB'",
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type) "
        "SELECT 'wal-' || i, now(), 'sha', 'published', 'post' FROM range(500) t(i)",
    )
    wal = db.with_name(db.name + ".wal")
    assert wal.stat().st_size > 0
    return wal


def _wal_failing_its_checksum(db: Path) -> None:
    wal = _leave_a_wal(db)
    data = bytearray(wal.read_bytes())
    for i in range(200, 260):
        data[i] ^= 0xFF
    wal.write_bytes(bytes(data))


def _wal_that_is_not_a_wal(db: Path) -> None:
    wal = _leave_a_wal(db)
    wal.write_bytes(random.Random(5).randbytes(wal.stat().st_size))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "zero-byte": (_zero_bytes, "is empty (0 bytes)"),
    "truncated": (_truncated, "is truncated"),
    "random-bytes": (_random_bytes, "is not a DuckDB database file"),
    "newer-storage": (_newer_storage_version, "newer DuckDB"),
    "wal-checksum": (_wal_failing_its_checksum, "write-ahead log"),
    "wal-garbage": (_wal_that_is_not_a_wal, "write-ahead log"),
}


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, warehouse: Path) -> tuple[Path, str]:
    damage, reason = DAMAGE[request.param]
    damage(warehouse)
    return warehouse, reason


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["db", "check"], ["db", "current"], ["db", "backup"], ["db", "plan"]],
)
def test_db_commands_refuse_with_the_reason_and_leave_the_bytes_alone(
    damaged: tuple[Path, str], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, reason = damaged
    before = _snapshot(warehouse.parent)

    code = main([*command, "--database", str(warehouse)])

    err = " ".join(capsys.readouterr().err.split())
    assert code == ExitCode.ERROR, err
    assert reason in err
    assert "It was not modified" in err
    assert "db restore" in err
    assert _snapshot(warehouse.parent) == before


def test_ingest_refuses_too_and_names_the_newest_backup(
    damaged: tuple[Path, str], fixtures_dir: Path, tmp_path: Path
) -> None:
    warehouse, reason = damaged
    backups = warehouse.parent / "backups"
    backups.mkdir()
    older = backups / "egregora-20240101T000000.000000Z-0001.duckdb"
    newer = backups / "egregora-20250101T000000.000000Z-0001.duckdb"
    for path in (older, newer):
        shutil.copyfile(Path(__file__), path)  # only their names matter here
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "post.md").write_text("---\ntitle: Hi\n---\nbody\n", encoding="utf-8")
    before = _snapshot(warehouse.parent)

    done = cli("ingest", "--ephemeral", str(inbox), "--database", str(warehouse))

    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == ExitCode.ERROR, said
    assert reason in said
    assert f"db restore {newer}" in said
    assert _snapshot(warehouse.parent) == before
