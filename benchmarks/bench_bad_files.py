"""Benchmark: N bad files must cost no more than N good ones (issue 12).

Rejections used to be written one input at a time (~6 ms each): 10k
undecodable images took two minutes, 50k bad files more than five. This
generates, under ``benchmarks/.work/bad-files/``, pairs of folders of the
same size and shape:

* ``markdown``: N valid posts vs N posts without a title (each a rejection);
* ``media``: N distinct small PNG images vs N distinct undecodable ``.png``
  files (each stored, and a rejection "could not be decoded");

then ingests each folder into a fresh DuckDB file in its own subprocess
(``egregora_pipeline.ingestion.ingest``, commit included) and prints wall
seconds, rows written and the ratio bad/good side by side. Goal: ratio <= 1.

Run: ``python benchmarks/bench_bad_files.py [--markdown 50000] [--media 10000]``.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "bad-files"

_CHILD = """
import sys
from pathlib import Path
import duckdb
from egregora_pipeline.ingestion import ingest
from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
from egregora_pipeline.settings import Settings
database = Path(sys.argv[2])
conn = duckdb.connect(str(database))
for name, table in DECLARED_TABLES.items():
    conn.execute(create_table_sql(name, table.schema))
report = ingest(conn, [Path(sys.argv[1])], settings=Settings(database=database), run_id="bench")
documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
rejections = conn.execute("SELECT count(*) FROM ingest_rejections").fetchone()[0]
print(documents, rejections)
"""


def _png(number: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (16, 16), (number % 256, (number // 256) % 256, 7))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _generate(kind: str, count: int) -> tuple[Path, Path]:
    good, bad = WORK / f"{kind}-good-{count}", WORK / f"{kind}-bad-{count}"
    for folder in (good, bad):
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "posts").mkdir(parents=True)
    for number in range(count):
        if kind == "markdown":
            (good / "posts" / f"p{number}.md").write_text(
                f"---\ntitle: Post {number}\nstatus: published\n---\nBody {number}\n",
                encoding="utf-8",
            )
            (bad / "posts" / f"p{number}.md").write_text(
                f"---\nstatus: published\n---\nBody {number}\n", encoding="utf-8"
            )
        else:
            (good / "posts" / f"i{number}.png").write_bytes(_png(number))
            (bad / "posts" / f"i{number}.png").write_bytes(f"not an image {number}".encode())
    return good, bad


def _ingest(folder: Path) -> tuple[float, str]:
    database = folder.with_suffix(".duckdb")
    database.unlink(missing_ok=True)
    shutil.rmtree(database.parent / "media", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder), str(database)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    elapsed = time.perf_counter() - started
    database.unlink(missing_ok=True)
    return elapsed, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=int, default=50_000, help="files per Markdown folder")
    parser.add_argument("--media", type=int, default=10_000, help="files per media folder")
    args = parser.parse_args()
    print(f"{'case':<10} {'files':>7} {'good s':>8} {'bad s':>8} {'bad/good':>9}  rows (docs rej)")
    for kind, count in (("markdown", args.markdown), ("media", args.media)):
        if count <= 0:
            continue
        good, bad = _generate(kind, count)
        good_seconds, good_rows = _ingest(good)
        bad_seconds, bad_rows = _ingest(bad)
        print(
            f"{kind:<10} {count:>7} {good_seconds:>8.1f} {bad_seconds:>8.1f} "
            f"{bad_seconds / good_seconds:>9.2f}  good: {good_rows} / bad: {bad_rows}"
        )
        shutil.rmtree(good)
        shutil.rmtree(bad)


if __name__ == "__main__":
    main()
