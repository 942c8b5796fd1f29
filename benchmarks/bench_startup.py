"""Where the fixed start-up cost of the CLI goes, as ratios to ``import dagster``.

The common case "drop one export in and ingest it" is all start-up: a
one-message chat. This script runs, in interleaved rounds (so a noisy machine
slows every command alike), each as a fresh subprocess:

* the baseline ``python -c "import dagster"``;
* ``egregora-pipeline --help`` and ``db current`` (goal: within 0.5x of the
  baseline: they need no Dagster at all);
* ``egregora-pipeline ingest`` of a one-message chat into an existing warehouse,
  recorded in the project instance (goal: within 2x of the baseline), and the
  same with ``--ephemeral``;
* Dagster's floor: a job of the same shape whose steps do nothing, run in-process
  in the same instance (what any Dagster job costs before doing work);

then prints best and median seconds and the best/best ratio to the baseline.
A breakdown of one in-process ingest follows (imports, instance, definitions,
the run itself), measured with ``time.perf_counter`` in a subprocess.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--rounds 7]``.
Work files go to ``benchmarks/.work/startup/`` (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / ".work" / "startup"
BIN = Path(sys.executable).parent
CLI = str(BIN / "egregora-pipeline")
CHAT = "01/02/2024, 10:00 - Ana: one message\n"

FLOOR = r"""
import dagster as dg
from egregora_pipeline.orchestration.instance import choose_instance, open_instance

@dg.asset
def schema() -> None: ...

@dg.asset_check(asset=schema, blocking=True)
def schema_ok() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)

@dg.multi_asset(specs=[dg.AssetSpec("a", deps=[schema]), dg.AssetSpec("b", deps=[schema])])
def ingested():
    yield dg.MaterializeResult(asset_key="a")
    yield dg.MaterializeResult(asset_key="b")

@dg.asset_check(asset="a")
def a_ok() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)

job = dg.Definitions(
    assets=[schema, ingested], asset_checks=[schema_ok, a_ok],
    jobs=[dg.define_asset_job("floor", selection="*")],
).resolve_job_def("floor")
with open_instance(choose_instance()) as instance:
    assert job.execute_in_process(instance=instance).success
"""
"""Dagster's own floor: a job of the same shape (asset, blocking check, two-asset op,
data check) doing nothing, in the same project instance."""

GOALS = {"--help": 0.5, "db current": 0.5, "ingest (project instance)": 2.0}

BREAKDOWN = r"""
import json, sys, time
from pathlib import Path
marks = {}
t0 = time.perf_counter()
import dagster  # noqa: F401
marks["import dagster"] = time.perf_counter() - t0
t = time.perf_counter()
from egregora_pipeline.cli.main import app  # noqa: F401
from egregora_pipeline.settings import Settings
from egregora_pipeline.orchestration.instance import choose_instance, open_instance
from egregora_pipeline.orchestration import local_run
import egregora_pipeline.ingestion, egregora_pipeline.migrations  # noqa: F401
marks["import egregora_pipeline (ibis, duckdb, pyarrow)"] = time.perf_counter() - t
t = time.perf_counter()
from egregora_pipeline.definitions import defs
job = defs.resolve_job_def("ingest_job")
marks["build definitions + resolve ingest_job"] = time.perf_counter() - t
t = time.perf_counter()
with open_instance(choose_instance()) as instance:
    marks["open the project instance"] = time.perf_counter() - t
    t = time.perf_counter()
    settings = Settings.from_env(database=Path("w.duckdb"))
    from egregora_pipeline.orchestration.resources import build_resources
    result = job.execute_in_process(
        run_config={"ops": {"ingest_inputs": {"config": {"paths": ["chat.txt"]}}},
                    "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        instance=instance, raise_on_error=False, resources=build_resources(settings),
    )
    marks["execute_in_process (4 steps, events to SQLite)"] = time.perf_counter() - t
    assert result.success
marks["total"] = time.perf_counter() - t0
print(json.dumps(marks))
"""


def _commands() -> dict[str, list[str]]:
    return {
        "import dagster (baseline)": [sys.executable, "-c", "import dagster"],
        "--help": [CLI, "--help"],
        "db current": [CLI, "db", "current", "-d", "w.duckdb"],
        "ingest (project instance)": [CLI, "ingest", "chat.txt", "-d", "w.duckdb"],
        "ingest --ephemeral": [CLI, "ingest", "chat.txt", "-d", "w.duckdb", "--ephemeral"],
        "floor: no-op job of the same shape": [sys.executable, "-c", FLOOR],
    }


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=WORK, env=_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return elapsed


def _prepare() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", WORK / "dagster.yaml")
    (WORK / "chat.txt").write_text(CHAT, encoding="utf-8")
    _time([CLI, "ingest", "chat.txt", "-d", "w.duckdb"])  # warehouse at head, instance created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    _prepare()
    commands = _commands()
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, argv in commands.items():
            seconds[name].append(_time(argv))
    baseline = min(seconds["import dagster (baseline)"])
    print(f"{'command':34} {'best s':>7} {'median':>7} {'x import dagster':>17} {'goal':>6}")
    for name, values in seconds.items():
        ratio = min(values) / baseline
        goal = GOALS.get(name)
        verdict = "" if goal is None else ("met" if ratio <= goal else "NOT met")
        goal_text = f"<={goal}x" if goal else ""
        print(
            f"{name:34} {min(values):7.3f} {statistics.median(values):7.3f} "
            f"{ratio:16.2f}x {goal_text:>6} {verdict}"
        )
    done = subprocess.run(
        [sys.executable, "-c", BREAKDOWN], cwd=WORK, env=_env(), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    print("\none in-process ingest of the one-message chat, step by step:")
    for step, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
        print(f"  {step:50} {value:6.3f} s")


if __name__ == "__main__":
    main()
