"""``egregora-pipeline ingest`` killed with SIGKILL at random moments, then run again.

The folder holds several chats (two generated ones large enough to take a
while, the real demo export with photos), Markdown posts, profiles and a
journal, and loose media. Each warehouse is killed several times in a row, at
random moments inside the run's working window (after the warehouse file
appears), then ingested once more to completion. It must then equal a clean
single ingest of the same folder: the same rows in every table (ignoring only
run ids and ingestion times), no duplicate, no half chat, no rejection for an
input that was merely interrupted; and the media store must hold no partial
file under a final name (every stored file hashes to its own name).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO_ROOT

CLI = Path(sys.executable).with_name("egregora-pipeline")
KILLS_PER_WAREHOUSE = 4
KILLS = 20
WRITING_KILLS = 5
"""Kills that must land while a write is pending (a non-empty WAL)."""
MAX_WAREHOUSES = 12  # a warehouse whose run finishes before its kill takes no more kills
MAX_ATTEMPTS = KILLS_PER_WAREHOUSE
SEED = 20261130

CHATS = {"demo_chat.zip": "Teste", "Group One.zip": "Group One", "Group Two.zip": "Group Two"}
"""Chat file -> thread, for the chats whose media or rejections are checked with them."""
MESSAGE_THREAD = 3
"""Position of ``thread_id`` among the compared ``messages`` columns."""
VOLATILE = {
    "documents": {"created_at"},
    "messages": {"created_at", "created_by_run"},
    "ingest_rejections": {"run_id", "rejected_at"},
    "egregora_migrations": {"applied_at", "applied_by", "duration_ms", "note"},
}
"""Columns that record when and by which run a row was written, not what it holds."""


def _write_chat(path: Path, chat: int, count: int) -> None:
    moment = datetime(2023, 1, 1, 8, 0)
    lines = []
    for i in range(count):
        moment += timedelta(minutes=1)
        text = f"message {i} of chat {chat}"
        if chat == 2 and i % 5000 == 0:  # attachments the export lacks: rejections
            text = f"IMG-20230101-WA{i:04d}.jpg (file attached)"
        lines.append(f"{moment:%d/%m/%Y, %H:%M} - Person {i % 7}: {text}")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.with_suffix(".txt").name, "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("kill") / "inputs"
    shutil.copytree(REPO_ROOT / "examples", folder, ignore=shutil.ignore_patterns("*.py"))
    shutil.copy(fixtures_dir / "whatsapp" / "demo_chat.zip", folder / "demo_chat.zip")
    _write_chat(folder / "WhatsApp Chat with Group One.zip", 1, 40_000)
    _write_chat(folder / "WhatsApp Chat with Group Two.zip", 2, 25_000)
    loose = folder / "media" / "more"
    loose.mkdir()
    for i in range(6):
        (loose / f"clip-{i}.opus").write_bytes(random.Random(i).randbytes(400_000))
    return folder


def _ingest(inputs: Path, database: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(CLI), "ingest", "--ephemeral", str(inputs), "--database", str(database)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "EGREGORA_LOCK_TIMEOUT": "30"},
    )


def _ingest_to_completion(inputs: Path, database: Path) -> float:
    """Run once to the end (exit 0); returns seconds from the file appearing to the exit."""
    process = _ingest(inputs, database)
    appeared = _wait_for(database, process)
    assert process.wait(timeout=300) == 0
    return time.monotonic() - appeared


def _wait_for(database: Path, process: subprocess.Popen[bytes]) -> float:
    deadline = time.monotonic() + 120
    while not database.exists() and process.poll() is None:
        assert time.monotonic() < deadline, "the warehouse never appeared"
        time.sleep(0.005)
    return time.monotonic()


def _table(database: Path, table: str) -> list[tuple[object, ...]]:
    conn = duckdb.connect(str(database), read_only=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                "ORDER BY column_index",
                [table],
            ).fetchall()
            if r[0] not in VOLATILE[table]
        ]
        columns = ", ".join(f'"{n}"::VARCHAR' for n in names)  # lists become hashable text
        return conn.execute(f'SELECT {columns} FROM "{table}" ORDER BY ALL').fetchall()
    finally:
        conn.close()


def _contents(database: Path) -> dict[str, list[tuple[object, ...]]]:
    return {table: _table(database, table) for table in VOLATILE}


def _partial_inputs(database: Path, expected: dict[str, list[tuple[object, ...]]]) -> list[str]:
    """What a killed run left that is not all-or-nothing per input.

    Every chat (thread) has all of its messages or none; every document and
    rejection present is one the clean ingest has, with the same values.
    """
    if not database.exists():
        return []
    found = _contents(database) if _has_tables(database) else {t: [] for t in VOLATILE}
    problems: list[str] = []
    for table in ("documents", "ingest_rejections"):
        extra = set(found[table]) - set(expected[table])
        problems += [f"{table} row not in a clean ingest: {row!r:.200}" for row in extra]
    problems += [
        f"message not in a clean ingest: {row!r:.200}"
        for row in set(found["messages"]) - set(expected["messages"])
    ]
    whole = _per_thread(expected["messages"])
    present = _per_thread(found["messages"])
    for thread, count in present.items():
        if count != whole.get(thread):
            problems.append(f"half a chat: {count} of {whole.get(thread)} messages of {thread}")
    for chat, thread in CHATS.items():  # a chat's media and rejections land with its messages
        for table in ("documents", "ingest_rejections"):
            mine = {row for row in expected[table] if chat in str(row)}
            have = mine & set(found[table])
            if have and (thread not in present or have != mine):
                problems.append(f"{table} of {chat} without the whole chat")
            if thread in present and have != mine:
                problems.append(f"{chat}'s messages without all of its {table}")
    return problems


def _has_tables(database: Path) -> bool:
    conn = duckdb.connect(str(database), read_only=True)
    try:
        names = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        conn.close()
    return set(VOLATILE) <= names


def _per_thread(rows: list[tuple[object, ...]]) -> dict[object, int]:
    counts: dict[object, int] = {}
    for row in rows:
        thread = row[MESSAGE_THREAD]
        counts[thread] = counts.get(thread, 0) + 1
    return counts


def _half_written(store: Path) -> list[str]:
    """Files under a final name whose bytes do not hash to that name."""
    bad = []
    for path in store.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if path.name.split(".")[0] != digest or path.parent.name != digest[:2]:
            bad.append(str(path))
    return bad


def _wal_size(database: Path) -> int:
    try:
        return database.with_name(database.name + ".wal").stat().st_size
    except FileNotFoundError:
        return 0


def _kill_repeatedly(
    inputs: Path,
    database: Path,
    window: float,
    rng: random.Random,
    expected: dict[str, list[tuple[object, ...]]],
) -> tuple[int, int]:
    """Kill runs on ``database`` until ``KILLS_PER_WAREHOUSE`` or one finishes on its own.

    Alternate two kinds of moment: a random time in the run's working window,
    and the moment the WAL (an uncommitted or uncheckpointed write) grows past a
    random size. Returns (kills, kills that hit a pending write).
    """
    kills = during_writes = 0
    for attempt in range(MAX_ATTEMPTS):
        process = _ingest(inputs, database)
        try:
            appeared = _wait_for(database, process)
            if attempt % 2:
                threshold = rng.randint(1, 12_000_000)
                deadline = appeared + window
                while process.poll() is None and time.monotonic() < deadline:
                    if _wal_size(database) >= threshold:
                        break
                    time.sleep(0.002)
            else:
                time.sleep(max(0.0, appeared + rng.uniform(0, window) - time.monotonic()))
            writing = _wal_size(database) > 0
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        finally:
            returncode = process.wait(timeout=120)
        if returncode != -signal.SIGKILL:
            assert returncode == 0
            break  # it finished: nothing left to interrupt on this warehouse
        kills += 1
        during_writes += writing
        assert _partial_inputs(database, expected) == [], f"after kill {kills}"
        if kills == KILLS_PER_WAREHOUSE:
            break
    return kills, during_writes


def test_sigkilled_ingests_then_one_more_run_equal_a_clean_ingest(
    inputs: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference" / "egregora.duckdb"
    window = _ingest_to_completion(inputs, reference)
    expected = _contents(reference)
    assert len(expected["messages"]) > 65_000
    assert expected["documents"]
    threads = _per_thread(expected["messages"])
    assert threads["Group One"] == 40_000
    assert set(CHATS.values()) <= set(threads), threads
    assert any("demo_chat.zip" in str(row) for row in expected["documents"])
    assert any("Group Two.zip" in str(row) for row in expected["ingest_rejections"])

    def trial(number: int) -> tuple[int, int]:
        database = tmp_path / f"trial-{number}" / "egregora.duckdb"
        kills, during_writes = _kill_repeatedly(
            inputs, database, window, random.Random(SEED + number), expected
        )
        _ingest_to_completion(inputs, database)
        assert _half_written(database.parent / "media") == []
        contents = _contents(database)
        for table, rows in expected.items():
            assert contents[table] == rows, f"{table} differs after {kills} kill(s)"
        return kills, during_writes

    results: list[tuple[int, int]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Kill moments are random; keep adding warehouses (up to a cap) until enough
        # kills, and enough of them during a pending write, have happened.
        while len(results) < MAX_WAREHOUSES and (
            sum(kills for kills, _ in results) < KILLS
            or sum(writing for _, writing in results) < WRITING_KILLS
        ):
            batch = range(len(results), len(results) + 2)
            results.extend(pool.map(trial, batch))

    assert sum(kills for kills, _ in results) >= KILLS, results
    assert sum(writing for _, writing in results) >= WRITING_KILLS, results
