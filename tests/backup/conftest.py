"""Fixtures for backups: a real warehouse with rows, and a process that holds it open."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main
from tests.conftest import run_cli

cli = run_cli
"""The real command in a subprocess (see :func:`tests.conftest.run_cli`)."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    conn = duckdb.connect(str(database), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def execute(database: Path, *statements: str) -> None:
    conn = duckdb.connect(str(database))
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


@pytest.fixture
def warehouse(warehouse_path: Path) -> Path:
    """A warehouse at 0001 holding three documents (the tests add revisions of their own on
    top, in ``versions_dir``; the bundled data revision 0002 is tested on its own)."""
    assert main(["db", "upgrade", "0001", "--database", str(warehouse_path)]) == ExitCode.OK
    execute(
        warehouse_path,
        "INSERT INTO documents (id, content, created_at, source_checksum, title, status, "
        "doc_type) SELECT 'doc-' || i, 'body ' || i, now(), 'sha-' || i, 'Title ' || i, "
        "'published', 'post' FROM range(3) t(i)",
    )
    return warehouse_path


HOLDER = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("SELECT 1").fetchall()
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def held_open(warehouse: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with the warehouse open read-write (DuckDB's lock held)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=30)
