"""Egregora's DuckDB (1.4.4) opens every DuckDB file this project creates or rewrites.

Facts these tests encode (docs/storage-format.md):

- upstream Egregora pins duckdb 1.4.4 (``uv.lock``, franklinbaldo/egregora 1123bf243);
- DuckDB 1.4.4 reads storage version numbers 64 to 67 ("can only read versions between
  64 and 67"); DuckDB 2.0's default for a new file, v2.0.0+, is number 999;
- a file keeps its storage format for life: a byte copy (``db backup``, ``db restore``)
  has the original's, and DuckDB 2.0 writing into a 1.x file keeps it 1.x.

Each file is opened read-only by the real DuckDB 1.4.4 in a second virtual environment
(``tests/storage/egregora_duckdb.py``) and its rows are compared with what DuckDB 2.0 reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.backends.duckdb.config import duckdb_storage_version
from egregora_pipeline.backends.duckdb.storage_format import (
    NAMES,
    DuckDBStorageFormat,
    read_storage_format,
)
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.defaults import DEFAULT_DUCKDB_STORAGE_VERSION
from egregora_pipeline.errors import SettingsError
from egregora_pipeline.settings import Settings
from tests.cli.json_answers import json_answer
from tests.conftest import REPO_ROOT, run_cli
from tests.migrations.upstream_layouts import LAYOUTS
from tests.storage.egregora_duckdb import (
    create_with_egregora_duckdb,
    read_with_egregora_duckdb,
    refusal_of_egregora_duckdb,
)

EXAMPLES = REPO_ROOT / "examples"
COUNTS = (
    "SELECT count(*) FROM messages",
    "SELECT count(*) FROM documents",
    "SELECT max(revision_id) FROM egregora_migrations",
)
V1 = DuckDBStorageFormat(64)


@pytest.fixture(autouse=True)
def _own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented defaults, whatever the caller's shell sets; runs in a throw-away instance."""
    for variable in [v for v in os.environ if v.startswith("EGREGORA_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("EGREGORA_EPHEMERAL_INSTANCE", "1")


def _counts_in_duckdb_2(path: Path) -> list[list[tuple[object, ...]]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return [[tuple(row) for row in conn.execute(q).fetchall()] for q in COUNTS]


def _assert_egregora_reads_it(path: Path) -> None:
    """DuckDB 1.4.4 opens ``path`` and reads the same rows DuckDB 2.0 reads."""
    assert read_storage_format(path) == V1, f"{path} is not in format v1.0.0+"
    by_egregora = read_with_egregora_duckdb(path, *COUNTS)
    assert by_egregora == _counts_in_duckdb_2(path)
    assert by_egregora[0][0][0] > 0, "the file holds the ingested messages"


def _ingest(database: Path) -> None:
    done = run_cli("ingest", "--database", str(database), str(EXAMPLES))
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr


def test_the_header_names_each_format_as_duckdb_does(tmp_path: Path) -> None:
    for version in ("v1.0.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v2.0.0"):
        path = tmp_path / f"{version}.duckdb"
        duckdb.connect(str(path), config={"storage_compatibility_version": version}).close()
        with duckdb.connect(str(path), read_only=True) as conn:
            (tag,) = conn.execute(
                "SELECT tags['storage_version'] FROM duckdb_databases() "
                "WHERE database_name = current_database()"
            ).fetchone() or (None,)
        found = read_storage_format(path)
        assert found is not None, version
        assert found.name == tag, version
        assert found.egregora_can_read == (refusal_of_egregora_duckdb(path) is None), version
    made_by_egregora = tmp_path / "egregora.duckdb"
    create_with_egregora_duckdb(made_by_egregora, ["CREATE TABLE t AS SELECT 1 AS a"])
    assert read_storage_format(made_by_egregora) == V1, "what DuckDB 1.4.4 writes itself"
    assert set(NAMES) >= {64, 999}
    assert read_storage_format(tmp_path / "missing.duckdb") is None


def test_every_file_the_project_writes_opens_in_egregoras_duckdb(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    _ingest(warehouse)  # a fresh ingest creates the warehouse
    _assert_egregora_reads_it(warehouse)

    created = tmp_path / "created.duckdb"  # `db upgrade` on a new path
    assert run_cli("db", "upgrade", "--database", str(created)).returncode == ExitCode.OK
    assert read_storage_format(created) == V1
    assert read_with_egregora_duckdb(created, COUNTS[2]) == [[("0002",)]]

    _, backed_up = json_answer("db", "backup", "--database", str(warehouse))
    backup = Path(backed_up["backup"]["path"])
    _assert_egregora_reads_it(backup)

    with duckdb.connect(str(warehouse)) as conn:  # a change the restore will undo
        conn.execute("DELETE FROM messages")
    done, restored = json_answer("db", "restore", str(backup), "--database", str(warehouse))
    assert done.returncode == ExitCode.OK
    _assert_egregora_reads_it(warehouse)  # the file the restore installed
    assert read_storage_format(Path(restored["previous"]["path"])) == V1  # the kept one

    _, current = json_answer("db", "current", "--database", str(warehouse))
    assert current["storage_format"] == {
        "name": "v1.0.0+",
        "version_number": 64,
        "egregora_duckdb": "1.4.4",
        "egregora_can_read": True,
    }
    _, checked = json_answer("db", "check", "--database", str(warehouse))
    assert checked["storage_format"] == current["storage_format"]
    human = run_cli("db", "check", "--database", str(warehouse)).stdout
    assert "storage format: v1.0.0+ (DuckDB 1.4.4, Egregora's pin, opens it)" in human
    said = run_cli("db", "current", "--database", str(warehouse))
    assert said.stdout.strip() == "0002", "stdout stays the revision alone, for scripts"
    assert "storage format: v1.0.0+" in said.stderr


def test_a_file_egregoras_duckdb_created_stays_readable_after_upgrade_and_ingest(
    tmp_path: Path,
) -> None:
    """Upstream's constrained layout (keys, indexes, FK tables: ``upstream_layouts.py``),
    written by DuckDB 1.4.4 itself; the adoption rebuilds ``documents`` and ``messages`` in
    batch mode, then an ingest adds rows."""
    warehouse = tmp_path / "egregora.duckdb"
    layout = LAYOUTS["constrained"]
    create_with_egregora_duckdb(warehouse, [*layout.ddl, *layout.rows(0)])
    assert read_storage_format(warehouse) == V1

    done, upgraded = json_answer("db", "upgrade", "--database", str(warehouse))
    assert done.returncode == ExitCode.OK, upgraded
    assert any("batch mode" in action for action in upgraded["reconcile_actions"]), upgraded
    _ingest(warehouse)

    assert read_storage_format(warehouse) == V1, "DuckDB 2.0 keeps a 1.x file 1.x"
    _assert_egregora_reads_it(warehouse)


def test_storage_upgrade_backs_up_first_and_then_only_duckdb_2_opens_the_file(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "w.duckdb"
    _ingest(warehouse)
    rows = _counts_in_duckdb_2(warehouse)

    done, answer = json_answer(
        "db", "storage-upgrade", "--to", "v2.0.0", "--database", str(warehouse)
    )
    assert done.returncode == ExitCode.OK, answer
    assert answer["changed"]
    assert answer["rows"] > 0
    assert (answer["before"]["name"], answer["after"]["name"]) == ("v1.0.0+", "v2.0.0+")
    backup = Path(answer["backup"]["path"])
    assert answer["backup"]["kind"] == "pre-storage-upgrade"
    _assert_egregora_reads_it(backup)  # the copy taken first is the old file, old format

    refusal = refusal_of_egregora_duckdb(warehouse)
    assert refusal is not None
    assert "version number 999" in refusal, refusal
    assert _counts_in_duckdb_2(warehouse) == rows, "DuckDB 2.0 reads every row"
    assert run_cli("db", "check", "--database", str(warehouse)).returncode == ExitCode.OK
    _, current = json_answer("db", "current", "--database", str(warehouse))
    assert current["storage_format"]["egregora_can_read"] is False
    _ingest(warehouse)  # a v2.0.0+ file stays v2.0.0+ too
    assert read_storage_format(warehouse) == DuckDBStorageFormat(999)

    again, same = json_answer(
        "db", "storage-upgrade", "--to", "v2.0.0", "--database", str(warehouse)
    )
    assert again.returncode == ExitCode.OK
    assert not same["changed"]
    assert same["backup"] is None

    # the way back: the file an earlier egregora-pipeline created in v2.0.0+ moves to v1.0.0
    _, back = json_answer("db", "storage-upgrade", "--to", "v1.0.0", "--database", str(warehouse))
    assert back["after"]["egregora_can_read"]
    _assert_egregora_reads_it(warehouse)


def test_the_setting_picks_the_format_of_new_files_only(tmp_path: Path) -> None:
    assert duckdb_storage_version({}) == DEFAULT_DUCKDB_STORAGE_VERSION
    with pytest.raises(SettingsError, match="EGREGORA_DUCKDB_STORAGE_VERSION"):
        Settings.from_env({"EGREGORA_DUCKDB_STORAGE_VERSION": "v9"})  # refused before any run
    newer = tmp_path / "newer.duckdb"
    chosen = {"EGREGORA_DUCKDB_STORAGE_VERSION": "v2.0.0"}
    assert run_cli("db", "upgrade", "--database", str(newer), env=chosen).returncode == 0
    assert read_storage_format(newer) == DuckDBStorageFormat(999)
    _ingest(newer)  # with the default setting: the existing file keeps its format
    assert read_storage_format(newer) == DuckDBStorageFormat(999)

    bad = run_cli(
        "db", "upgrade", "--database", str(tmp_path / "bad.duckdb"),
        env={"EGREGORA_DUCKDB_STORAGE_VERSION": "v9.9.9"},
    )  # fmt: skip
    assert bad.returncode == ExitCode.ERROR
    assert "EGREGORA_DUCKDB_STORAGE_VERSION='v9.9.9' is not valid" in bad.stderr
    assert "v1.4.4" in bad.stderr, "the versions DuckDB knows are listed"
    assert not (tmp_path / "bad.duckdb").exists()
    unparsable = run_cli(
        "db", "current", "--database", str(newer), env={"EGREGORA_DUCKDB_STORAGE_VERSION": "1.4"}
    )
    assert unparsable.returncode == ExitCode.ERROR, "a typo is refused before any file is made"


def test_postgresql_warehouses_have_no_duckdb_storage_format() -> None:
    url = "postgresql://bob:hunter2secret@/egregora?host=/nonexistent-dir"
    done, refused = json_answer("db", "storage-upgrade", "--to", "v2.0.0", "--database", url)
    assert done.returncode == ExitCode.ERROR
    assert "no DuckDB storage format" in refused["error"]["message"]
    assert "hunter2secret" not in done.stdout + done.stderr


def test_storage_upgrade_refuses_while_another_process_holds_the_warehouse(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "w.duckdb"
    assert run_cli("db", "upgrade", "--database", str(warehouse)).returncode == ExitCode.OK
    before = warehouse.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        refused = run_cli(
            "db", "storage-upgrade", "--to", "v2.0.0", "--database", str(warehouse),
            env={"EGREGORA_LOCK_TIMEOUT": "0.5"},
        )  # fmt: skip
    finally:
        holder.kill()  # SIGKILL: a holder that ignores SIGTERM (inherited) cannot hang the test
        holder.wait(timeout=30)
    assert refused.returncode == ExitCode.ERROR
    assert "stayed locked by another process" in refused.stderr
    assert warehouse.read_bytes() == before, "nothing was rewritten"
    assert not list((tmp_path / "backups").glob("*.duckdb")), "and no backup was taken"


_HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"
