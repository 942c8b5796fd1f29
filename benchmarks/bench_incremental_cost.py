"""What a one-message ingest costs as the warehouse grows (issue 19: the 1,000th small
export should cost what the first did).

Warehouses of 0, 500k and 5M messages are built once with SQL (``db upgrade``, then one
``INSERT ... SELECT FROM range(n)``: building them by ingesting would take far longer
and measure nothing more). Then, in interleaved rounds (a noisy machine slows every
case alike), each as a fresh subprocess in the same project instance:

* ``egregora-pipeline ingest`` of a new one-message chat into each warehouse (a new
  message each time, so every run writes a row and its data checks judge it);
* Dagster's floor: a no-op job of the same shape (asset, blocking check, two-asset
  op, data check) in the same instance -- what any Dagster run costs before work.

For each case it prints best and median wall time and the child's peak RSS
(``os.wait4``: that process alone; this script imports no DuckDB, so the RSS it
would pass on at fork time stays negligible), the ratios to the empty warehouse and the goals:
a big warehouse <= 1.2x the empty one in time and RSS, every peak < 1.5 GB, and the
fixed cost (empty-warehouse ingest vs the floor) <= 1.2x. The machine's load average
is printed before and after.

With ``--big-chat N`` it then ingests, once, an N-message chat (the generator of
``bench_ingest.py``) through the CLI into a fresh warehouse and prints its time and
peak RSS (goal for 6M: < 1.5 GB).

Run: ``.venv/bin/python benchmarks/bench_incremental_cost.py [--sizes 500000,5000000]
[--rounds 5] [--big-chat 6000000]``. Work files go to ``benchmarks/.work/incremental/``
(gitignored); the built warehouses are kept there and reused when their size matches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_startup import FLOOR as STARTUP_FLOOR  # run as a script: benchmarks/ is on sys.path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / ".work" / "incremental"
BIN = Path(sys.executable).parent
CLI = str(BIN / "egregora-pipeline")
RSS_GOAL_MB = 1500
RATIO_GOAL = 1.2

FILL = """
INSERT INTO messages (event_id, tenant_id, source, thread_id, msg_id, ts, author_raw,
    author_uuid, text, media_url, media_type, attrs, pii_flags, created_at, created_by_run)
