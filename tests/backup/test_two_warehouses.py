"""Two warehouses side by side, ``wh`` and ``wh-test``: each keeps to its own backups."""

from __future__ import annotations

from pathlib import Path

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.backup.conftest import cli, sha256


def _two_warehouses_backed_up(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """``wh`` and ``wh-test``, each backed up once, ``wh-test`` last (so its backup is newest)."""
    wh, wh_test = tmp_path / "wh.duckdb", tmp_path / "wh-test.duckdb"
    copies = []
    for database in (wh, wh_test):
        assert cli("db", "upgrade", "--database", str(database)).returncode == ExitCode.OK
        before = set((tmp_path / "backups").glob("*.duckdb"))
        done = cli("db", "backup", "--database", str(database))
        assert done.returncode == ExitCode.OK, done.stderr
        [copy] = set((tmp_path / "backups").glob("*.duckdb")) - before
        copies.append(copy)
    return wh, wh_test, copies[0], copies[1]


def test_a_damaged_warehouse_is_told_to_restore_its_own_newest_backup(tmp_path: Path) -> None:
    wh, _, wh_backup, wh_test_backup = _two_warehouses_backed_up(tmp_path)
    wh.write_bytes(b"")

    for manifests in ("with", "without"):
        if manifests == "without":
            for manifest in (tmp_path / "backups").glob("*.json"):
                manifest.unlink()
        refused = cli("db", "check", "--database", str(wh))

        assert refused.returncode == ExitCode.ERROR
        assert f"db restore {wh_backup} --database {wh}" in refused.stderr, manifests
        assert str(wh_test_backup) not in refused.stderr, manifests


def test_restore_refuses_another_warehouses_backup_unless_told(tmp_path: Path) -> None:
    wh, _, _, wh_test_backup = _two_warehouses_backed_up(tmp_path)
    before = sha256(wh)

    refused = cli("db", "restore", str(wh_test_backup), "--database", str(wh))

    assert refused.returncode == ExitCode.ERROR
    assert "wh-test.duckdb" in refused.stderr
    assert "--from-other-warehouse" in refused.stderr
    assert "nothing was restored" in refused.stderr
    assert sha256(wh) == before
    assert list((tmp_path / "backups").glob("*pre-restore*")) == []

    forced = cli(
        "db", "restore", str(wh_test_backup), "--database", str(wh), "--from-other-warehouse"
    )

    assert forced.returncode == ExitCode.OK, forced.stderr
    assert sha256(wh) == sha256(wh_test_backup)
