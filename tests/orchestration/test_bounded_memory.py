"""Every DuckDB connection a run opens has a memory limit and a folder to spill to.

DuckDB's default limit is 80 % of the RAM: a scan of a big warehouse (a data
check, a schema read) grew the process to GBs. The limit is read back from the
connections themselves -- the lock-aware opener, the Dagster resource an ingest
run's steps take, the in-memory helpers -- and a bad value stops a real CLI run
with a message naming the variable.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from egregora_pipeline.backends.duckdb.connection import connect_warehouse
from egregora_pipeline.compute_engine import (
    MEMORY_LIMIT_ENV,
    InvalidMemoryLimitError,
    bounded_config,
    connect_bounded,
)
from egregora_pipeline.orchestration.resources import Warehouse, build_resources
from egregora_pipeline.orchestration.warehouse import engine_connection
from egregora_pipeline.settings import Settings
from tests.conftest import CLI


def _limits(conn: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    row = conn.execute(
        "SELECT (SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'), "
        "current_setting('temp_directory')"
    ).fetchone()
    assert row is not None
    limit = str(row[0])
    number, unit = limit.split()
    scale = {"MiB": 2**20, "GiB": 2**30, "KiB": 2**10}[unit]
    return int(float(number) * scale), str(row[1])


def test_the_warehouse_opener_bounds_memory_and_spills_beside_the_file(tmp_path: Path) -> None:
    database = tmp_path / "wh.duckdb"
    with connect_warehouse(database) as conn:
        limit, spill = _limits(conn)
    assert 0.9e9 < limit <= 1e9  # 1GB, printed by DuckDB in MiB
    assert spill == str(tmp_path / "wh.duckdb.tmp")
    with connect_warehouse(database, read_only=True) as conn:
        assert _limits(conn) == (limit, spill)


def test_in_memory_helpers_are_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "300MB")
    with connect_bounded() as conn:
        limit, spill = _limits(conn)
    assert 0.28e9 < limit <= 0.3e9
    assert spill == bounded_config(None)["temp_directory"]


def test_the_connections_of_a_dagster_step_are_bounded(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "400MB")
    seen: list[tuple[int, str]] = []

    @dg.op
    def read_limits(warehouse: dg.ResourceParam[Warehouse]) -> None:
        for read_only in (False, True):
            with engine_connection(warehouse, step="test", read_only=read_only) as conn:
                assert isinstance(conn, duckdb.DuckDBPyConnection)
                seen.append(_limits(conn))

    @dg.job
    def limits_job() -> None:
        read_limits()

    result = limits_job.execute_in_process(resources=build_resources(settings))

    assert result.success
    assert len(seen) == 2
    assert all(0.38e9 < limit <= 0.4e9 for limit, _ in seen)
    assert {spill for _, spill in seen} == {str(settings.database) + ".tmp"}


def test_a_bad_limit_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InvalidMemoryLimitError, match=MEMORY_LIMIT_ENV):
        bounded_config(tmp_path / "wh.duckdb", {MEMORY_LIMIT_ENV: "lots"})
    chat = tmp_path / "WhatsApp Chat with A.txt"
    chat.write_text("01/02/2024, 09:16 - Ana: hi\n", encoding="utf-8")
    env = {**os.environ, MEMORY_LIMIT_ENV: "lots"}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [str(CLI), "ingest", str(chat), "--database", str(tmp_path / "wh.duckdb")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"{MEMORY_LIMIT_ENV}='lots' is not usable" in done.stdout + done.stderr
