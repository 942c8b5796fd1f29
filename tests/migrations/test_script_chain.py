"""Revision files must form one linear chain; anything else is an error naming the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.migrations import (
    DuplicateRevisionError,
    MigrationConfig,
    MissingParentError,
    MultipleHeadsError,
    RevisionFileError,
    upgrade,
)
from egregora_pipeline.migrations.script import BUNDLED_VERSIONS_DIR, ScriptDirectory
from tests.migrations.conftest import RevisionWriter


def test_the_bundled_revisions_form_one_chain_starting_at_0001() -> None:
    scripts = ScriptDirectory.load()

    assert scripts.directory == BUNDLED_VERSIONS_DIR
    assert scripts.ids[0] == "0001"
    assert scripts.chain[0].down_revision is None


def test_files_are_ordered_by_parent_not_by_name(
    versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(versions_dir, "0003", "0002", slug="b")
    write_revision(versions_dir, "0002", "0001", slug="a")

    assert ScriptDirectory.load(versions_dir).ids == ["0001", "0002", "0003"]


def test_two_heads_name_both_files(versions_dir: Path, write_revision: RevisionWriter) -> None:
    first = write_revision(versions_dir, "0002", "0001", slug="left")
    second = write_revision(versions_dir, "0003", "0001", slug="right")

    with pytest.raises(MultipleHeadsError) as caught:
        ScriptDirectory.load(versions_dir)

    message = str(caught.value)
    assert str(first) in message
    assert str(second) in message
    assert "two heads" in message


def test_a_gap_names_the_file_and_the_missing_parent(
    versions_dir: Path, write_revision: RevisionWriter
) -> None:
    orphan = write_revision(versions_dir, "0003", "0002")

    with pytest.raises(MissingParentError) as caught:
        ScriptDirectory.load(versions_dir)

    assert str(orphan) in str(caught.value)
    assert "'0002'" in str(caught.value)
    assert "gap" in str(caught.value)


def test_a_duplicate_id_names_both_files(
    versions_dir: Path, write_revision: RevisionWriter
) -> None:
    first = write_revision(versions_dir, "0002", "0001", slug="one")
    second = write_revision(versions_dir, "0002", "0001", slug="two")

    with pytest.raises(DuplicateRevisionError) as caught:
        ScriptDirectory.load(versions_dir)

    assert str(first) in str(caught.value)
    assert str(second) in str(caught.value)


def test_a_file_missing_downgrade_is_named(versions_dir: Path) -> None:
    broken = versions_dir / "0002_broken.py"
    broken.write_text("revision = '0002'\ndown_revision = '0001'\nmessage = 'x'\n")

    with pytest.raises(RevisionFileError) as caught:
        ScriptDirectory.load(versions_dir)

    assert str(broken) in str(caught.value)
    assert "upgrade, downgrade" in str(caught.value)


def test_a_broken_chain_stops_upgrade_before_opening_the_warehouse(
    versions_dir: Path, write_revision: RevisionWriter, warehouse_path: Path
) -> None:
    write_revision(versions_dir, "0003", "0002")

    with pytest.raises(MissingParentError):
        upgrade(MigrationConfig(warehouse_path, versions_dir=versions_dir))

    assert not warehouse_path.exists()
