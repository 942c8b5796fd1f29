"""Benchmark: peak memory of a chat whose one message is a single very long line.

Issue 22 measured a 280 MB message line peaking at 1.37 GB (about 4.4x the
line). For each line size (default 16, 64 and 128 MB; ``--huge`` adds 280 MB),
in fresh child processes and in the same run:

* **read** -- the baseline: the whole file read into one ``bytes`` object
  (``Path.read_bytes``), the floor of any reader that must hold the message
  once as bytes;
* **ours** -- our whole ingest (``ingestion.ingest()`` into a fresh DuckDB
  file) of the chat: one header line and the long line as its text.

Prints peak RSS (the child's ``ru_maxrss``) side by side, the ratios
ours/line and ours/read, the marginal factor (extra MB of peak per extra MB
of line since the first size: the fixed cost of the interpreter, DuckDB and
Arrow drops out), and the machine's load average before each size (the
runs share a machine: a busy one inflates seconds, not peaks). No goal is
asserted: the ratio is reported. Run:
``python benchmarks/bench_long_line.py [--huge] [--sizes MB ...]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import WORK, measure

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
    report = ingest(conn, [Path(sys.argv[1])], settings=Settings(database=database), run_id="l")
    (length,) = conn.execute("SELECT max(length(text)) FROM messages").fetchone()
    conn.close()
    assert report.ok, report.failed_inputs
    print(length)
    """
)

_READ = "import sys, pathlib; print(len(pathlib.Path(sys.argv[1]).read_bytes()))"

_WORDS = b"lorem ipsum dolor sit amet consectetur adipiscing elit "


def generate(path: Path, line_bytes: int) -> int:
    """A chat of one header whose text is ``line_bytes`` of words on one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"31/12/2019, 23:55 - Ana: "
    block = _WORDS * (1024 * 1024 // len(_WORDS))
    with path.open("wb") as out:
        out.write(header)
        left = line_bytes
        while left > 0:
            out.write(block[:left])
            left -= min(left, len(block))
        out.write(b"\n31/12/2019, 23:56 - Bob: after\n")
    return line_bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 128], help="line MB")
    parser.add_argument("--huge", action="store_true", help="also a 280 MB line")
    args = parser.parse_args()
    sizes = [*args.sizes, *([280] if args.huge else [])]
    print(
        f"{'line MB':>8} {'load':>5} | {'read MB':>8} | {'ours MB':>8} | "
        f"{'ours/line':>9} {'ours/read':>9} {'marginal':>8}"
    )
    first: tuple[int, float] | None = None
    for size in sizes:
        chat = WORK / f"WhatsApp Chat with Long Line {size}.txt"
        line = size * 1_000_000
        if not chat.exists() or chat.stat().st_size < line:
            generate(chat, line)
        load = os.getloadavg()[0]
        _, read_mb, _ = measure([sys.executable, "-c", _READ, str(chat)])
        _, peak, out = measure(
            [sys.executable, "-c", _INGEST, str(chat), str(WORK / "long_line.duckdb")]
        )
        if int(out.splitlines()[-1]) != line:
            raise RuntimeError(f"expected a {line}-character message, got: {out}")
        # marginal: extra MB per extra line MB since the first size (the fixed cost of
        # Python, DuckDB and Arrow drops out; this is the per-byte factor of a long line)
        marginal = (peak - first[1]) / (size - first[0]) if first and size > first[0] else None
        first = first or (size, peak)
        print(
            f"{size:>8} {load:>5.1f} | {read_mb:>8.0f} | {peak:>8.0f} | "
            f"{peak / size:>9.2f} {peak / read_mb:>9.2f} "
            f"{'' if marginal is None else f'{marginal:.2f}':>8}",
            flush=True,
        )
    for suffix in ("", ".wal"):
        Path(f"{WORK / 'long_line.duckdb'}{suffix}").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
