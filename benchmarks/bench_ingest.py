"""Benchmark: our whole WhatsApp ingest vs whatstk and the npm whatsapp-chat-parser.

Generates a synthetic Android export (default 500,000 messages: multi-line
messages, system lines, attachments, omitted media, mentions) under
``benchmarks/.work/``, then times, on that same file and in the same run:

* **ours** -- ``egregora_pipeline.ingestion.ingest()`` in a fresh subprocess:
  parse + classify + pseudonymize + load into a fresh DuckDB file (commit included);
* **whatstk** (PyPI, the most used Python parser) -- ``df_from_whatsapp`` in
  its own venv under ``benchmarks/.work/venv-whatstk`` (parse only);
* **whatsapp-chat-parser** (npm) -- ``parseString`` with attachments, under
  ``benchmarks/.work/node`` (parse only), when ``node``/``npm`` exist.

and, for context, the ``egregora-pipeline ingest`` command itself (the same
ingest run as a Dagster job in-process: Dagster's imports and instance, the
schema migration, the blocking checks and the data checks on top), once.

Each tool runs in its own child process; wall time and peak RSS are measured
around that child by a tiny wrapper process (``RUSAGE_CHILDREN`` of a process
with exactly one child is that child's peak). Ours and the npm parser run
``--repeat`` times, interleaved round by round so that a noisy neighbour on a
shared machine hits both alike; the table shows the best run and the median.
Ours also reports how much of its time is interpreter start-up and imports.
Tools that cannot be installed are reported and skipped.

Goals (issue 3): >= 10x faster than whatstk, >= 1.5x faster than the npm
parser, lower peak memory than whatstk. Run: ``python benchmarks/bench_ingest.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import textwrap
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
WHATSTK_VERSION = "0.9.1"
NPM_PARSER_VERSION = "4.0.2"

NAMES = ["Ana Lima", "Bruno Costa", "Carla", "\u202a+55 11 91234-5678\u202c", "Dário", "Eve"]
WORDS = [
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
    "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna",
    "aliqua", "olá", "obrigado", "😀", "🎉",
]  # fmt: skip


def generate(path: Path, count: int, seed: int = 7) -> None:
    """A deterministic Android (US, 12-hour) export with ``count`` messages."""
    rng = random.Random(seed)
    moment = datetime(2019, 1, 1, 8, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for n in range(count):
            moment += timedelta(seconds=rng.randint(5, 400))
            hour = moment.strftime("%I").lstrip("0") or "12"
            header = f"{moment.month}/{moment.day}/{moment:%y}, {hour}:{moment:%M %p} - "
            roll = rng.random()
            who = rng.choice(NAMES)
            if roll < 0.02:
                out.write(f"{header}{NAMES[0]} added {NAMES[rng.randint(1, 5)]}\n")
            elif roll < 0.05:
                out.write(
                    f"{header}{who}: IMG-{moment:%Y%m%d}-WA{n % 10000:04d}.jpg (file attached)\n"
                )
            elif roll < 0.07:
                out.write(f"{header}{who}: <Media omitted>\n")
            else:
                body = " ".join(rng.choices(WORDS, k=rng.randint(2, 18)))
                if roll < 0.08:
                    body = f"@{NAMES[1]} {body}"
                if rng.random() < 0.1:
                    body += "\n" + " ".join(rng.choices(WORDS, k=6)) + "\n12/31 is a date too"
                out.write(f"{header}{who}: {body}\n")


@dataclass
class Result:
    tool: str
    seconds: float
    peak_mb: float
    messages: int
    median: float | None = None
    note: str = ""


_WRAPPER = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall": wall, "peak_kb": peak_kb, "rc": done.returncode,
                      "stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}))
    """
)

_OURS = textwrap.dedent(
    """
    import sys, time
    started = time.perf_counter()
    from pathlib import Path
    from egregora_pipeline.backends.duckdb.connection import connect_warehouse
    from egregora_pipeline.ingestion import ingest
    from egregora_pipeline.settings import Settings
    imported = time.perf_counter()
    database = Path(sys.argv[2])
    conn = connect_warehouse(database)
    settings = Settings(database=database, timezone="America/Sao_Paulo")
    report = ingest(conn, [Path(sys.argv[1])], settings=settings, run_id="bench")
    conn.close()
    assert report.ok, report.failed_inputs
    print(f"imports {imported - started:.3f} ingest {time.perf_counter() - imported:.3f}")
    print(report.messages_added)
    """
)

