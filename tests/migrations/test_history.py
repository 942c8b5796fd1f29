"""Bookkeeping: one row per applied revision, checksums verified by every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.errors import WarehouseNotFoundError
from egregora_pipeline.migrations import (
    HistoryError,
    MigrationConfig,
    check,
    current,
    downgrade,
    history,
    plan,
    stamp,
    upgrade,
)
from tests.migrations.conftest import RevisionWriter, execute, query


@pytest.fixture
def at_head(warehouse_path: Path, versions_dir: Path) -> MigrationConfig:
    config = MigrationConfig(warehouse_path, versions_dir=versions_dir)
    upgrade(config)
    return config


def test_each_applied_revision_is_recorded_with_checksum_and_author(
    at_head: MigrationConfig,
) -> None:
    rows = query(
        at_head.database,
        "SELECT revision_id, parent_id, length(checksum), duration_ms >= 0, applied_by, "
        "applied_at IS NOT NULL FROM egregora_migrations",
    )

    assert len(rows) == 1
    revision_id, parent, checksum_length, duration_ok, applied_by, stamped = rows[0]
    assert (revision_id, parent, checksum_length, duration_ok, stamped) == (
        "0001",
        None,
        64,
        True,
        True,
    )
    assert "@" in applied_by
    assert "pid" in applied_by


def test_an_edited_revision_file_is_refused_by_every_command(at_head: MigrationConfig) -> None:
    assert at_head.versions_dir is not None
    edited = next(at_head.versions_dir.glob("0001_*.py"))
    edited.write_text(edited.read_text() + "\n# edited after it was applied\n")

    with pytest.raises(HistoryError) as caught:
        upgrade(at_head)
    message = str(caught.value)
    assert str(edited) in message
    assert "changed after it was applied" in message
    assert "db stamp 0001" in message
    assert "git checkout" in message
    with pytest.raises(HistoryError):
        plan(at_head)
    with pytest.raises(HistoryError):
        downgrade(at_head, "base")
    report = check(at_head)
    assert not report.ok
    assert not report.history_ok
    assert str(edited) in report.history_problems[0]


def test_stamp_records_the_new_checksum_and_resolves_a_mismatch(
    at_head: MigrationConfig,
) -> None:
    assert at_head.versions_dir is not None
    edited = next(at_head.versions_dir.glob("0001_*.py"))
    edited.write_text(edited.read_text() + "\n# a comment only\n")

    stamp(at_head, "0001")

    assert check(at_head).ok
    assert query(at_head.database, "SELECT note FROM egregora_migrations") == [("re-stamped",)]


def test_an_unknown_revision_id_in_bookkeeping_is_refused(at_head: MigrationConfig) -> None:
    execute(
        at_head.database,
        "INSERT INTO egregora_migrations VALUES ('9999', '0001', 'from the future', 'abc', "
        "now(), 1, 'someone@else pid 1', NULL)",
    )

    with pytest.raises(HistoryError) as caught:
        upgrade(at_head)

    assert "'9999'" in str(caught.value)
    assert "no file" in str(caught.value)
    assert not check(at_head).history_ok
    stamp(at_head, "head")
    assert check(at_head).ok


def test_stamp_adopts_a_warehouse_without_running_sql(
    warehouse_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(versions_dir, "0002", "0001", "op.execute('CREATE TABLE never_run (x INT)')")
    config = MigrationConfig(warehouse_path, versions_dir=versions_dir)
    upgrade(config, "0001")

    stamp(config, "head")

    assert current(config) == "0002"
    tables = {r[0] for r in query(warehouse_path, "SELECT table_name FROM duckdb_tables()")}
    assert "never_run" not in tables


def test_history_marks_applied_revisions(
    warehouse_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(versions_dir, "0002", "0001")
    config = MigrationConfig(warehouse_path, versions_dir=versions_dir)
    upgrade(config, "0001")

    entries, problems = history(config)

    assert [(e.revision_id, e.applied, e.is_current, e.is_head) for e in entries] == [
        ("0001", True, True, False),
        ("0002", False, False, True),
    ]
    assert problems == []


def test_reading_history_of_a_missing_file_creates_nothing(warehouse_path: Path) -> None:
    config = MigrationConfig(warehouse_path)

    with pytest.raises(WarehouseNotFoundError):  # a typo'd path must not read as "at base"
        current(config)
    entries, _ = history(config)  # the revision files themselves are still listed

    assert entries
    assert not any(e.applied for e in entries)
    assert not warehouse_path.exists()
