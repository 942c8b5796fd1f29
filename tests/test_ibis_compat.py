"""Ibis 12 on DuckDB 2.0: the five helpers work through the shim, and the shim knows when to go."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.backends.duckdb.ibis_compat import (
    apply_duckdb2_shim,
    connect_duckdb,
    run_raw_sql,
)

FIVE_HELPERS = ("list_tables", "list_databases", "list_catalogs", "sql", "to_pyarrow_batches")

_PROBE = """
import json, duckdb, ibis

def attempt(name, call):
    # A fresh connection per helper: a helper that fails mid-way leaves a pending result.
    con = ibis.duckdb.from_connection(duckdb.connect())
    con.raw_sql("CREATE TABLE t AS SELECT 1 AS a").fetchall()
    try:
        call(con)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None

calls = {
    "list_tables": lambda con: con.list_tables(),
    "list_databases": lambda con: con.list_databases(),
    "list_catalogs": lambda con: con.list_catalogs(),
    "sql": lambda con: con.sql("SELECT a FROM t").to_pyarrow(),
    "to_pyarrow_batches": lambda con: con.to_pyarrow_batches(con.table("t")).read_all(),
}
print(json.dumps({name: attempt(name, call) for name, call in calls.items()}))
"""


@pytest.fixture
def backend(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An Ibis backend over a real DuckDB file holding one small table."""
    con = connect_duckdb(tmp_path / "compat.duckdb")
    run_raw_sql(con, "CREATE TABLE t (a INTEGER, b VARCHAR)")
    run_raw_sql(con, "INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z')")
    yield con
    con.disconnect()


def test_the_five_helpers_run_on_duckdb_2(backend) -> None:  # type: ignore[no-untyped-def]
    assert backend.list_tables() == ["t"]
    assert "main" in backend.list_databases()
    assert "compat" in backend.list_catalogs()
    assert backend.sql("SELECT a FROM t WHERE a > 1").to_pyarrow().num_rows == 2
    batches = list(backend.to_pyarrow_batches(backend.table("t"), chunk_size=1))
    assert sum(batch.num_rows for batch in batches) == 3
    assert backend.table("t").count().execute() == 3


def test_what_already_worked_still_works(backend) -> None:  # type: ignore[no-untyped-def]
    import ibis
    import pyarrow as pa

    table = backend.table("t")
    assert table.filter(table.a >= 2).b.to_pyarrow().to_pylist() == ["y", "z"]
    assert table.a.sum().execute() == 6
    backend.create_table("u", schema=ibis.schema({"n": "!int64", "s": "string"}))
    backend.insert("u", pa.table({"n": [7], "s": ["seven"]}))
    assert backend.get_schema("u") == ibis.schema({"n": "!int64", "s": "string"})
    assert backend.table("u").to_pyarrow().to_pylist() == [{"n": 7, "s": "seven"}]


def test_a_shared_duckdb_connection_sees_what_ibis_wrote(tmp_path: Path) -> None:
    raw = duckdb.connect(str(tmp_path / "shared.duckdb"))
    con = connect_duckdb(raw)
    run_raw_sql(con, "CREATE TABLE shared AS SELECT 42 AS answer")
    assert raw.execute("SELECT answer FROM shared").fetchall() == [(42,)]
    assert con.list_tables() == ["shared"]
    raw.close()


def test_run_raw_sql_returns_the_rows_and_leaves_nothing_pending(backend) -> None:  # type: ignore[no-untyped-def]
    assert run_raw_sql(backend, "SELECT a, b FROM t ORDER BY a") == [(1, "x"), (2, "y"), (3, "z")]
    assert run_raw_sql(backend, "CREATE TABLE v (x INTEGER)") == []
    assert backend.table("t").count().execute() == 3


def test_an_unread_raw_sql_result_blocks_the_next_query_which_is_why_run_raw_sql_exists(
    backend,  # type: ignore[no-untyped-def]
) -> None:
    backend.raw_sql("SELECT * FROM t")
    with pytest.raises(duckdb.Error, match="unfinished result"):
        backend.table("t").count().execute()


def test_the_shim_is_idempotent_and_adds_only_missing_names() -> None:
    apply_duckdb2_shim()
    first = (
        duckdb.DuckDBPyConnection.fetch_arrow_table,
        duckdb.DuckDBPyConnection.fetch_record_batch,
    )
    apply_duckdb2_shim()
    assert (
        duckdb.DuckDBPyConnection.fetch_arrow_table,
        duckdb.DuckDBPyConnection.fetch_record_batch,
    ) == first
    # the names DuckDB 2.0 does define are left alone
    assert duckdb.DuckDBPyConnection.to_arrow_table.__module__.startswith("duckdb")


def test_ibis_still_needs_the_shim() -> None:
    """Fails once an Ibis (or DuckDB) release makes the five helpers work by themselves."""
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert probe.returncode == 0, probe.stderr
    failures: dict[str, str | None] = json.loads(probe.stdout.strip().splitlines()[-1])
    working = sorted(name for name, error in failures.items() if error is None)
    assert not working, (
        f"Ibis now runs {', '.join(working)} on DuckDB without the shim: delete ibis_compat.py's "
        "apply_duckdb2_shim (egregora_pipeline/backends/duckdb/ibis_compat.py; keep "
        'run_raw_sql and connect_duckdb), this test, and the README note "Ibis and DuckDB 2.0".'
    )
    for name in FIVE_HELPERS:
        assert "fetch_arrow_table" in str(failures[name]) or "fetch_record_batch" in str(
            failures[name]
        ), f"{name} fails for another reason than the DuckDB 2.0 rename: {failures[name]}"