_PREPARE = textwrap.dedent(
    """
    import sys
    import duckdb
    from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
    conn = duckdb.connect(sys.argv[1])
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    conn.close()
    """
)

_IMPORTS_ONLY = textwrap.dedent(
    """
    from egregora_pipeline.backends.duckdb.connection import connect_warehouse
    from egregora_pipeline.ingestion import ingest
    from egregora_pipeline.settings import Settings
    print(0)
    """
)

_WRITE_ONLY = textwrap.dedent(
    """
    # Copies the rows our ingest wrote into an empty twin of ``messages``:
    # what storing them costs (DuckDB's compression included), with no parsing.
    import sys, time
    import duckdb
    conn = duckdb.connect(sys.argv[1])
    conn.execute("CREATE TEMP TABLE computed AS SELECT * FROM messages")
    conn.execute("CREATE OR REPLACE TABLE messages_twin AS SELECT * FROM messages LIMIT 0")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO messages_twin SELECT * FROM computed")
    conn.execute("COMMIT")
    print(f"{time.perf_counter() - started:.3f}")
    conn.execute("DROP TABLE messages_twin")
    print(conn.execute("SELECT count(*) FROM computed").fetchone()[0])
    """
)

_WHATSTK = textwrap.dedent(
    """
    import sys
    from whatstk.whatsapp.parser import df_from_whatsapp
    frame = df_from_whatsapp(sys.argv[1], max_size=None)
    print(len(frame))
    """
)

_NODE = textwrap.dedent(
    """
    const fs = require('fs');
    const { parseString } = require('whatsapp-chat-parser');
    const text = fs.readFileSync(process.argv[2], 'utf8');
    const messages = parseString(text, { parseAttachments: true });
    console.log(messages.length);
    """
)


