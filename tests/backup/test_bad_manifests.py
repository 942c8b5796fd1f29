"""A damaged or hand-edited manifest never stops a listing, a restore or a prune."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from egregora_pipeline.backends.duckdb.listing import list_backups, prune
from egregora_pipeline.cli.exit_codes import ExitCode
from tests.backup.conftest import cli, execute, rows

BAD_TIMES: list[object] = ["yesterday", 12345, None, "2026-01-01T00:00:00"]


def _backup(warehouse: Path) -> Path:
    before = set((warehouse.parent / "backups").glob("*.duckdb"))
    assert cli("db", "backup", "--database", str(warehouse)).returncode == ExitCode.OK
    [copy] = set((warehouse.parent / "backups").glob("*.duckdb")) - before
    return copy


def _edit_manifest(copy: Path, **fields: object) -> None:
    manifest = copy.with_name(copy.name + ".json")
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, **fields}))


def test_backups_lists_every_backup_whatever_its_manifest_says(warehouse: Path) -> None:
    copies = [_backup(warehouse) for _ in BAD_TIMES]
    for copy, taken_at in zip(copies, BAD_TIMES, strict=True):
        _edit_manifest(copy, taken_at=taken_at)
    not_json = _backup(warehouse)
    not_json.with_name(not_json.name + ".json").write_text("{ not json")

    listed = cli("db", "backups", "--database", str(warehouse))

    assert listed.returncode == ExitCode.OK, listed.stderr
    for copy in [*copies, not_json]:
        assert copy.name in listed.stdout


def test_a_backup_with_a_bad_time_in_its_manifest_restores(warehouse: Path) -> None:
    copy = _backup(warehouse)
    _edit_manifest(copy, taken_at="yesterday")
    execute(warehouse, "DELETE FROM documents")

    done = cli("db", "restore", str(copy), "--database", str(warehouse))

    assert done.returncode == ExitCode.OK, done.stderr
    assert rows(warehouse, "SELECT count(*) FROM documents") == [(3,)]


def test_prune_removes_old_automatic_backups_with_bad_manifests(warehouse: Path) -> None:
    manual = _backup(warehouse)
    automatic = []
    for taken_at in BAD_TIMES:  # automatic backups, as a migration names them
        path = manual.with_name(
            manual.name.replace(".duckdb", f"-{len(automatic)}-automatic.duckdb")
        )
        shutil.copyfile(manual, path)
        shutil.copyfile(
            manual.with_name(manual.name + ".json"), path.with_name(path.name + ".json")
        )
        _edit_manifest(path, taken_at=taken_at, kind="automatic")
        automatic.append(path)

    removed = prune(warehouse, keep=1)

    assert len(removed) == len(BAD_TIMES) - 1
    assert {info.kind for info in list_backups(warehouse)} == {"manual", "automatic"}
    assert manual.exists()