SELECT md5('bench' || CAST(i AS VARCHAR)), 'default', 'whatsapp',
    'group-' || CAST(i // 100000 AS VARCHAR), CAST(i % 100000 + 1 AS VARCHAR),
    TIMESTAMPTZ '2015-01-01 00:00:00+00' + i * INTERVAL '1 minute',
    NULL, md5('author' || CAST(i % 40 AS VARCHAR)),
    'message number ' || CAST(i AS VARCHAR) || ' of a years-long group archive',
    NULL, NULL, '{"line": ' || CAST(i % 100000 + 1 AS VARCHAR) || '}', '{}', now(),
    'bench-run-' || CAST(i // 100000 AS VARCHAR)
FROM range(?) AS t(i)
"""
"""``n`` messages in threads of 100k, one per minute, from one earlier run per thread."""

FLOOR = STARTUP_FLOOR
_RUN = "    assert job.execute_in_process"
FROZEN_FLOOR = "import gc\ngc.disable()\n" + STARTUP_FLOOR.replace(
    _RUN, "    gc.freeze()\n    gc.enable()\n" + _RUN
)
"""The same floor built the way the ``ingest`` command builds its start-up heap
(``egregora_pipeline/cli/heap.py``: no collection while loading, then frozen), so the
fixed cost can be read against a floor that had the same help."""
"""Dagster's floor: the no-op job of the same shape as ``ingest_job`` that
``bench_startup.py`` runs, in the same project instance."""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}


def _run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=WORK, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{output.decode()}")
    return elapsed, usage.ru_maxrss / 1024  # KiB on Linux


BUILD = r"""
import sys, duckdb
path, size, fill = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with duckdb.connect(path) as conn:
    if fill == "count":
        print(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
    else:
        conn.execute(fill, [size])
        conn.execute("CHECKPOINT")
"""
"""Run in a child: Linux counts the parent's RSS at fork time in a child's
``ru_maxrss``, so the benchmark itself must stay small (no DuckDB in it)."""


def _warehouse(size: int) -> Path:
    """A warehouse at head holding ``size`` messages, built by SQL (reused when present)."""
    path = WORK / f"wh-{size}.duckdb"
    if path.exists():
        done = subprocess.run(
            [sys.executable, "-c", BUILD, str(path), "0", "count"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and size <= int(done.stdout) < size + 1000:
            return path
        path.unlink()
    _run([CLI, "db", "upgrade", "-d", str(path)])
    if size:
        start = time.perf_counter()
        _run([sys.executable, "-c", BUILD, str(path), str(size), FILL])
        print(f"built {path.name}: {size:,} messages in {time.perf_counter() - start:.1f} s")
    return path


def _chat(case: str, round_no: int) -> Path:
    """A one-message export never seen before, so the run writes (and checks) one row."""
    path = WORK / f"chat-{case}-{round_no}-{time.time_ns()}" / "WhatsApp Chat with Inbox.txt"
    path.parent.mkdir()
    path.write_text(f"01/02/2024, 10:00 - Ana: one message {path.parent.name}\n", "utf-8")
    return path


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500000,5000000", help="big warehouses, messages")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big-chat", type=int, default=0, help="also one N-message chat")
    args = parser.parse_args()
    sizes = [0] + [int(s) for s in args.sizes.split(",") if s.strip()]
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", WORK / "dagster.yaml")
    for folder in WORK.glob("chat-*"):
        shutil.rmtree(folder)
    warehouses = {size: _warehouse(size) for size in sizes}
    names = {size: f"ingest 1 msg into {size:,}" for size in sizes}
    floor = "floor: no-op job, same shape"
    frozen = "floor, start-up heap frozen"
    for size, path in warehouses.items():  # instance created, first-run costs paid
        _run([CLI, "ingest", str(_chat("warm", size)), "-d", str(path)])
    print(_load())
    seconds: dict[str, list[float]] = {name: [] for name in [*names.values(), floor, frozen]}
    rss: dict[str, list[float]] = {name: [] for name in seconds}
    for round_no in range(args.rounds):
        for size, path in warehouses.items():
            wall, peak = _run([CLI, "ingest", str(_chat(str(size), round_no)), "-d", str(path)])
            seconds[names[size]].append(wall)
            rss[names[size]].append(peak)
        for label, script in ((floor, FLOOR), (frozen, FROZEN_FLOOR)):
            wall, peak = _run([sys.executable, "-c", script])
            seconds[label].append(wall)
            rss[label].append(peak)
    print(_load())
    base_s, base_rss = min(seconds[names[0]]), min(rss[names[0]])
    print(
        f"{'case':32} {'best s':>7} {'median':>7} {'x empty':>8} "
        f"{'peak RSS MB':>11} {'median':>7} {'x empty':>8}  goals"
    )
    for name in seconds:
        best_s, best_rss = min(seconds[name]), min(rss[name])
        ratio_s, ratio_rss = best_s / base_s, best_rss / base_rss
        if name in (floor, frozen):
            verdict = (
                f"fixed cost: empty ingest = {base_s / best_s:.2f}x this floor "
                f"(goal <= {RATIO_GOAL}x: {'met' if base_s / best_s <= RATIO_GOAL else 'NOT met'})"
            )
        else:
            ok = ratio_s <= RATIO_GOAL and ratio_rss <= RATIO_GOAL
            verdict = (
                f"<= {RATIO_GOAL}x empty: {'met' if ok else 'NOT met'}; "
                f"< {RSS_GOAL_MB} MB: {'met' if max(rss[name]) < RSS_GOAL_MB else 'NOT met'}"
            )
        print(
            f"{name:32} {best_s:7.2f} {statistics.median(seconds[name]):7.2f} {ratio_s:7.2f}x "
            f"{best_rss:11.0f} {statistics.median(rss[name]):7.0f} {ratio_rss:7.2f}x  {verdict}"
        )
    if args.big_chat:
        _big_chat(args.big_chat)


def _big_chat(count: int) -> None:
    """One ``count``-message chat through the CLI into a fresh warehouse."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_ingest import generate

    chat = WORK / f"big-{count}" / "WhatsApp Chat with Big.txt"
    if not chat.exists():
        generate(chat, count)
    database = WORK / f"big-{count}.duckdb"
    for stale in WORK.glob(f"big-{count}.duckdb*"):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    wall, peak = _run([CLI, "ingest", str(chat), "-d", str(database), "--ephemeral"])
    verdict = "met" if peak < RSS_GOAL_MB else "NOT met"
    print(
        f"{count:,}-message chat via the CLI: {wall:.1f} s, peak RSS {peak:.0f} MB "
        f"(goal < {RSS_GOAL_MB} MB: {verdict}); {_load()}"
    )


if __name__ == "__main__":
    main()
