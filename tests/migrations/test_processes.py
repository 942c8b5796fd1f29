"""Real processes: concurrent upgrades of one file, and upgrades killed with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.errors import WarehouseLockedError
from egregora_pipeline.migrations import MigrationConfig, check, upgrade
from tests.migrations.conftest import RevisionWriter
from tests.migrations.slow_upgrades import (
    SLOW_REVISIONS,
    race_four_upgrades,
    slow_chain,
    spawn_child,
    wait_ready,
    whole_upgrade_seconds,
)

ROWS = 50_000


def test_four_processes_upgrading_one_file_apply_each_revision_once(
    tmp_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    slow_chain(versions_dir, write_revision, ROWS)
    database = tmp_path / "shared.duckdb"
    go = tmp_path / "go"
    applied = race_four_upgrades(database, versions_dir, go)
    assert sorted(applied, key=len) == [[], [], [], ["0001", *SLOW_REVISIONS]]
    conn = duckdb.connect(str(database), read_only=True)
    try:
        rows = conn.execute("SELECT revision_id FROM egregora_migrations").fetchall()
    finally:
        conn.close()
    assert sorted(r[0] for r in rows) == ["0001", *SLOW_REVISIONS]
    assert check(MigrationConfig(database, versions_dir=versions_dir)).ok


def _state_after_kill(database: Path) -> tuple[list[str], dict[str, tuple[int, bool]]]:
    """Applied revision ids, and for each slow table: (rows, extra is NOT NULL)."""
    conn = duckdb.connect(str(database))
    try:
        tables = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        applied: list[str] = []
        if "egregora_migrations" in tables:
            applied = sorted(
                r[0] for r in conn.execute("SELECT revision_id FROM egregora_migrations").fetchall()
            )
        slow: dict[str, tuple[int, bool]] = {}
        for rev in SLOW_REVISIONS:
            table = f"crash_{rev}"
            if table in tables:
                count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                nullable = conn.execute(
                    "SELECT is_nullable FROM duckdb_columns() "
                    "WHERE table_name = ? AND column_name = 'extra'",
                    [table],
                ).fetchone()
                slow[rev] = (count[0] if count else -1, bool(nullable and not nullable[0]))
        return applied, slow
    finally:
        conn.close()


def test_an_upgrade_killed_at_any_moment_leaves_a_revision_boundary(
    tmp_path: Path, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    slow_chain(versions_dir, write_revision, ROWS)
    chain = ["0001", *SLOW_REVISIONS]
    rng = random.Random(20240525)
    interrupted_between = 0
    server = spawn_child("--fork-server", versions_dir, stdin=True)
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        wait_ready(server)
        window = whole_upgrade_seconds(server, tmp_path / "timed.duckdb")
        for attempt in range(20):
            database = tmp_path / f"crash-{attempt}.duckdb"
            server.stdin.write(f"{database}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            time.sleep(rng.uniform(0.0, window))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            assert server.stdout.readline().strip() == "done"
            if not database.exists():
                continue

            applied, slow = _state_after_kill(database)

            assert applied == chain[: len(applied)], f"attempt {attempt}: not a prefix: {applied}"
            assert set(slow) == {r for r in SLOW_REVISIONS if r in applied}, (
                f"attempt {attempt}: tables {sorted(slow)} but applied {applied}"
            )
            assert all(v == (ROWS, True) for v in slow.values()), f"attempt {attempt}: {slow}"
            if 0 < len(applied) < len(chain):
                interrupted_between += 1

            config = MigrationConfig(database, versions_dir=versions_dir)
            result = upgrade(config)
            assert [a.revision_id for a in result.applied] == chain[len(applied) :]
            assert check(config).ok
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    # Random kill times: at least one must land between revisions for the test to
    # mean anything; requiring more would make it flaky on a loaded machine.
    assert interrupted_between >= 1, f"only {interrupted_between} kills landed mid-chain"


def test_a_lock_that_never_frees_ends_in_a_clear_error(tmp_path: Path) -> None:
    database = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(60)",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"

        with pytest.raises(WarehouseLockedError) as caught:
            upgrade(MigrationConfig(database, lock_timeout=1))

        assert str(database) in str(caught.value)
        assert "stayed locked" in str(caught.value)
    finally:
        holder.kill()
        holder.wait(timeout=30)
