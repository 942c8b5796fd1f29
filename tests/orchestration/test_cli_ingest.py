"""``egregora-pipeline ingest`` as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

CLI = str(Path(sys.executable).parent / "egregora-pipeline")


def _ingest(
    database: Path, *paths: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}
    env.update(extra_env or {})
    return subprocess.run(
        [CLI, "ingest", "--database", str(database), *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        cwd=paths[0].parent if paths else None,
        timeout=300,
    )


def test_ingest_prints_a_per_input_summary_and_exits_zero(inputs_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "nested" / "w.duckdb"
    done = _ingest(database, inputs_dir)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "inputs/WhatsApp Chat with Meetup.txt" in done.stdout  # relative to the cwd
    assert "inputs/posts/the-meetup.md" in done.stdout
    assert "passed" in done.stdout
    assert "FAILED" not in done.stdout
    assert "Traceback" not in done.stderr
    assert database.exists()


def test_a_rejected_file_is_named_kept_and_the_others_still_ingest(
    inputs_dir: Path, tmp_path: Path
) -> None:
    (inputs_dir / "posts" / "broken.md").write_text(
        "---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8"
    )
    database = tmp_path / "w.duckdb"

    done = _ingest(database, inputs_dir)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "broken.md" in done.stdout
    with duckdb.connect(str(database), read_only=True) as conn:
        rejected = conn.execute("SELECT source_path, reason FROM ingest_rejections").fetchall()
        documents = conn.execute("SELECT slug FROM documents").fetchall()
        messages = conn.execute("SELECT count(*) FROM messages").fetchone()
    assert any(path.endswith("broken.md") for path, _ in rejected)
    assert documents == [("the-meetup",)]
    assert messages == (4,)


def test_a_missing_path_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    done = _ingest(tmp_path / "w.duckdb", tmp_path / "does-not-exist")

    assert done.returncode == 2
    assert "does-not-exist" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_a_drifted_warehouse_fails_the_command_with_the_column_named(
    inputs_dir: Path, tmp_path: Path
) -> None:
    database = tmp_path / "w.duckdb"
    assert _ingest(database, inputs_dir / "posts").returncode == 0
    with duckdb.connect(str(database)) as conn:
        conn.execute('ALTER TABLE documents ALTER COLUMN "slug" TYPE INTEGER USING NULL')

    done = _ingest(database, inputs_dir)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "slug" in done.stdout
    assert "documents_columns_match_declared" in done.stdout


def test_two_ingest_runs_started_together_both_succeed_without_duplicates(
    inputs_dir: Path, tmp_path: Path
) -> None:
    database = tmp_path / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}
    command = [CLI, "ingest", "--database", str(database), str(inputs_dir)]
    runs = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    with duckdb.connect(str(database), read_only=True) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM messages"
        ).fetchone()  # type: ignore[misc]
        documents = conn.execute("SELECT count(*) FROM documents").fetchone()
    assert (total, distinct) == (4, 4)
    assert documents == (1,)


def test_a_failed_step_prints_the_reason_not_dagsters_wrapper(
    inputs_dir: Path, tmp_path: Path
) -> None:
    database = tmp_path / "a-folder"
    database.mkdir()

    done = _ingest(database, inputs_dir)

    assert done.returncode == 3, done.stdout + done.stderr
    assert "step migrate_schema failed: warehouse" in done.stdout
    assert "is a directory, not a DuckDB file" in done.stdout
    assert "DagsterExecutionStepExecutionError" not in done.stdout + done.stderr
