"""Benchmark: peak memory of a chat ingest vs the chat's size, beside a plain read.

For each size (default 1M, 3M and 6M messages; ``--huge`` adds 15M; the same
generator as ``bench_ingest.py``, written once under ``benchmarks/.work/``),
in fresh child processes and in the same run:

* **read** -- the baseline: the file read in 64 MiB blocks counting its lines
  (what ``wc -l`` does), so its seconds and peak RSS are the floor of any
  streaming reader on this machine;
* **ours** -- our whole ingest (``ingestion.ingest()``: parse, classify,
  pseudonymize, load into a fresh DuckDB file, commit) under the default chat
  memory limit (``EGREGORA_CHAT_MEMORY_LIMIT``, 1GB);
* with ``--compare-default``, ours again under DuckDB's own limit (80 % of the
  RAM: the behaviour before the chat limit existed).

Prints wall seconds and peak RSS (the child's ``ru_maxrss``) side by side, the
ratios ours/read, and MB per million messages, so growth with size is visible.
Goal (issue 12): a 6M-message chat under 1.5 GB peak RSS, a 15M-message chat
completes. Run: ``python benchmarks/bench_chat_memory.py [--huge] [--sizes N ...]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import WORK, generate, measure

GOAL_MB = 1500
GOAL_SIZE = 6_000_000

_INGEST = textwrap.dedent(
    """
    import shutil, sys
    from pathlib import Path
    from egregora_pipeline.backends.duckdb.connection import connect_warehouse
    from egregora_pipeline.ingestion import ingest
    from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
    from egregora_pipeline.settings import Settings
    database = Path(sys.argv[2])
    for suffix in ("", ".wal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{database}.tmp", ignore_errors=True)
    conn = connect_warehouse(database)
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    report = ingest(conn, [Path(sys.argv[1])], settings=Settings(database=database), run_id="mem")
    conn.close()
    assert report.ok, report.failed_inputs
    print(report.messages_added)
    """
)

_READ = textwrap.dedent(
    """
    import sys
    lines = 0
    with open(sys.argv[1], "rb") as handle:
        while block := handle.read(64 * 1024 * 1024):
            lines += block.count(b"\\n")
    print(lines)
    """
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000, 6_000_000])
    parser.add_argument("--huge", action="store_true", help="also 15M messages (~1.5 GB file)")
    parser.add_argument(
        "--compare-default",
        action="store_true",
        help="also run under DuckDB's default memory limit (EGREGORA_CHAT_MEMORY_LIMIT=default)",
    )
    args = parser.parse_args()
    sizes = [*args.sizes, *([15_000_000] if args.huge else [])]
    limits = ["1GB", *(["default"] if args.compare_default else [])]
    print(
        f"{'messages':>10} {'file MB':>8} | {'read s':>7} {'read MB':>8} | {'limit':>8} "
        f"{'ours s':>7} {'ours MB':>8} | {'s/read':>7} {'MB/read':>8} {'MB/file':>8} "
        f"{'MB/1M msgs':>10}"
    )
    for size in sizes:
        chat = WORK / f"WhatsApp Chat with Memory {size}.txt"
        if not chat.exists():
            generate(chat, size)
        file_mb = chat.stat().st_size / 1e6
        read_s, read_mb, _ = measure([sys.executable, "-c", _READ, str(chat)])
        for limit in limits:
            env = dict(os.environ, EGREGORA_CHAT_MEMORY_LIMIT=limit)
            wall, peak, out = measure(
                [sys.executable, "-c", _INGEST, str(chat), str(WORK / "memory.duckdb")], env=env
            )
            if int(out.splitlines()[-1]) != size:
                raise RuntimeError(f"expected {size} messages, got: {out}")
            goal = ""
            if size == GOAL_SIZE and limit == "1GB":
                goal = f"  goal < {GOAL_MB} MB: {'met' if peak < GOAL_MB else 'NOT met'}"
            print(
                f"{size:>10,} {file_mb:>8.0f} | {read_s:>7.1f} {read_mb:>8.0f} | {limit:>8} "
                f"{wall:>7.1f} {peak:>8.0f} | {wall / read_s:>7.0f} {peak / read_mb:>8.1f} "
                f"{peak / file_mb:>8.2f} {peak / (size / 1e6):>10.0f}{goal}",
                flush=True,
            )
    for suffix in ("", ".wal"):
        Path(f"{WORK / 'memory.duckdb'}{suffix}").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
