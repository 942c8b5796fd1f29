"""Would a unique index on ``messages.event_id`` make a small ingest into a big warehouse cheap?

Issue 19 allows guaranteeing ``event_id`` uniqueness by construction with the index
Egregora's own warehouses carry (``CREATE UNIQUE INDEX idx_messages_pk ON
messages(event_id)``) "if that costs less". This measures both sides of that trade
with DuckDB alone, each case in a fresh child process (peak RSS from ``os.wait4``):

* **small write into a big table** (``--rows``, default 5M, built once per layout):
  inserting one new message skipping stored ones by the loader's anti-join
  (``NOT EXISTS``, no index), and with the index by ``ON CONFLICT DO NOTHING``
  and by an ``IN`` lookup;
* **big write** (``--bulk``, default 6M rows, like the 6M-message chat of the
  memory goal): one ``INSERT`` into an empty table without and with the index;
* the file size of the big table without and with the index.

Every connection has the memory limit ingestion uses (1GB) and a spill folder.
Rounds are interleaved; the best of ``--rounds`` is printed, with the load average.

Run: ``.venv/bin/python benchmarks/bench_event_id_index.py [--rows 5000000]
[--bulk 6000000] [--rounds 3]``. Work files: ``benchmarks/.work/event_id_index/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work" / "event_id_index"
CONFIG = {
    "memory_limit": "1GB",
    "temp_directory": str(WORK / "spill"),
}
COLUMNS = (
    "event_id VARCHAR, thread_id VARCHAR, ts TIMESTAMPTZ, text VARCHAR, created_by_run VARCHAR"
)
ROWS = (
    "SELECT md5('bench' || CAST(i AS VARCHAR)), 'group-' || CAST(i // 100000 AS VARCHAR), "
    "TIMESTAMPTZ '2015-01-01 00:00:00+00' + i * INTERVAL '1 minute', "
    "'message number ' || CAST(i AS VARCHAR) || ' of a years-long group archive', "
    "'bench-run-' || CAST(i // 100000 AS VARCHAR) FROM range(?) AS t(i)"
)
INDEX = 'CREATE UNIQUE INDEX "idx_messages_pk" ON "messages"("event_id")'

_CHILD = r"""
import json, sys, time, duckdb
path, config, statements = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
started = time.perf_counter()
con = duckdb.connect(path, config=config)
con.execute("SET enable_progress_bar = false")
for sql, params in statements:
    con.execute(sql, params)
con.execute("CHECKPOINT")
con.close()
print(time.perf_counter() - started)

"""

NEW = (
    "CREATE TEMP TABLE k AS SELECT md5('new' || CAST(random() AS VARCHAR)) AS event_id, "
    "'group-new' AS thread_id, now() AS ts, 'hello' AS text, 'bench-new' AS created_by_run"
)
SMALL_WRITES = {
    "anti-join, no index": (
        "plain",
        [
            'INSERT INTO "messages" SELECT * FROM k WHERE NOT EXISTS '
            '(SELECT 1 FROM "messages" m WHERE m."event_id" = k."event_id")'
        ],
    ),
    "unique index, ON CONFLICT DO NOTHING": (
        "indexed",
        ['INSERT INTO "messages" SELECT * FROM k ON CONFLICT DO NOTHING'],
    ),
    "unique index, IN lookup then insert": (
        "indexed",
        [
            'CREATE TEMP TABLE seen AS SELECT "event_id" FROM "messages" WHERE "event_id" IN '
            "(SELECT event_id FROM k)",
            'INSERT INTO "messages" SELECT * FROM k WHERE event_id NOT IN (SELECT * FROM seen)',
        ],
    ),
}


def _child(path: Path, statements: list[tuple[str, list[object]]]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child running ``statements`` on ``path``."""
    argv = [sys.executable, "-c", _CHILD, str(path), json.dumps(CONFIG), json.dumps(statements)]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read() if child.stdout else ""
    out = out.strip().splitlines()[-1] if out.strip() else ""
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise RuntimeError(f"child failed on {path}")
    return float(out.strip()), usage.ru_maxrss / 1024


def _fresh(path: Path) -> None:
    for suffix in ("", ".wal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _build(path: Path, rows: int, indexed: bool) -> None:
    marker = path.with_suffix(".rows")
    if path.exists() and marker.exists() and marker.read_text() == str(rows):
        return
    _fresh(path)
    statements: list[tuple[str, list[object]]] = [
        (f'CREATE TABLE "messages" ({COLUMNS})', []),
        (f'INSERT INTO "messages" {ROWS}', [rows]),
    ]
    if indexed:
        statements.append((INDEX, []))
    _child(path, statements)
    marker.write_text(str(rows))


def _load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--bulk", type=int, default=6_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"before: {_load()}")
    tables = {"plain": WORK / "plain.duckdb", "indexed": WORK / "indexed.duckdb"}
    for layout, path in tables.items():
        _build(path, args.rows, indexed=layout == "indexed")
    small: dict[str, list[tuple[float, float]]] = {case: [] for case in SMALL_WRITES}
    bulk: dict[str, list[tuple[float, float]]] = {"no index": [], "unique index": []}
    for _ in range(args.rounds):
        for case, (layout, sqls) in SMALL_WRITES.items():
            scratch = WORK / f"scratch-{layout}.duckdb"
            _fresh(scratch)
            shutil.copyfile(tables[layout], scratch)
            small[case].append(_child(scratch, [(NEW, []), *[(sql, []) for sql in sqls]]))
        for case in bulk:
            target = WORK / "bulk.duckdb"
            _fresh(target)
            statements: list[tuple[str, list[object]]] = [
                (f'CREATE TABLE "messages" ({COLUMNS})', [])
            ]
            if case == "unique index":
                statements.append((INDEX, []))
            statements.append((f'INSERT INTO "messages" {ROWS}', [args.bulk]))
            bulk[case].append(_child(target, statements))
    print(f"\none new message into a {args.rows:,}-row table (best of {args.rounds}):")
    base_wall, base_rss = min(small["anti-join, no index"])
    for case, runs in small.items():
        wall, rss = min(runs)
        print(
            f"  {case:<40} {wall:7.3f} s ({wall / base_wall:4.2f}x)  "
            f"{rss:7.0f} MB ({rss / base_rss:4.2f}x)"
        )
    print(f"\none INSERT of {args.bulk:,} rows into an empty table (best of {args.rounds}):")
    base_wall, base_rss = min(bulk["no index"])
    for case, runs in bulk.items():
        wall, rss = min(runs)
        print(
            f"  {case:<40} {wall:7.2f} s ({wall / base_wall:4.2f}x)  "
            f"{rss:7.0f} MB ({rss / base_rss:4.2f}x)"
        )
    plain, indexed = (tables[k].stat().st_size / 1e6 for k in ("plain", "indexed"))
    print(
        f"\nfile size at {args.rows:,} rows: no index {plain:.0f} MB, "
        f"unique index {indexed:.0f} MB ({indexed / plain:.2f}x)"
    )
    print(f"after: {_load()}")
    for path in WORK.glob("scratch-*"):
        path.unlink()
    _fresh(WORK / "bulk.duckdb")


if __name__ == "__main__":
    main()
