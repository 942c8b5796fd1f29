"""Real processes on a real PostgreSQL: concurrent upgrades serialized by the advisory lock,
and upgrades killed with SIGKILL, which always leave the database at a revision boundary
(each revision and its bookkeeping row commit in one transaction).

The DuckDB versions of both tests are in ``test_processes.py``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from pathlib import Path

import psycopg

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
from tests.postgres.server import PostgresServer

ROWS = 100_000


def test_four_processes_upgrading_one_database_apply_each_revision_once(
    postgres_server: PostgresServer,
    postgres_database: str,
    tmp_path: Path,
    versions_dir: Path,
    write_revision: RevisionWriter,
) -> None:
    slow_chain(versions_dir, write_revision, ROWS)
    url = postgres_server.url(postgres_database)
    go = tmp_path / "go"
    applied = race_four_upgrades(url, versions_dir, go)
    assert sorted(applied, key=len) == [[], [], [], ["0001", *SLOW_REVISIONS]]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT revision_id FROM egregora_migrations").fetchall()
    assert sorted(r[0] for r in rows) == ["0001", *SLOW_REVISIONS]
    assert check(MigrationConfig(url, versions_dir=versions_dir)).ok


def _settled(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Wait (bounded) until the killed migrator's server session has ended: until then
    its last COMMIT may still land."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE 'egregora-pipeline%%' AND pid <> pg_backend_pid()"
        ).fetchone()
        if row is not None and row[0] == 0:
            return
        time.sleep(0.02)
    raise AssertionError("the killed migrator's session never ended")


def _state(url: str) -> tuple[list[str], dict[str, tuple[int, bool]]]:
    with psycopg.connect(url, autocommit=True) as conn:
        _settled(conn)
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchall()
        }
        applied: list[str] = []
        if "egregora_migrations" in tables:
            applied = sorted(
                str(r[0])
                for r in conn.execute("SELECT revision_id FROM egregora_migrations").fetchall()
            )
        slow: dict[str, tuple[int, bool]] = {}
        for rev in SLOW_REVISIONS:
            table = f"crash_{rev}"
            if table in tables:
                count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                nullable = conn.execute(
                    "SELECT is_nullable FROM information_schema.columns "
                    "WHERE table_name = %s AND column_name = 'extra'",
                    [table],
                ).fetchone()
                slow[rev] = (
                    int(count[0]) if count else -1,
                    bool(nullable and nullable[0] == "NO"),
                )
        return applied, slow


def test_an_upgrade_killed_at_any_moment_leaves_a_revision_boundary(
    postgres_server: PostgresServer,
    postgres_database: str,
    versions_dir: Path,
    write_revision: RevisionWriter,
) -> None:
    slow_chain(versions_dir, write_revision, ROWS)
    url = postgres_server.url(postgres_database)
    chain = ["0001", *SLOW_REVISIONS]
    rng = random.Random(20261130)
    interrupted_between = 0
    server = spawn_child("--fork-server", versions_dir, stdin=True)
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        wait_ready(server)
        window = whole_upgrade_seconds(server, url)
        for attempt in range(20):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
            server.stdin.write(f"{url}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            time.sleep(rng.uniform(0.0, window))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            assert server.stdout.readline().strip() == "done"

            applied, slow = _state(url)

            assert applied == chain[: len(applied)], f"attempt {attempt}: not a prefix: {applied}"
            assert set(slow) == {r for r in SLOW_REVISIONS if r in applied}, (
                f"attempt {attempt}: tables {sorted(slow)} but applied {applied}"
            )
            assert all(v == (ROWS, True) for v in slow.values()), f"attempt {attempt}: {slow}"
            if 0 < len(applied) < len(chain):
                interrupted_between += 1

            config = MigrationConfig(url, versions_dir=versions_dir, lock_timeout=30)
            result = upgrade(config)
            assert [a.revision_id for a in result.applied] == chain[len(applied) :]
            assert check(config).ok
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    assert interrupted_between >= 1, f"only {interrupted_between} kills landed mid-chain"
