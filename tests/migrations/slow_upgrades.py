"""Shared by the process tests of both backends: a chain of slow revisions and its child.

``test_processes.py`` (a DuckDB file) and ``test_processes_postgres.py`` (a real
PostgreSQL) run concurrent and SIGKILLed upgrades of the same chain through the
same child script (``upgrade_child.py``); only how each backend is inspected differs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.migrations.conftest import RevisionWriter

CHILD = Path(__file__).with_name("upgrade_child.py")
SLOW_REVISIONS = ("0002", "0003", "0004", "0005")


def slow_chain(versions_dir: Path, write_revision: RevisionWriter, rows: int) -> None:
    """Four revisions that each write ``rows`` rows (so they take a while), with SQL for
    either backend (``op.dialect``)."""
    parent = "0001"
    for rev in SLOW_REVISIONS:
        table = f"crash_{rev}"
        write_revision(
            versions_dir,
            rev,
            parent,
            f"""if op.dialect == "postgres":
    op.execute(
        "CREATE TABLE {table} AS SELECT g AS i, md5(g::text) AS h "
        "FROM generate_series(0, {rows - 1}) AS g",
        dialect="postgres",
    )
else:
    op.execute(
        "CREATE TABLE {table} AS SELECT range AS i, md5(range::VARCHAR) AS h FROM range({rows})",
        dialect="duckdb",
    )
op.add_column("{table}", "extra", "VARCHAR", nullable=False, default="'x'", keep_default=False)""",
            f'op.drop_table("{table}")',
            slug=f"slow_{rev}",
        )
        parent = rev


def spawn_child(*args: Path | str, stdin: bool = False) -> subprocess.Popen[str]:
    """``upgrade_child.py`` with ``args``, in the repository, its output captured (and its
    input a pipe with ``stdin``, for ``--fork-server``)."""
    return subprocess.Popen(
        [sys.executable, str(CHILD), *map(str, args)],
        stdin=subprocess.PIPE if stdin else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )


def wait_ready(process: subprocess.Popen[str]) -> None:
    """Block until the child says it is ready (or fail with what it printed)."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", (line, process.stderr.read() if process.stderr else "")


def whole_upgrade_seconds(server: subprocess.Popen[str], warehouse: Path | str) -> float:
    """Let the fork server run one upgrade of ``warehouse`` to the end; its wall time.

    The crash tests draw their kill moments from this window, measured on the
    machine as loaded as it is now, so the kills spread over the whole chain.
    """
    assert server.stdin is not None
    assert server.stdout is not None
    server.stdin.write(f"{warehouse}\n")
    server.stdin.flush()
    started = time.monotonic()
    int(server.stdout.readline())
    assert server.stdout.readline().strip() == "done"
    return time.monotonic() - started


def race_four_upgrades(warehouse: Path | str, versions_dir: Path, go: Path) -> list[list[str]]:
    """Four children upgrade ``warehouse`` at once (released together by touching ``go``);
    each must succeed without a traceback. Returns the revisions each one applied."""
    children = [spawn_child(warehouse, versions_dir, go) for _ in range(4)]
    for child in children:
        wait_ready(child)

    go.touch()
    outputs = [child.communicate(timeout=120) for child in children]

    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert "Traceback" not in err
    return [json.loads(out.strip().splitlines()[-1])["applied"] for out, _ in outputs]
