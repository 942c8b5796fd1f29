"""How ``upgrade`` and ``check`` scale with row count (issue 2, item 13).

Builds a *partial* ``documents`` table (id, title, content, created_at: layout
3 of SCHEMA.md) with 3M rows and with 1k rows, then times, as the median of
several runs on fresh copies:

* ``upgrade`` to head (adoption + in-place reconcile of the 19 missing columns);
* ``upgrade`` when only one nullable declared column is missing (the everyday
  "a column was added to the declared schema" case);
* ``upgrade`` at head (nothing to do) and ``check`` (metadata only);

each both in-process (library call) and as a whole CLI command in a subprocess,
and prints the 3M / 1k ratio next to the goal (<= 1.5x). In the same run it
times a create-copy-swap of the 3M table (what ``op.rebuild_table`` or the old
``migrate_documents_table`` did) for comparison.

Run: ``.venv/bin/python benchmarks/bench_migrations.py [--rows 3000000] [--repeats 3]``.
Work files go to ``benchmarks/.work/`` (gitignored).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from egregora_pipeline.migrations import MigrationConfig, check, upgrade
from egregora_pipeline.schema import UNIFIED_SCHEMA, create_table_sql

WORK = Path(__file__).resolve().parent / ".work"
CLI = Path(sys.executable).with_name("egregora-pipeline")
GOAL = 1.5


def build_partial(path: Path, rows: int) -> None:
    """A layout-3 warehouse: ``documents`` with four columns and ``rows`` rows."""
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    conn = duckdb.connect(str(path))
    conn.execute(
        f"""CREATE TABLE documents AS
        SELECT 'doc-' || i AS id, 'Title ' || i AS title,
               'Body of document ' || i || ' ' || repeat('lorem ipsum ', 8) AS content,
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS created_at
        FROM range({rows}) t(i)"""
    )
    conn.execute("CHECKPOINT")
    conn.close()


def fresh_copy(template: Path, name: str) -> Path:
    target = WORK / name
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return target


def median_time(prepare: Callable[[], Path], run: Callable[[Path], object], repeats: int) -> float:
    times: list[float] = []
    for _ in range(repeats):
        path = prepare()
        started = time.perf_counter()
        run(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


DB_APP_ONLY = [
    sys.executable,
    "-c",
    "import sys; from egregora_pipeline.cli.db import db_app; db_app(prog_name='db')",
]


def cli_argv() -> tuple[list[str], str]:
    """The console script if it starts, else the ``db`` sub-app alone (labelled as such)."""
    probe = subprocess.run([str(CLI), "--help"], capture_output=True, text=True, check=False)
    if probe.returncode == 0:
        return [str(CLI)], "egregora-pipeline"
    return DB_APP_ONLY, "db sub-app only (egregora-pipeline does not start)"


CLI_ARGV, CLI_LABEL = cli_argv() if CLI.exists() else (DB_APP_ONLY, "db sub-app only")


def cli(*args: str) -> None:
    argv = [*CLI_ARGV, *(args[1:] if CLI_ARGV is DB_APP_ONLY else args)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-400:]}")


def upgraded_template(template: Path, name: str) -> Path:
    path = fresh_copy(template, name)
    upgrade(MigrationConfig(path))
    return path


def one_column_missing(template_at_head: Path, name: str) -> Path:
    path = fresh_copy(template_at_head, name)
    conn = duckdb.connect(str(path))
    conn.execute('ALTER TABLE documents DROP COLUMN "summary"')
    conn.execute("CHECKPOINT")
    conn.close()
    return path


def create_copy_swap(path: Path) -> None:
    """Rebuild the partial table as the declared one: CREATE, INSERT ... SELECT, DROP, RENAME."""
    conn = duckdb.connect(str(path))
    conn.execute("BEGIN")
    conn.execute(create_table_sql("documents_new", UNIFIED_SCHEMA))
    conn.execute(
        "INSERT INTO documents_new (id, title, content, created_at, source_checksum, status, "
        "doc_type) SELECT id, title, content, created_at, 'unknown', 'published', 'post' "
        "FROM documents"
    )
    conn.execute("DROP TABLE documents")
    conn.execute("ALTER TABLE documents_new RENAME TO documents")
    conn.execute("COMMIT")
    conn.execute("CHECKPOINT")
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    sizes = {"large": args.rows, "small": args.small}
    templates: dict[str, Path] = {}
    at_head: dict[str, Path] = {}
    for label, rows in sizes.items():
        templates[label] = WORK / f"partial-{label}.duckdb"
        started = time.perf_counter()
        build_partial(templates[label], rows)
        at_head[label] = upgraded_template(templates[label], f"head-{label}.duckdb")
        print(f"built {label}: {rows:,} rows in {time.perf_counter() - started:.1f}s")

    print(f"CLI measured through: {CLI_LABEL}")
    scenarios: list[tuple[str, Callable[[str], float]]] = []

    def lib(
        prepare: Callable[[str], Path], run: Callable[[Path], object]
    ) -> Callable[[str], float]:
        return lambda label: median_time(lambda: prepare(label), run, args.repeats)

    def adopt_copy(label: str) -> Path:
        return fresh_copy(templates[label], f"run-{label}.duckdb")

    def head_copy(label: str) -> Path:
        return fresh_copy(at_head[label], f"run-{label}.duckdb")

    def one_missing(label: str) -> Path:
        return one_column_missing(at_head[label], f"run-{label}.duckdb")

    def same_file(label: str) -> Path:
        return at_head[label]

    scenarios += [
        (
            "upgrade: adopt partial (19 columns)",
            lib(adopt_copy, lambda p: upgrade(MigrationConfig(p))),
        ),
        ("upgrade: 1 missing column", lib(one_missing, lambda p: upgrade(MigrationConfig(p)))),
        ("upgrade: at head (no-op)", lib(head_copy, lambda p: upgrade(MigrationConfig(p)))),
        ("check", lib(same_file, lambda p: check(MigrationConfig(p)))),
    ]
    scenarios += [
        (
            "CLI db upgrade: adopt partial",
            lib(adopt_copy, lambda p: cli("db", "upgrade", "-d", str(p))),
        ),
        (
            "CLI db upgrade: 1 missing column",
            lib(one_missing, lambda p: cli("db", "upgrade", "-d", str(p))),
        ),
        (
            "CLI db upgrade: at head",
            lib(head_copy, lambda p: cli("db", "upgrade", "-d", str(p))),
        ),
        ("CLI db check", lib(same_file, lambda p: cli("db", "check", "-d", str(p)))),
    ]

    print(
        f"\n{'scenario':38} {sizes['small']:>10,} rows {sizes['large']:>12,} rows"
        f"   ratio  goal<={GOAL}x"
    )
    for name, measure in scenarios:
        try:
            small, large = measure("small"), measure("large")
        except RuntimeError as error:
            print(f"{name:38} unavailable: {error}")
            continue
        ratio = large / small
        verdict = "ok" if ratio <= GOAL else "OVER"
        print(f"{name:38} {small:>13.3f}s {large:>16.3f}s {ratio:>7.1f}x  {verdict}")

    ccs = median_time(
        lambda: fresh_copy(templates["large"], "ccs-large.duckdb"), create_copy_swap, args.repeats
    )
    adopt_large = median_time(
        lambda: fresh_copy(templates["large"], "run-large.duckdb"),
        lambda p: upgrade(MigrationConfig(p)),
        1,
    )
    print(
        f"\ncreate-copy-swap of the {sizes['large']:,}-row table (for comparison): {ccs:.3f}s "
        f"vs the in-place adoption of the same table: {adopt_large:.3f}s "
        f"(create-copy-swap costs {ccs / adopt_large:.1f}x as much)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
