"""Steady-state speed of the CLI ingest against the npm whatsapp-chat-parser (issue 19).

The goal: between a 500k and a 5M-message chat, the per-message cost of
``egregora-pipeline ingest`` (parse + pseudonymize + load + checks, through the CLI
into a fresh DuckDB warehouse) is at least 1.5x better than the npm
``whatsapp-chat-parser``'s (parse only) on the same two files.

Two chats are generated with ``bench_ingest.generate`` (``--sizes``, default
500,000 and 5,000,000 messages). Then, in ``--rounds`` interleaved rounds (a noisy
neighbour on a shared machine slows every contender alike), each in its own child
process, timed with ``bench_ingest.measure`` (wall time and the child's peak RSS):

* **ours** -- ``egregora-pipeline ingest FILE`` into a fresh warehouse
  (``EGREGORA_DATABASE``, ``EGREGORA_TIMEZONE``, media folder under the work folder;
  the run recorded in a Dagster instance of the work folder, as from a project root);
* **npm** -- ``whatsapp-chat-parser`` ``parseString`` of the same file (parse only);
* **floor: read** -- Python reading every byte of the file, block by block;
* **floor: DuckDB load** -- DuckDB's own ``read_csv`` of the file as one column of
  lines into a table of a fresh DuckDB file (``memory_limit`` 1GB, as ours), CHECKPOINT
  included: reading and storing the same text with no parsing at all.

For each contender it prints the per-message marginal cost
``(t_big - t_small) / (n_big - n_small)`` (best runs) in microseconds, the fixed cost
(the intercept of that line at zero messages), the ratio ``npm cost / our cost`` (goal
>= 1.5) and the same ratio for the floors (what a tool that cost only the floor would
reach), and the machine's load average before and after.

Run: ``.venv/bin/python benchmarks/bench_peer_throughput.py [--sizes 500000,5000000]
[--rounds 2] [--keep]``. Work files go to ``benchmarks/.work/peer/`` (gitignored); the
biggest generated chat and the warehouses are deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

# run as a script: benchmarks/ is on sys.path
from bench_ingest import NPM_PARSER_VERSION, ensure_npm_parser, generate, measure

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / ".work" / "peer"
CLI = str(Path(sys.executable).with_name("egregora-pipeline"))
GOAL = 1.5

_READ = textwrap.dedent(
    """
    import sys
    total = 0
    with open(sys.argv[1], "rb", buffering=0) as handle:
        while block := handle.read(1 << 20):
            total += len(block)
    print(total)
    """
)
"""Floor: every byte of the file read once, in 1 MiB blocks (ours streams too)."""

_DUCKDB_LOAD = textwrap.dedent(
    """
    import sys
    import duckdb
    conn = duckdb.connect(sys.argv[2], config={"memory_limit": "1GB"})
    conn.execute("SET enable_progress_bar = false")
    conn.execute(
        "CREATE TABLE lines AS SELECT * FROM read_csv(?, columns={'line': 'VARCHAR'}, "
        "header=false, delim='\\x1f', quote='', escape='', auto_detect=false, "
        "strict_mode=false)",
        [sys.argv[1]],
    )
    conn.execute("CHECKPOINT")
    print(conn.execute("SELECT count(*) FROM lines").fetchone()[0])
    conn.close()
    """
)
"""Floor: DuckDB's own load of the file's text, one row per line, into a fresh file."""

_COUNT = textwrap.dedent(
    """
    import sys
    import duckdb
    with duckdb.connect(sys.argv[1], read_only=True) as conn:
        print(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
    """
)
"""Run in a child: the benchmark itself stays free of DuckDB, so its RSS stays small."""


@dataclass
class Contender:
    """One tool of the interleaved rounds; ``runs[size]`` holds (wall s, peak MB, rows)."""

    name: str
    ours: bool = False
    runs: dict[int, list[tuple[float, float, int]]] = field(default_factory=dict)

    def best(self, size: int) -> tuple[float, float, int]:
        return min(self.runs[size])

    def median(self, size: int) -> float:
        return statistics.median(run[0] for run in self.runs[size])

    def line(self, small: int, big: int) -> tuple[float, float]:
        """Marginal seconds per message and the fixed cost (intercept), best runs."""
        t_small, t_big = self.best(small)[0], self.best(big)[0]
        slope = (t_big - t_small) / (big - small)
        return slope, t_small - slope * small


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _chat(size: int) -> Path:
    """The ``size``-message chat, generated once (written aside, then renamed)."""
    chat = WORK / f"WhatsApp Chat with Peer {size}.txt"
    if not chat.exists():
        partial = chat.with_suffix(".partial")
        generate(partial, size)
        partial.rename(chat)
    return chat


def _ours(chat: Path, size: int) -> tuple[float, float, int]:
    """``egregora-pipeline ingest FILE`` into a fresh warehouse, from the work folder."""
    database = WORK / f"cli-{size}.duckdb"
    media = WORK / f"media-{size}"
    for stale in [*WORK.glob(f"cli-{size}.duckdb*"), media]:
        _remove(stale)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}
    env.update(
        EGREGORA_DATABASE=str(database),
        EGREGORA_TIMEZONE="America/Sao_Paulo",
        EGREGORA_MEDIA_DIR=str(media),
        # the code of this checkout, even where the venv's editable install points elsewhere
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    wall, peak, _ = measure([CLI, "ingest", str(chat)], env=env, cwd=WORK)
    done = subprocess.run(
        [sys.executable, "-c", _COUNT, str(database)], capture_output=True, text=True, check=True
    )
    return wall, peak, int(done.stdout)


def _npm(script: Path, chat: Path) -> tuple[float, float, int]:
    env = dict(os.environ, NODE_PATH=str(script.parent / "node_modules"))
    wall, peak, out = measure(["node", str(script), str(chat)], env=env)
    return wall, peak, int(out.splitlines()[-1])


def _read(chat: Path) -> tuple[float, float, int]:
    wall, peak, out = measure([sys.executable, "-c", _READ, str(chat)])
    return wall, peak, int(out.splitlines()[-1])


def _duckdb_load(chat: Path, size: int) -> tuple[float, float, int]:
    database = WORK / f"floor-{size}.duckdb"
    for stale in WORK.glob(f"floor-{size}.duckdb*"):
        _remove(stale)
    wall, peak, out = measure([sys.executable, "-c", _DUCKDB_LOAD, str(chat), str(database)])
    return wall, peak, int(out.splitlines()[-1])


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _report(contenders: list[Contender], small: int, big: int) -> None:
    print(
        f"\n{'contender':44} {'messages':>9} {'best s':>7} {'median':>7} "
        f"{'peak MB':>8} {'rows out':>10}"
    )
    for contender in contenders:
        for size in (small, big):
            wall, peak, rows = contender.best(size)
            print(
                f"{contender.name:44} {size:9,} {wall:7.2f} {contender.median(size):7.2f} "
                f"{peak:8.0f} {rows:10,}"
            )
    print(
        "(rows out: messages in our warehouse, messages parsed by npm, bytes read, "
        "lines stored by DuckDB)"
    )
    lines = {contender.name: contender.line(small, big) for contender in contenders}
    ours = next(c.name for c in contenders if c.ours)
    npm = next(c.name for c in contenders if c.name.startswith("npm"))
    npm_cost = lines[npm][0]
    print(f"\nsteady state between {small:,} and {big:,} messages (best runs):")
    print(f"{'contender':44} {'us/msg':>8} {'fixed s':>8} {'npm/it':>7} {'it/ours':>8}")
    for name, (slope, fixed) in lines.items():
        print(
            f"{name:44} {slope * 1e6:8.3f} {fixed:8.2f} {npm_cost / slope:6.2f}x "
            f"{slope / lines[ours][0]:7.2f}x"
        )
    print(
        "(npm/it: the npm parser's per-message cost divided by this one's; "
        "it/ours: this one's divided by ours)"
    )
    ratio = npm_cost / lines[ours][0]
    verdict = "met" if ratio >= GOAL else "not met"
    print(
        f"goal: npm cost / our cost >= {GOAL}x: {verdict} ({ratio:.2f}x; ours "
        f"{lines[ours][0] * 1e6:.2f} us/msg, the goal needs <= {npm_cost / GOAL * 1e6:.2f})"
    )
    for name, (slope, _) in lines.items():
        if name.startswith("floor"):
            print(
                f"  {name}: {slope * 1e6:.3f} us/msg = {npm_cost / slope:.1f}x better than "
                f"npm; ours is {lines[ours][0] / slope:.1f}x this floor"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500000,5000000", help="two chat sizes, messages")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the big chat and warehouses")
    args = parser.parse_args()
    small, big = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", WORK / "dagster.yaml")
    script = ensure_npm_parser()
    if script is None:
        print("the npm parser is required for this comparison")
        return 1
    chats = {size: _chat(size) for size in (small, big)}
    for size, chat in chats.items():
        print(f"input: {chat.name} ({size:,} messages, {chat.stat().st_size / 1e6:.1f} MB)")
    print(f"before: {_load()}")

    ours = Contender("egregora-pipeline ingest (CLI, all checks)", ours=True)
    npm = Contender(f"npm whatsapp-chat-parser {NPM_PARSER_VERSION} (parse only)")
    read = Contender("floor: Python reads all bytes")
    load = Contender("floor: DuckDB read_csv lines -> table")
    contenders = [ours, npm, read, load]
    for round_no in range(args.rounds):  # interleaved: every contender, both sizes, each round
        for size, chat in chats.items():
            runs = {
                ours.name: lambda c=chat, s=size: _ours(c, s),
                npm.name: lambda c=chat: _npm(script, c),
                read.name: lambda c=chat: _read(c),
                load.name: lambda c=chat, s=size: _duckdb_load(c, s),
            }
            for contender in contenders:
                run = runs[contender.name]()
                contender.runs.setdefault(size, []).append(run)
                print(
                    f"round {round_no + 1} {size:>9,} {contender.name:44} "
                    f"{run[0]:7.2f} s {run[1]:6.0f} MB",
                    flush=True,
                )
    print(f"after: {_load()}")
    _report(contenders, small, big)
    if not args.keep:
        for stale in [chats[big], *WORK.glob("cli-*"), *WORK.glob("media-*")]:
            _remove(stale)
        for stale in WORK.glob("floor-*"):
            _remove(stale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
