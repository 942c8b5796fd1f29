"""Off a terminal, human tables never wrap or cut a value; on a terminal they fit the window.

The commands run as real processes. With stdout a pipe (what a CI log or a
script sees) and ``COLUMNS=80``, a long backup path, revision message or input
path must come out whole on one line; with stdout a pseudo-terminal of 80
columns, the same table is drawn to fit 80 columns, as before.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
from pathlib import Path

from egregora_pipeline.cli.exit_codes import ExitCode
from tests.conftest import BUNDLED_HEAD, CLI, REPO_ROOT, run_cli

NARROW = {"COLUMNS": "80", "LINES": "40"}


def _deep(tmp_path: Path) -> Path:
    folder = tmp_path.joinpath(*(f"a-rather-long-folder-name-number-{i}" for i in range(4)))
    folder.mkdir(parents=True)
    return folder / "egregora-warehouse-with-a-long-name.duckdb"


def _line_with(output: str, value: str) -> str:
    lines = [line for line in output.splitlines() if value in line]
    assert lines, f"{value!r} is not whole on any line of:\n{output}"
    return lines[0]


def test_backups_history_and_check_keep_every_value_whole_in_a_pipe(tmp_path: Path) -> None:
    warehouse = _deep(tmp_path)
    db = ("--database", str(warehouse))
    assert run_cli("db", "upgrade", *db, env=NARROW).returncode == ExitCode.OK
    backed = run_cli("db", "backup", *db, "--json", env=NARROW)
    path = str(json.loads(backed.stdout)["backup"]["path"])
    assert len(path) > 200

    listed = run_cli("db", "backups", *db, env=NARROW)
    history = run_cli("db", "history", *db, env=NARROW)
    checked = run_cli("db", "check", *db, env=NARROW)

    assert listed.returncode == ExitCode.OK, listed.stderr
    row = _line_with(listed.stdout, path)
    assert BUNDLED_HEAD in row, "one backup, one line: its revision beside its path"
    _line_with(history.stdout, "initial schema: documents, messages, ingest_rejections")
    _line_with(checked.stdout, str(warehouse))


def test_the_ingest_summary_keeps_a_long_input_path_whole_in_a_pipe(tmp_path: Path) -> None:
    warehouse = _deep(tmp_path)
    post = warehouse.parent / "a-post-whose-file-name-is-long-enough-to-overflow-a-column.md"
    post.write_text(
        "---\ntitle: Long\nslug: long\nstatus: published\ndate: 2024-01-02\n---\nbody\n"
    )

    done = run_cli("ingest", "--ephemeral", "--database", str(warehouse), str(post), env=NARROW)

    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    row = _line_with(done.stdout, str(post))
    assert "markdown" in row


def _on_a_terminal(*args: str) -> str:
    """Run the command with stdout (and stderr) a pseudo-terminal of 80 columns."""
    main, child = pty.openpty()
    env = {**os.environ, **NARROW, "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [str(CLI), *args], stdout=child, stderr=child, cwd=REPO_ROOT, env=env
    )
    os.close(child)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
        assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_the_table_still_fits_the_window(tmp_path: Path) -> None:
    warehouse = _deep(tmp_path)
    db = ("--database", str(warehouse))
    assert run_cli("db", "upgrade", *db).returncode == ExitCode.OK
    assert run_cli("db", "backup", *db).returncode == ExitCode.OK

    shown = _on_a_terminal("db", "backups", *db)

    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    # the table's own lines (the title above it is a soft-wrapped line, as it always was)
    table = [line for line in plain.splitlines() if line[:1] in "┏┃┡│└"]
    assert table, shown
    assert max(len(line.rstrip("\r")) for line in table) <= 80
    assert not any(warehouse.parent.name in line for line in table), "folded to fit, as before"
