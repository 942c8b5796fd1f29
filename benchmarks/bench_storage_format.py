"""Benchmark: the cost of writing Egregora-readable files (storage v1.0.0+) instead of v2.0.0+.

Generates a synthetic WhatsApp export (``bench_ingest.generate``, default 200,000
messages) under ``benchmarks/.work/`` and, in the same run, for each storage format
(``EGREGORA_DUCKDB_STORAGE_VERSION`` = v1.0.0, the default; v1.4.0; v2.0.0, DuckDB
2.0's own): ingests it with ``egregora-pipeline ingest`` into a fresh warehouse, and
prints the wall time and file size beside v2.0.0's (the baseline). Then it times
``db storage-upgrade --to v2.0.0`` on the v1.0.0 warehouse (backup + copy + swap).

Run: ``python benchmarks/bench_storage_format.py [--messages N]``. docs/storage-format.md
quotes a run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ingest import WORK, generate  # noqa: E402

CLI = Path(sys.executable).with_name("egregora-pipeline")
FORMATS = ("v1.0.0", "v1.4.0", "v2.0.0")


def ingest(chat: Path, version: str) -> tuple[float, int, Path]:
    """Seconds and bytes of one ingest of ``chat`` into a fresh warehouse in ``version``."""
    folder = WORK / f"storage-{version}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    database = folder / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGREGORA_")}
    env.update(
        EGREGORA_DUCKDB_STORAGE_VERSION=version,
        EGREGORA_EPHEMERAL_INSTANCE="1",
        EGREGORA_TIMEZONE="America/Sao_Paulo",
    )
    start = time.perf_counter()
    subprocess.run(
        [str(CLI), "ingest", "--database", str(database), str(chat)],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start, database.stat().st_size, database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    chat = WORK / f"storage-chat-{args.messages}.txt"
    if not chat.exists():
        generate(chat, args.messages)
    results = {version: ingest(chat, version) for version in FORMATS}
    base_seconds, base_size, _ = results["v2.0.0"]
    print(f"{args.messages:,} messages; baseline: v2.0.0+ (DuckDB 2.0's default)")
    print(f"{'format':<10}{'ingest s':>10}{'x time':>8}{'size MB':>10}{'x size':>8}")
    for version, (seconds, size, _) in results.items():
        print(
            f"{version + '+':<10}{seconds:>10.2f}{seconds / base_seconds:>8.2f}"
            f"{size / 1e6:>10.1f}{size / base_size:>8.2f}"
        )
    database = results["v1.0.0"][2]
    start = time.perf_counter()
    subprocess.run(
        [str(CLI), "db", "storage-upgrade", "--to", "v2.0.0", "--database", str(database)],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    print(
        f"db storage-upgrade --to v2.0.0 of the v1.0.0+ warehouse: {seconds:.2f} s "
        f"({seconds / results['v1.0.0'][0]:.2f}x its ingest); rewritten file "
        f"{database.stat().st_size / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
