"""DuckDB 1.4.4 -- the version upstream Egregora pins -- in a virtual environment of its own.

Upstream's ``uv.lock`` (franklinbaldo/egregora, commit 1123bf243) pins ``duckdb``
1.4.4; this project runs DuckDB 2.0. The tests prove Egregora can open what this
project writes by opening it with the real 1.4.4, in a child process using
``.cache/duckdb-1.4.4-venv`` (built from PyPI by ``make egregora-duckdb``, or here
when it is missing: ``requirements/egregora-duckdb.txt`` pins the version).
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT

VENV = REPO_ROOT / ".cache" / "duckdb-1.4.4-venv"
REQUIREMENTS = REPO_ROOT / "requirements" / "egregora-duckdb.txt"
STAMP = VENV / ".installed-stamp"
"""The same stamp the Makefile's ``egregora-duckdb`` target writes."""
PYTHON = VENV / "bin" / "python"

_SCRIPT = r"""
import json, sys
import duckdb
job = json.load(sys.stdin)
try:
    if job["create"]:
        conn = duckdb.connect(job["path"])
        for statement in job["statements"]:
            conn.execute(statement)
        conn.execute("CHECKPOINT")
        answers = []
    else:
        conn = duckdb.connect(job["path"], read_only=True)
        answers = [conn.execute(q).fetchall() for q in job["statements"]]
    conn.close()
except duckdb.Error as error:
    print(json.dumps({"version": duckdb.__version__, "error": str(error)}))
    sys.exit(0)
print(json.dumps({"version": duckdb.__version__, "answers": answers}, default=str))
"""


def ensure_venv() -> Path:
    """Build the 1.4.4 venv unless the Makefile (or an earlier test) already did; its python."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with (VENV.parent / "duckdb-1.4.4-venv.lock").open("w") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)  # pytest-xdist workers build it once
        if STAMP.exists() and STAMP.stat().st_mtime >= REQUIREMENTS.stat().st_mtime:
            return PYTHON
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [
                str(PYTHON),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
            timeout=600,
        )
        STAMP.touch()
    return PYTHON


def _run(path: Path, statements: list[str], *, create: bool) -> dict[str, Any]:
    done = subprocess.run(
        [str(ensure_venv()), "-I", "-c", _SCRIPT],
        input=json.dumps({"path": str(path), "statements": statements, "create": create}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    assert answer["version"] == "1.4.4", answer
    return answer


def read_with_egregora_duckdb(path: Path, *queries: str) -> list[list[Any]]:
    """Open ``path`` read-only with DuckDB 1.4.4 and answer ``queries``; fail with its refusal."""
    answer = _run(path, list(queries), create=False)
    assert "error" not in answer, f"DuckDB 1.4.4 cannot open {path}: {answer.get('error')}"
    return [[tuple(row) for row in rows] for rows in answer["answers"]]


def refusal_of_egregora_duckdb(path: Path) -> str | None:
    """DuckDB 1.4.4's error when opening ``path`` read-only, or None when it opens it."""
    answer = _run(path, ["SELECT 1"], create=False)
    return answer.get("error")


def create_with_egregora_duckdb(path: Path, statements: list[str]) -> None:
    """Create ``path`` with DuckDB 1.4.4 and run ``statements`` in it (as Egregora would)."""
    answer = _run(path, statements, create=True)
    assert "error" not in answer, answer
