"""What backups cost (issue 11): ``db backup`` next to ``cp``, and automatic backups on upgrades.

Builds a warehouse at head whose ``documents`` table holds 3M rows, then prints,
as the best of several runs in the same process and on the same disk:

* a plain ``cp`` of the file, and ``cp`` followed by ``sync`` of the copy (a
  backup that is not on disk yet is not one);
* ``take_backup`` through the library (lock, CHECKPOINT, copy by a child
  process, SHA-256, fsync, manifest) and the whole ``egregora-pipeline db
  backup`` command (Python start-up included), each as a ratio to ``cp``
  (goal: within 1.5x);
* an adding-only ``db upgrade`` (a revision adding a nullable column) with
  automatic backups on and with ``--no-backup`` (goal: no difference, since none
  is taken), and a rewriting upgrade with a backup, to show what one costs.

Run: ``.venv/bin/python benchmarks/bench_backup.py [--rows 3000000] [--repeats 5]``.
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

from egregora_pipeline.backends.duckdb.backup import backup_warehouse
from egregora_pipeline.migrations import MigrationConfig, upgrade
from egregora_pipeline.migrations.safeguard import BackupPolicy
from egregora_pipeline.migrations.script import BUNDLED_VERSIONS_DIR

WORK = Path(__file__).resolve().parent / ".work" / "backup"
CLI = Path(sys.executable).with_name("egregora-pipeline")
GOAL = 1.5

ADD_ONLY = """from egregora_pipeline.migrations.ops import Operations

revision = "0002"
down_revision = "0001"
message = "add a nullable column"


def upgrade(op: Operations) -> None:
    op.add_column("documents", "bench_note", "VARCHAR")


def downgrade(op: Operations) -> None:
    op.drop_column("documents", "bench_note")
"""
REWRITE = ADD_ONLY.replace(
    'op.add_column("documents", "bench_note", "VARCHAR")',
    'op.backfill("documents", "status", "\'published\'", where="status = \'draft\'")',
).replace("add a nullable column", "overwrite a value")


def build(path: Path, rows: int) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    upgrade(MigrationConfig(path, backup=BackupPolicy(enabled=False)))
    conn = duckdb.connect(str(path))
    conn.execute(
        f"""INSERT INTO documents (id, title, content, created_at, source_checksum, status,
               doc_type)
        SELECT 'doc-' || i, 'Title ' || i,
               'Body of document ' || i || ' ' || repeat('lorem ipsum ', 8),
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i), md5(i::VARCHAR),
               'published', 'post'
        FROM range({rows}) t(i)"""
    )
    conn.execute("CHECKPOINT")
    conn.close()


def versions(name: str, body: str) -> Path:
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in BUNDLED_VERSIONS_DIR.glob("[0-9]*.py"):
        shutil.copy(path, folder / path.name)
    (folder / "0002_bench.py").write_text(body, encoding="utf-8")
    return folder


def best(prepare: Callable[[], object], run: Callable[[], object], repeats: int) -> float:
    times: list[float] = []
    for _ in range(repeats):
        prepare()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def median(prepare: Callable[[], object], run: Callable[[], object], repeats: int) -> float:
    times: list[float] = []
    for _ in range(repeats):
        prepare()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def sh(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-400:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    template = WORK / "template.duckdb"
    started = time.perf_counter()
    build(template, args.rows)
    size = template.stat().st_size
    print(
        f"built a warehouse at head with {args.rows:,} documents: {size / 1e6:.1f} MB "
        f"in {time.perf_counter() - started:.1f}s"
    )

    target = WORK / "copy.duckdb"
    out = WORK / "out"

    def clear() -> None:
        target.unlink(missing_ok=True)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()

    cp = best(clear, lambda: sh("cp", str(template), str(target)), args.repeats)
    cp_sync = best(
        clear,
        lambda: sh("sh", "-c", f'cp "{template}" "{target}" && sync "{target}"'),
        args.repeats,
    )
    library = best(clear, lambda: backup_warehouse(template, to=out), args.repeats)
    command = best(
        clear,
        lambda: sh(str(CLI), "db", "backup", "--to", str(out), "--database", str(template)),
        args.repeats,
    )
    print(f"\n{'db backup of the 3M-row warehouse':<52}{'seconds':>9}{'x cp':>8}")
    for label, seconds in (
        ("cp", cp),
        ("cp + sync of the copy", cp_sync),
        ("take_backup (library: lock, checkpoint, copy, sha)", library),
        ("egregora-pipeline db backup (whole command)", command),
    ):
        print(f"{label:<52}{seconds:>9.3f}{seconds / cp:>7.1f}x")
    print(f"goal: within {GOAL}x of cp -> library {'met' if library <= GOAL * cp else 'NOT met'}")

    add_only = versions("versions-add", ADD_ONLY)
    rewrite = versions("versions-rewrite", REWRITE)
    run_db = WORK / "run.duckdb"

    def fresh() -> None:
        run_db.with_name(run_db.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(WORK / "backups", ignore_errors=True)
        shutil.copyfile(template, run_db)

    def cli_upgrade(folder: Path, *extra: str) -> Callable[[], None]:
        argv = [str(CLI), "db", "upgrade", "--database", str(run_db), "--versions-dir", str(folder)]
        return lambda: sh(*argv, *extra)

    def lib_upgrade(folder: Path, enabled: bool) -> Callable[[], object]:
        policy = BackupPolicy(enabled=enabled)
        return lambda: upgrade(MigrationConfig(run_db, versions_dir=folder, backup=policy))

    rows = [
        (
            "add-only upgrade, library, backups on",
            median(fresh, lib_upgrade(add_only, True), args.repeats),
        ),
        (
            "add-only upgrade, library, backups off",
            median(fresh, lib_upgrade(add_only, False), args.repeats),
        ),
        (
            "add-only db upgrade (command), backups on",
            median(fresh, cli_upgrade(add_only), args.repeats),
        ),
        (
            "add-only db upgrade --no-backup (command)",
            median(fresh, cli_upgrade(add_only, "--no-backup"), args.repeats),
        ),
        (
            "rewriting upgrade, library, backups on",
            median(fresh, lib_upgrade(rewrite, True), args.repeats),
        ),
        (
            "rewriting upgrade, library, backups off",
            median(fresh, lib_upgrade(rewrite, False), args.repeats),
        ),
    ]
    print(f"\n{'automatic backups on upgrade (median)':<52}{'seconds':>9}")
    for label, seconds in rows:
        print(f"{label:<52}{seconds:>9.3f}")
    lib_cost = rows[0][1] / rows[1][1]
    cli_cost = rows[2][1] / rows[3][1]
    print(
        f"add-only: backups on / off = {lib_cost:.2f}x (library), {cli_cost:.2f}x (command); "
        "goal: 1.0x (no backup is taken)"
    )
    print(f"a rewriting upgrade pays for its backup: {rows[4][1] - rows[5][1]:+.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
