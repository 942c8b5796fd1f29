"""Adoption of the newest upstream layout: the batch path vs the in-place path (issue 13).

Builds upstream Egregora's newest warehouse (``constrained``: commit 8c9055d, see
``tests/migrations/upstream_layouts.py``) with N documents and 3N messages --
PRIMARY KEY, CHECKs and four indexes on ``documents``, FOREIGN KEYs from
annotations, document relations and entity aliases, a CHECK and four indexes on
``messages`` -- and an *index-free twin*: the same tables and rows with no
index, key, CHECK or FOREIGN KEY. Then times ``upgrade`` (adoption to head) on
a fresh copy of each, as the median of ``--repeats`` runs, and prints both side
by side: the twin is adopted with in-place ``ALTER``s only, the upstream file
needs the batch mode (dependents saved, dropped and recreated; ``documents``
rebuilt to widen its CHECK and fill NULLs of CHECK-named columns).

Run: ``.venv/bin/python benchmarks/bench_adoption.py [--documents 1000000] [--repeats 1]``.
Work files go to ``benchmarks/.work/`` (gitignored).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from egregora_pipeline.migrations import MigrationConfig, check, upgrade  # noqa: E402
from tests.migrations.upstream_layouts import build, build_index_free_twin  # noqa: E402

WORK = Path(__file__).resolve().parent / ".work"
LAYOUT = "constrained"


def _fresh(template: Path, name: str) -> Path:
    target = WORK / name
    for stale in (target, target.with_name(target.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copy(template, target)
    return target


def _counts(path: Path) -> tuple[int, int, int, int]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM messages), "
            "(SELECT count(*) FROM duckdb_indexes()), (SELECT count(*) FROM duckdb_constraints() "
            "WHERE constraint_type IN ('CHECK', 'FOREIGN KEY', 'PRIMARY KEY'))"
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])
    finally:
        conn.close()


def _time_upgrade(template: Path, name: str, repeats: int) -> tuple[float, float, list[str]]:
    timings: list[float] = []
    actions: list[str] = []
    for _ in range(repeats):
        path = _fresh(template, name)
        config = MigrationConfig(path, lock_timeout=60)
        started = time.perf_counter()
        result = upgrade(config)
        timings.append(time.perf_counter() - started)
        actions = [a for a in result.reconcile_actions if "batch mode" in a]
        report = check(config)
        if not report.ok:
            raise SystemExit(f"{name}: check failed after adoption:\n{report.render()}")
    return min(timings), statistics.median(timings), actions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    upstream = WORK / "adoption-upstream.duckdb"
    twin = WORK / "adoption-twin.duckdb"
    for stale in (upstream, twin):
        stale.unlink(missing_ok=True)
        stale.with_name(stale.name + ".wal").unlink(missing_ok=True)

    started = time.perf_counter()
    build(upstream, LAYOUT, bulk=args.documents)
    build_index_free_twin(twin, LAYOUT, bulk=args.documents)
    print(f"built both warehouses in {time.perf_counter() - started:.1f}s")
    for label, path in (("upstream", upstream), ("twin", twin)):
        docs, msgs, indexes, constraints = _counts(path)
        print(
            f"  {label:<8} documents={docs:,} messages={msgs:,} indexes={indexes} "
            f"keys/CHECKs/FKs={constraints}"
        )

    batch_best, batch, actions = _time_upgrade(upstream, "adopt-upstream.duckdb", args.repeats)
    twin_best, in_place, twin_actions = _time_upgrade(twin, "adopt-twin.duckdb", args.repeats)
    if twin_actions:
        raise SystemExit(f"the twin should need no batch step, got {twin_actions}")

    print()
    print(f"adoption of the newest upstream layout ({args.repeats} run(s), library call)")
    print(f"{'path':<44} {'best s':>8} {'median s':>9} {'ratio':>7}")
    print(f"{'in place (index-free twin)':<44} {twin_best:>8.2f} {in_place:>9.2f} {1.0:>6.1f}x")
    label = "batch (upstream: keys, CHECKs, FKs, indexes)"
    ratio = batch / in_place
    print(f"{label:<44} {batch_best:>8.2f} {batch:>9.2f} {ratio:>6.1f}x")
    print("(ratio of medians; interleave nothing else on the machine for stable figures)")
    print()
    for action in actions:
        print(f"  {action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
