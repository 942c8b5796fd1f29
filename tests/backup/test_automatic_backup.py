"""Automatic backups: before every step that drops or rewrites data, never before one that adds."""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.backends.backup_base import BackupPolicy
from egregora_pipeline.definitions import defs
from egregora_pipeline.errors import EgregoraError
from egregora_pipeline.migrations import MigrationConfig, downgrade, upgrade
from egregora_pipeline.orchestration.resources import build_resources
from egregora_pipeline.settings import Settings
from tests.backup.conftest import cli, rows
from tests.migrations.conftest import RevisionWriter, build_legacy_v2
from tests.migrations.conftest import write_revision as write_revision  # the fixture

ADD = 'op.add_column("documents", "lang", "VARCHAR")'
DROP_TITLE = 'op.drop_column("documents", "title")'
WIDEN = 'op.alter_column_type("documents", "date", "VARCHAR")'
NARROW_BACK = 'op.alter_column_type("documents", "date", "DATE")'
OVERWRITE = 'op.backfill("documents", "status", "\'draft\'", where="status = \'published\'")'
FILL_NULLS = 'op.backfill("documents", "summary", "\'-\'")'


def _automatic(warehouse: Path) -> list[Path]:
    return sorted((warehouse.parent / "backups").glob("*-automatic.duckdb"))


def _config(warehouse: Path, versions_dir: Path, **options: object) -> MigrationConfig:
    return MigrationConfig(warehouse, versions_dir=versions_dir, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [ADD, FILL_NULLS, 'op.create_index("ix", "documents", ["id"])'])
def test_a_change_that_only_adds_takes_no_backup(
    warehouse: Path, versions_dir: Path, write_revision: RevisionWriter, body: str
) -> None:
    write_revision(versions_dir, "0002", "0001", body)

    result = upgrade(_config(warehouse, versions_dir))

    assert result.to_revision == "0002"
    assert result.backup is None
    assert not (warehouse.parent / "backups").exists()


@pytest.mark.parametrize(
    ("body", "options"),
    [
        (DROP_TITLE, {"allow_destructive": True}),
        (WIDEN, {}),
        (OVERWRITE, {}),
        ('op.execute("UPDATE documents SET title = upper(title)")', {}),
    ],
)
def test_a_change_that_drops_or_rewrites_data_is_preceded_by_a_backup(
    warehouse: Path,
    versions_dir: Path,
    write_revision: RevisionWriter,
    body: str,
    options: dict[str, object],
) -> None:
    write_revision(versions_dir, "0002", "0001", body)

    result = upgrade(_config(warehouse, versions_dir, **options))

    assert result.backup is not None
    [backup] = _automatic(warehouse)
    assert result.backup.path == backup
    assert result.backup.revision == "0001"
    assert "0002" in (result.backup.reason or "")
    assert rows(backup, "SELECT title, status FROM documents ORDER BY id")[0] == (
        "Title 0",
        "published",
    )


def test_no_backup_for_a_step_the_destructive_guard_refuses(
    warehouse: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(versions_dir, "0002", "0001", DROP_TITLE)

    with pytest.raises(EgregoraError, match="allow-destructive"):
        upgrade(_config(warehouse, versions_dir))

    assert _automatic(warehouse) == []


def test_a_downgrade_that_drops_a_column_is_backed_up(
    warehouse: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(versions_dir, "0002", "0001", ADD, 'op.drop_column("documents", "lang")')
    assert upgrade(_config(warehouse, versions_dir)).backup is None

    result = downgrade(_config(warehouse, versions_dir, allow_destructive=True), "-1")

    assert result.backup is not None
    assert result.backup.revision == "0002"
    assert _automatic(warehouse) == [result.backup.path]


def test_adopting_a_legacy_layout_is_backed_up_and_an_empty_one_is_not(
    tmp_path: Path,
) -> None:
    legacy = tmp_path / "legacy" / "egregora.duckdb"
    build_legacy_v2(legacy)
    fresh = tmp_path / "fresh" / "egregora.duckdb"

    adopted = upgrade(MigrationConfig(legacy))
    created = upgrade(MigrationConfig(fresh))

    assert adopted.adopted_layout == "legacy_v2"
    assert adopted.backup is not None
    assert {r[0] for r in rows(adopted.backup.path, "SELECT table_name FROM duckdb_tables()")} >= {
        "posts",
        "media",
    }
    assert created.backup is None
    assert not (fresh.parent / "backups").exists()


def test_opting_out_by_flag_or_environment(
    warehouse: Path,
    versions_dir: Path,
    write_revision: RevisionWriter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_revision(versions_dir, "0002", "0001", WIDEN, NARROW_BACK)
    flagged = cli(
        "db",
        "upgrade",
        "--no-backup",
        "--database",
        str(warehouse),
        "--versions-dir",
        str(versions_dir),
    )
    assert flagged.returncode == 0, flagged.stderr
    assert _automatic(warehouse) == []

    monkeypatch.setenv("EGREGORA_BACKUP", "off")
    downgrade(_config(warehouse, versions_dir), "-1")
    assert _automatic(warehouse) == []


def test_only_the_newest_automatic_backups_are_kept(
    warehouse: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(versions_dir, "0002", "0001", OVERWRITE, OVERWRITE.replace("draft", "x"))
    assert cli("db", "backup", "--database", str(warehouse)).returncode == 0
    policy = BackupPolicy(keep=2)
    taken = []
    for _ in range(3):
        taken.append(upgrade(_config(warehouse, versions_dir, backup=policy)).backup)
        taken.append(downgrade(_config(warehouse, versions_dir, backup=policy), "-1").backup)

    kept = _automatic(warehouse)
    assert len(kept) == 2
    assert None not in taken
    assert kept == [info.path for info in taken[-2:] if info is not None]
    manual = [
        p for p in (warehouse.parent / "backups").glob("*.duckdb") if "automatic" not in p.name
    ]
    assert len(manual) == 1, "a manual backup is never pruned"


def test_a_failed_migration_says_how_to_restore_and_the_restore_works(
    warehouse: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(
        versions_dir,
        "0002",
        "0001",
        OVERWRITE + '\nop.execute("SELECT * FROM no_such_table")',
    )

    done = cli("db", "upgrade", "--database", str(warehouse), "--versions-dir", str(versions_dir))

    assert done.returncode == 3
    [backup] = _automatic(warehouse)
    assert f"db restore {backup} --database {warehouse}" in " ".join(done.stderr.split())
    restored = cli("db", "restore", str(backup), "--database", str(warehouse))
    assert restored.returncode == 0, restored.stderr
    assert rows(warehouse, "SELECT count(*) FROM documents WHERE status = 'published'") == [(3,)]


def test_the_schema_asset_names_the_backup_it_took(tmp_path: Path) -> None:
    database = tmp_path / "legacy" / "egregora.duckdb"
    build_legacy_v2(database)

    result = defs.resolve_job_def("migrate_job").execute_in_process(
        resources=build_resources(Settings(database=database)), raise_on_error=False
    )

    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    [backup] = _automatic(database)
    assert metadata["backup"].value == str(backup)
    assert metadata["backup_revision"].value == "unversioned"
