"""Re-ingesting edited posts: a plain warehouse vs one upstream Egregora has opened (issue 18).

Writes N Markdown posts, ingests them into two DuckDB warehouses, then makes one of
them look as upstream Egregora leaves it (``initialize_database`` of commit 1123bf243,
replayed by ``tests/migrations/upstream_layouts.py``: ``PRIMARY KEY(id)`` and indexes
on ``documents``, ``annotations`` / ``document_relations`` / ``entity_aliases`` with
FOREIGN KEYs) and gives every post an annotation, plus ``--extra`` more annotations
(the size of the referencing tables is what a lift copies). Then edits every post and
times the re-ingest on both, in the same run, median of ``--repeats``:

* ``tags``: a list column changes, which DuckDB rewrites by delete and insert: on the
  Egregora warehouse the referencing tables are lifted around the update;
* ``body``: only the text changes: updated in place on both.

Run: ``.venv/bin/python benchmarks/bench_writes_beside_egregora.py [--posts 2000]
[--extra 100000] [--repeats 3]``. Work files go to ``benchmarks/.work/`` (gitignored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from egregora_pipeline.ingestion import ingest  # noqa: E402
from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql  # noqa: E402
from egregora_pipeline.settings import Settings  # noqa: E402
from tests.migrations.upstream_layouts import initialize_database  # noqa: E402

WORK = Path(__file__).resolve().parent / ".work" / "writes_beside_egregora"


def _write_posts(folder: Path, count: int, round_: int, edit: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        tags = f"[t{i % 7}, r{round_}]" if edit == "tags" else f"[t{i % 7}]"
        body = f"Body of post {i}, version {round_ if edit == 'body' else 0}."
        (folder / f"post-{i}.md").write_text(
            f"---\ntitle: Post {i}\nslug: post-{i}\ntags: {tags}\n---\n{body}\n", encoding="utf-8"
        )


def _warehouse(path: Path, posts: Path, egregora: bool, extra: int) -> duckdb.DuckDBPyConnection:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    conn = duckdb.connect(str(path))
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    ingest(conn, [posts], settings=_settings(path), run_id="setup")
    if egregora:
        initialize_database(conn)
        conn.execute(
            "INSERT INTO annotations SELECT 'ann-' || id, 'note', now(), 'manual', id, 'post', "
            "'egregora' FROM documents"
        )
        conn.execute(
            "INSERT INTO annotations SELECT 'extra-' || i, 'note ' || i, now(), 'manual', "
            f"(SELECT min(id) FROM documents), 'post', 'egregora' FROM range({extra}) t(i)"
        )
    conn.execute("CHECKPOINT")
    return conn


def _settings(path: Path) -> Settings:
    return Settings(database=path, timezone="UTC", media_dir=path.parent / "media")


def _time(conn: duckdb.DuckDBPyConnection, path: Path, posts: Path, expected: int) -> float:
    started = time.perf_counter()
    report = ingest(conn, [posts], settings=_settings(path), run_id="bench")
    elapsed = time.perf_counter() - started
    updated = sum(e.documents_updated for e in report.inputs)
    errors = [e.error for e in report.inputs if e.error]
    if updated != expected or errors:
        raise SystemExit(f"expected {expected} updates, got {updated}; errors: {errors[:2]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--extra", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    posts = WORK / "posts"
    print(f"machine: {os.cpu_count()} CPUs, load average before the run {os.getloadavg()[0]:.2f}")
    print(f"{args.posts} posts; Egregora warehouse: one annotation each + {args.extra} more")
    results: dict[tuple[str, str], float] = {}
    for edit in ("tags", "body"):
        for egregora in (False, True):
            _write_posts(posts, args.posts, 0, edit)
            path = WORK / f"{'egregora' if egregora else 'plain'}-{edit}.duckdb"
            conn = _warehouse(path, posts, egregora, args.extra)
            runs = []
            for round_ in range(1, args.repeats + 1):
                _write_posts(posts, args.posts, round_, edit)
                runs.append(_time(conn, path, posts, args.posts))
            conn.close()
            results[(edit, "egregora" if egregora else "plain")] = statistics.median(runs)
    print(f"{'edit':<6} {'plain (s)':>10} {'egregora (s)':>13} {'ratio':>7}")
    for edit in ("tags", "body"):
        plain, opened = results[(edit, "plain")], results[(edit, "egregora")]
        print(f"{edit:<6} {plain:>10.3f} {opened:>13.3f} {opened / plain:>6.2f}x")
    print(f"load average after the run {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