def measure(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak MB and stdout of one child process (started in ``cwd``)."""
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    )
    data = json.loads(done.stdout)
    if data["rc"] != 0:
        raise RuntimeError(f"{argv[0]} failed: {data['stderr']}")
    return data["wall"], data["peak_kb"] / 1024, data["stdout"].strip()


@dataclass
class Contender:
    """One tool of the interleaved rounds: how to run it and its runs so far."""

    tool: str
    argv: list[str]
    env: dict[str, str] | None = None
    before: Callable[[], None] | None = None
    runs: list[tuple[float, float, str]] = field(default_factory=list)

    def run_once(self) -> None:
        if self.before is not None:
            self.before()
        self.runs.append(measure(self.argv, env=self.env))

    def result(self) -> Result:
        wall, peak, out = min(self.runs)
        return Result(
            self.tool,
            wall,
            peak,
            int(out.splitlines()[-1]),
            median=statistics.median(run[0] for run in self.runs),
            note=out.splitlines()[0] if len(out.splitlines()) > 1 else "",
        )


def ours(chat: Path) -> Contender:
    database = WORK / "bench.duckdb"

    def fresh() -> None:
        for suffix in ("", ".wal"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(WORK / "media", ignore_errors=True)
        subprocess.run([sys.executable, "-c", _PREPARE, str(database)], check=True)

    return Contender(
        "egregora ingest (parse+load)",
        [sys.executable, "-c", _OURS, str(chat), str(database)],
        before=fresh,
    )


def run_cli(chat: Path) -> Result:
    """``egregora-pipeline ingest`` once, on a fresh warehouse (the command creates it)."""
    database = WORK / "cli.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(WORK / "media", ignore_errors=True)
    cli = Path(sys.executable).with_name("egregora-pipeline")
    env = dict(os.environ, EGREGORA_DATABASE=str(database), EGREGORA_TIMEZONE="America/Sao_Paulo")
    wall, peak, _ = measure([str(cli), "ingest", str(chat)], env=env)
    import duckdb  # only here: the parent process stays light for the other tools

    with duckdb.connect(str(database), read_only=True) as conn:
        row = conn.execute("SELECT count(*) FROM messages").fetchone()
    return Result(
        "egregora-pipeline ingest CLI (Dagster job)", wall, peak, int(row[0]) if row else 0
    )


def ensure_whatstk() -> Path | None:
    env_dir = WORK / "venv-whatstk"
    python = env_dir / "bin" / "python"
    if not python.exists():
        venv.create(env_dir, with_pip=True)
    check = subprocess.run([str(python), "-c", "import whatstk"], capture_output=True)
    if check.returncode != 0:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"whatstk=={WHATSTK_VERSION}"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"whatstk could not be installed, skipped: {done.stderr.strip()[-500:]}")
            return None
    return python


def ensure_npm_parser() -> Path | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("node/npm not found: the npm whatsapp-chat-parser comparison is skipped")
        return None
    node_dir = WORK / "node"
    node_dir.mkdir(parents=True, exist_ok=True)
    if not (node_dir / "node_modules" / "whatsapp-chat-parser").exists():
        done = subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--prefix",
                str(node_dir),
                f"whatsapp-chat-parser@{NPM_PARSER_VERSION}",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"npm whatsapp-chat-parser could not be installed, skipped: {done.stderr[-500:]}")
            return None
    script = node_dir / "parse.cjs"
    script.write_text(_NODE, encoding="utf-8")
    return script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--whatstk-repeat", type=int, default=1)
    parser.add_argument(
        "--skip-cli", action="store_true", help="do not time the egregora-pipeline command"
    )
    args = parser.parse_args()

    chat = WORK / f"WhatsApp Chat with Bench {args.messages}.txt"
    if not chat.exists():
        generate(chat, args.messages)
    size_mb = chat.stat().st_size / 1e6
    print(f"input: {chat.name} ({args.messages:,} messages, {size_mb:.1f} MB)")
    print(f"machine: {os.cpu_count()} CPUs, load average before the run {os.getloadavg()[0]:.2f}")

    contenders = [ours(chat)]
    script = ensure_npm_parser()
    if script is not None:
        node_env = dict(os.environ, NODE_PATH=str(script.parent / "node_modules"))
        contenders.append(
            Contender(
                "npm whatsapp-chat-parser (parse only)", ["node", str(script), str(chat)], node_env
            )
        )
    for _ in range(args.repeat):  # interleaved: a noisy neighbour hits every tool alike
        for contender in contenders:
            contender.run_once()
    results = [contender.result() for contender in contenders]
    python = ensure_whatstk()
    if python is not None:
        whatstk = Contender("whatstk (parse only)", [str(python), "-c", _WHATSTK, str(chat)])
        for _ in range(args.whatstk_repeat):
            whatstk.run_once()
        results.insert(1, whatstk.result())
    if not args.skip_cli:
        results.append(run_cli(chat))
    imports_only, _, _ = measure([sys.executable, "-c", _IMPORTS_ONLY])
    _, _, written = measure([sys.executable, "-c", _WRITE_ONLY, str(WORK / "bench.duckdb")])
    write_only = float(written.splitlines()[0])

    mine = results[0]
    print()
    header = f"{'tool':44} {'best s':>7} {'median':>7} {'msgs/s':>9} {'peak MB':>8} {'messages':>9}"
    print(f"{header} {'time x':>7} {'mem x':>6}")
    for r in results:
        median = f"{r.median:7.2f}" if r.median is not None else f"{'-':>7}"
        ratios = (  # the CLI row is ours too: no ratio against ourselves
            f"{'-':>7} {'-':>6}"
            if r.tool.startswith("egregora")
            else f"{r.seconds / mine.seconds:7.2f} {r.peak_mb / mine.peak_mb:6.2f}"
        )
        print(
            f"{r.tool:44} {r.seconds:7.2f} {median} {args.messages / r.seconds:9,.0f} "
            f"{r.peak_mb:8.0f} {r.messages:9,} {ratios}"
        )
    print(
        "\n(time x / mem x: that tool's best seconds / peak MB divided by ours; > 1 means we win)"
    )
    if mine.note:
        print(f"ours, best run, inside the child: {mine.note} (seconds)")
    print(
        f"floors of ours: interpreter + imports {imports_only:.2f} s; storing the final "
        f"{args.messages:,} rows alone (INSERT of computed rows + COMMIT) {write_only:.2f} s"
    )
    goals = {
        "whatstk (parse only)": 10.0,
        "npm whatsapp-chat-parser (parse only)": 1.5,
    }
    for r in results[1:]:
        if r.tool not in goals:
            continue
        target = goals[r.tool]
        ratio = r.seconds / mine.seconds
        verdict = "met" if ratio >= target else "MISSED"
        print(f"goal {target}x faster than {r.tool}: {verdict} ({ratio:.2f}x)")
        if r.tool.startswith("whatstk"):
            verdict = "met" if mine.peak_mb < r.peak_mb else "MISSED"
            memory = f"{mine.peak_mb:.0f} vs {r.peak_mb:.0f} MB"
            print(f"goal lower peak memory than whatstk: {verdict} ({memory})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
