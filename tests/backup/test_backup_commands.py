"""``db backup``, ``db backups`` and ``db restore`` as real commands."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.backup.conftest import cli, execute, rows, sha256
from tests.conftest import REPO_ROOT


def _backups(warehouse: Path) -> list[Path]:
    return sorted((warehouse.parent / "backups").glob("*.duckdb"))


def test_backup_prints_path_size_revision_and_sha256_of_a_consistent_copy(
    warehouse: Path,
) -> None:
    done = cli("db", "backup", "--database", str(warehouse))

    assert done.returncode == ExitCode.OK, done.stderr
    [copy] = _backups(warehouse)
    assert re.fullmatch(r"egregora-\d{8}T\d{6}\.\d{6}Z-0001\.duckdb", copy.name)
    assert str(copy) in done.stdout
    assert f"size {copy.stat().st_size} bytes" in done.stdout
    assert "revision 0001" in done.stdout
    assert sha256(copy) in done.stdout
    assert rows(copy, "SELECT count(*) FROM documents") == [(3,)]
    manifest = json.loads(copy.with_name(copy.name + ".json").read_text())
    assert manifest["sha256"] == sha256(copy)
    assert manifest["revision"] == "0001"


def test_backup_includes_changes_still_in_the_wal(warehouse: Path) -> None:
    execute(
        warehouse,
        "PRAGMA disable_checkpoint_on_shutdown",
        "SET checkpoint_threshold = '10GB'",
        "DELETE FROM documents WHERE id = 'doc-0'",
    )
    assert warehouse.with_name(warehouse.name + ".wal").stat().st_size > 0

    target = warehouse.parent / "exact.duckdb"
    done = cli("db", "backup", "--to", str(target), "--database", str(warehouse))

    assert done.returncode == ExitCode.OK, done.stderr
    assert not target.with_name(target.name + ".wal").exists()
    assert rows(target, "SELECT count(*) FROM documents") == [(2,)]


def test_backup_waits_for_a_writer_and_never_copies_under_it(
    warehouse: Path, held_open: subprocess.Popen[str]
) -> None:
    done = cli("db", "backup", "--database", str(warehouse), env={"EGREGORA_LOCK_TIMEOUT": "1"})

    assert done.returncode == ExitCode.ERROR
    assert "locked" in done.stderr
    assert f"PID {held_open.pid}" in done.stderr
    assert _backups(warehouse) == []


def test_backups_lists_newest_first(warehouse: Path) -> None:
    first = cli("db", "backup", "--database", str(warehouse))
    execute(warehouse, "DELETE FROM documents")
    second = cli("db", "backup", "--database", str(warehouse))
    assert first.returncode == second.returncode == ExitCode.OK

    listed = cli("db", "backups", "--database", str(warehouse))

    assert listed.returncode == ExitCode.OK, listed.stderr
    older, newer = _backups(warehouse)
    assert listed.stdout.index(newer.name) < listed.stdout.index(older.name)
    assert "0001" in listed.stdout
    assert "manual" in listed.stdout


def test_restore_puts_the_backup_back_and_keeps_the_replaced_file(warehouse: Path) -> None:
    assert cli("db", "backup", "--database", str(warehouse)).returncode == ExitCode.OK
    [backup] = _backups(warehouse)
    execute(warehouse, "DELETE FROM documents")
    replaced_bytes = sha256(warehouse)

    done = cli("db", "restore", str(backup), "--database", str(warehouse))

    assert done.returncode == ExitCode.OK, done.stderr
    assert rows(warehouse, "SELECT count(*) FROM documents") == [(3,)]
    [kept] = [p for p in _backups(warehouse) if "pre-restore" in p.name]
    assert sha256(kept) == replaced_bytes
    assert rows(kept, "SELECT count(*) FROM documents") == [(0,)]
    assert str(kept) in done.stdout


def test_restore_refuses_while_another_process_holds_the_warehouse(
    warehouse: Path, held_open: subprocess.Popen[str]
) -> None:
    backup = warehouse.parent / "copy.duckdb"
    shutil.copyfile(warehouse, backup)  # this test process holds no lock: a plain copy is safe
    before = sha256(warehouse)

    done = cli("db", "restore", str(backup), "--database", str(warehouse))

    assert done.returncode == ExitCode.ERROR
    assert f"PID {held_open.pid}" in done.stderr
    assert "in use" in done.stderr
    assert sha256(warehouse) == before
    assert _backups(warehouse) == []


def test_restore_verifies_the_backup_before_touching_anything(warehouse: Path) -> None:
    before = sha256(warehouse)
    not_ours = warehouse.parent / "other.duckdb"
    execute(not_ours, "CREATE TABLE t (i INTEGER)")
    garbage = warehouse.parent / "garbage.duckdb"
    garbage.write_bytes(b"\x00" * 8 + b"DUCK" + b"\x07" * 5000)
    assert cli("db", "backup", "--database", str(warehouse)).returncode == ExitCode.OK
    [tampered] = _backups(warehouse)
    with tampered.open("r+b") as handle:
        handle.seek(20000)
        handle.write(b"bit rot")

    for bad, why in (
        (not_ours, "egregora_migrations"),
        (garbage, "does not open"),
        (tampered, "SHA-256"),
        (warehouse.parent / "missing.duckdb", "no backup file"),
    ):
        done = cli("db", "restore", str(bad), "--database", str(warehouse))
        assert done.returncode == ExitCode.ERROR, bad
        assert why in done.stderr, done.stderr
        assert "nothing was restored" in done.stderr or "no backup file" in done.stderr
    assert sha256(warehouse) == before
    assert [p for p in _backups(warehouse) if "pre-restore" in p.name] == []


def test_restore_replaces_a_damaged_warehouse_and_keeps_it(warehouse: Path) -> None:
    assert cli("db", "backup", "--database", str(warehouse)).returncode == ExitCode.OK
    [backup] = _backups(warehouse)
    warehouse.write_bytes(b"")

    refused = cli("db", "check", "--database", str(warehouse))
    assert refused.returncode == ExitCode.ERROR
    assert f"db restore {backup}" in refused.stderr

    done = cli("db", "restore", str(backup), "--database", str(warehouse))

    assert done.returncode == ExitCode.OK, done.stderr
    # the backup was taken at 0001 (the fixture's revision): on to head, then all is well
    assert cli("db", "upgrade", "--database", str(warehouse)).returncode == ExitCode.OK
    assert cli("db", "check", "--database", str(warehouse)).returncode == ExitCode.OK
    [kept] = [p for p in _backups(warehouse) if "pre-restore" in p.name]
    assert kept.stat().st_size == 0


def test_a_postgresql_warehouse_that_cannot_be_reached_is_an_error_without_its_password(
    tmp_path: Path,
) -> None:
    url = "postgresql://user:s3cret-pw@127.0.0.1:1/egregora"
    for command in (["backup", "--to", str(tmp_path)], ["restore", str(tmp_path / "x.dump")]):
        done = cli("db", *command, "--database", url)
        assert done.returncode == ExitCode.ERROR, done.stderr
        assert "s3cret-pw" not in done.stdout + done.stderr
        assert "internal error" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_restore_can_be_undone_even_when_the_replaced_file_had_a_pending_wal(
    warehouse: Path,
) -> None:
    assert cli("db", "backup", "--database", str(warehouse)).returncode == ExitCode.OK
    [older] = _backups(warehouse)
    execute(
        warehouse,
        "PRAGMA disable_checkpoint_on_shutdown",
        "SET checkpoint_threshold = '10GB'",
        "DELETE FROM documents WHERE id <> 'doc-1'",
    )
    assert warehouse.with_name(warehouse.name + ".wal").stat().st_size > 0

    assert cli("db", "restore", str(older), "--database", str(warehouse)).returncode == 0
    assert rows(warehouse, "SELECT count(*) FROM documents") == [(3,)]
    [kept] = [p for p in _backups(warehouse) if "pre-restore" in p.name]
    assert "-0001-pre-restore" in kept.name
    assert kept.with_name(kept.name + ".wal").exists(), "the replaced file's WAL is kept too"

    undone = cli("db", "restore", str(kept), "--database", str(warehouse))

    assert undone.returncode == ExitCode.OK, undone.stderr
    assert rows(warehouse, "SELECT id FROM documents") == [("doc-1",)]


def test_a_postgresql_url_as_backup_file_is_refused_without_its_password(
    warehouse: Path,
) -> None:
    url = "postgresql://bob:s3cret-pw@db.example/egregora"
    before = sorted(p.name for p in warehouse.parent.iterdir())
    for command in (
        ["backup", "--to", url],
        ["restore", url],
        ["restore", "postgres://bob:s3cret-pw@db.example/egregora"],
    ):
        done = cli("db", *command, "--database", str(warehouse))

        assert done.returncode == ExitCode.ERROR, command
        assert "s3cret-pw" not in done.stdout + done.stderr, command
        assert "bob:***@db.example" in done.stderr, command
        assert "pg_dump" in done.stderr, command
    assert sorted(p.name for p in warehouse.parent.iterdir()) == before
    assert not (REPO_ROOT / "postgresql:").exists()


def test_backup_to_an_existing_folder_a_file_path_or_a_missing_folder(
    warehouse: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "kept"
    folder.mkdir()
    into_folder = cli("db", "backup", "--to", str(folder), "--database", str(warehouse))
    as_file = cli(
        "db", "backup", "--to", str(tmp_path / "one.duckdb"), "--database", str(warehouse)
    )
    missing = cli("db", "backup", "--to", f"{tmp_path / 'newdir'}/", "--database", str(warehouse))

    assert into_folder.returncode == ExitCode.OK, into_folder.stderr
    [copy] = folder.glob("egregora-*.duckdb")
    assert rows(copy, "SELECT count(*) FROM documents") == [(3,)]
    assert as_file.returncode == ExitCode.OK, as_file.stderr
    assert rows(tmp_path / "one.duckdb", "SELECT count(*) FROM documents") == [(3,)]
    assert missing.returncode == ExitCode.USAGE
    assert "not an existing folder" in missing.stderr
    assert not (tmp_path / "newdir").exists()
