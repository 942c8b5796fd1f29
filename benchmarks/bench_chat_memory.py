"""Benchmark: peak memory of a chat ingest vs the chat's size, with and without the
chat memory limit (``EGREGORA_CHAT_MEMORY_LIMIT``, default 1GB).

For each size (default 1M, 3M and 6M messages; the same generator as
``bench_ingest.py``) our whole ingest runs in a fresh child process twice: under
the default limit and with ``EGREGORA_CHAT_MEMORY_LIMIT=default`` (DuckDB's own
limit, 80 % of the RAM: the behaviour before the limit existed), side by side.
Prints wall seconds and peak RSS (the child's ``ru_maxrss``) and MB per million
messages, so growth with size is visible. Goal (issue 12): a 6M-message chat under
1.5 GB. Run: ``python benchmarks/bench_chat_memory.py [--sizes 1000000 3000000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import WORK, generate, measure

_INGEST = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from egregora_pipeline.connection import connect_warehouse
    from egregora_pipeline.ingestion import ingest
    from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
    from egregora_pipeline.settings import Settings
    database = Path(sys.argv[2])
    for suffix in ("", ".wal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    conn = connect_warehouse(database)
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    report = ingest(conn, [Path(sys.argv[1])], settings=Settings(database=database), run_id="mem")
    conn.close()
    print(report.messages_added)
    """
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000, 6_000_000])
    args = parser.parse_args()
    print(
        f"{'messages':>10} {'file MB':>8} {'limit':>8} {'seconds':>8} {'peak MB':>8} "
        f"{'MB/1M msgs':>10}"
    )
    for size in args.sizes:
        chat = WORK / f"WhatsApp Chat with Memory {size}.txt"
        if not chat.exists():
            generate(chat, size)
        file_mb = chat.stat().st_size / 1e6
        for limit in ("1GB", "default"):
            env = dict(os.environ, EGREGORA_CHAT_MEMORY_LIMIT=limit)
            wall, peak, out = measure(
                [sys.executable, "-c", _INGEST, str(chat), str(WORK / "memory.duckdb")], env=env
            )
            assert int(out.splitlines()[-1]) == size, out
            print(
                f"{size:>10,} {file_mb:>8.0f} {limit:>8} {wall:>8.1f} {peak:>8.0f} "
                f"{peak / (size / 1e6):>10.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
