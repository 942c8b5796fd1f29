"""Two ingest processes writing into one PostgreSQL warehouse at once.

On DuckDB one process writes at a time; on PostgreSQL runs may overlap. Two real
subprocesses ingest overlapping inputs (the same chats, Markdown and media, in a
different order) into one database, released together by a start file. Whatever
the interleaving, no key may be stored twice and the warehouse must end as one
ingest of the same inputs leaves it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from egregora_pipeline.backends.postgres.sink import PostgresSink
from egregora_pipeline.backends.postgres.sink_errors import IngestLockTimeoutError
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.ingestion.whatsapp.messages import chat_parse
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
    postgres_table,
    with_declared_tables,
)
from tests.postgres.server import PostgresServer

__all__ = ["pg_target", "postgres_database", "postgres_server"]

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"messages": "event_id", "documents": "id", "ingest_rejections": "rejection_id"}
FIRST_WRITER_COLUMNS = frozenset({"run_id", "created_by_run", "msg_id"})
"""Which of two concurrent runs stores a row first is up to the scheduler, and these
columns say who did: the run, and ``msg_id`` (the ordinal in the export a message was
*first* ingested from, here one of two overlapping exports of the same chat)."""
TIMEOUT_SECONDS = 240

_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from egregora_pipeline.ingestion.targets import ingest_paths
    from egregora_pipeline.settings import Settings
    go = Path(sys.argv[1])
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("never released")
        time.sleep(0.01)
    report = ingest_paths(
        [Path(p) for p in sys.argv[3:]],
        warehouse=os.environ["EGREGORA_TEST_WAREHOUSE"],
        settings=Settings(media_dir=Path(sys.argv[2]), timezone="UTC"),
        run_id=f"run-{os.getpid()}",
    )
    print(json.dumps([report.messages_added, report.documents_added, report.ok]))
    """
)


def _chat(path: Path, count: int, offset: int = 0) -> Path:
    """A loose Android export of ``count`` distinct messages, one a minute from ``offset``."""
    lines = []
    for n in range(offset, offset + count):
        day, minute = divmod(n, 24 * 60)
        hour, minute = divmod(minute, 60)
        lines.append(f"{1 + day % 28:02d}/01/2020, {hour:02d}:{minute:02d} - P{n % 7}: message {n}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _post(path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\ndate: 2024-01-01\n---\nbody of {title}\n")
    return path


@pytest.fixture
def reference(postgres_server: PostgresServer) -> Iterator[PostgresTarget]:
    """A second fresh database for the single-ingest reference."""
    name = f"egregora_ref_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_declared_tables(postgres_server.url(name))
    finally:
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_two_concurrent_ingests_of_overlapping_inputs_store_each_key_once(
    pg_target: PostgresTarget,
    reference: PostgresTarget,
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # both runs start with the same chats in the same order, so each chat's write races
    # (the same work before it keeps the two processes in step); then they diverge
    shared = [_chat(inbox / f"WhatsApp Chat with Shared {n}.txt", 3_000) for n in range(4)]
    # the first chat exported again later: half of it overlaps the first export
    later = _chat(tmp_path / "WhatsApp Chat with Shared 0.txt", 3_000, offset=1_500)
    posts = [_post(inbox / "posts" / f"post-{n}.md", f"Post {n}") for n in range(30)]
    broken = inbox / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n")
    examples, demo = ROOT / "examples", ROOT / "tests" / "fixtures" / "whatsapp" / "demo_chat.zip"
    first_inputs = [*shared, examples, inbox / "posts", broken, demo]
    second_inputs = [*shared, later, demo, broken, *reversed(posts), examples]
    go = tmp_path / "go"
    database = postgres_server.url(pg_target.params["dbname"])
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(go), str(tmp_path / "media"), *map(str, inputs)],
            cwd=ROOT,
            env={**os.environ, "EGREGORA_TEST_WAREHOUSE": database},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for inputs in (first_inputs, second_inputs)
    ]
    go.touch()
    outcomes = []
    for child in children:
        try:
            out, err = child.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            for other in children:
                other.kill()
            raise
        assert child.returncode == 0, err
        outcomes.append(out.strip().splitlines()[-1])

    single = ingest_postgres(
        reference,
        sorted({*first_inputs, *second_inputs}),
        settings=Settings(media_dir=tmp_path / "reference-media", timezone="UTC"),
        run_id="reference",
    )
    assert single.messages_added > 4 * 3_000
    added = [json.loads(outcome) for outcome in outcomes]
    assert sum(a[0] for a in added) == single.messages_added
    assert sum(a[1] for a in added) == single.documents_added

    with pg_target.connect() as pg:
        for table, key in KEYS.items():
            twice = pg.execute(
                sql.SQL(
                    "SELECT {key}, count(*) FROM {table} GROUP BY 1 HAVING count(*) > 1"
                ).format(key=sql.Identifier(key), table=sql.Identifier(table))
            ).fetchall()
            assert twice == [], table
    for table in KEYS:
        assert postgres_table(pg_target, table, leave_out=FIRST_WRITER_COLUMNS) == postgres_table(
            reference, table, leave_out=FIRST_WRITER_COLUMNS
        ), table


RUN_B = "egregora-test-run-b"
"""The child's ``application_name`` (libpq reads ``PGAPPNAME``), to find it in pg_locks."""


def _waiting_on_advisory_lock(target: PostgresTarget, application: str) -> bool:
    with target.connect() as pg:
        found = pg.execute(
            "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND l.locktype = 'advisory' AND a.application_name = %s",
            (application,),
        ).fetchone()
    return found is not None


def test_a_run_waits_for_the_keys_another_run_is_writing_then_skips_them(
    pg_target: PostgresTarget, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Deterministic: run A holds its chat's write open; run B (a subprocess) must wait
    on the table's advisory lock, then see A's committed rows and add nothing."""
    chat = _chat(tmp_path / "WhatsApp Chat with Race.txt", 500)
    settings = Settings(media_dir=tmp_path / "media", timezone="UTC")
    url = postgres_server.url(pg_target.params["dbname"])
    with PostgresSink.open(pg_target) as sink, sink.transaction():
        with chat.open("rb") as stream:
            loaded = sink.load_chat(
                chat_parse(
                    stream,
                    source_path=str(chat),
                    thread_id="Race",
                    tenant_id=settings.tenant_id,
                    timezone="UTC",
                    namespace=settings.author_namespace,
                    run_id="run-a",
                )
            )
        assert loaded.added == 500
        go = tmp_path / "go"
        go.touch()
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(go), str(tmp_path / "media"), str(chat)],
            cwd=ROOT,
            env={
                **os.environ,
                "EGREGORA_TEST_WAREHOUSE": url,
                "PGAPPNAME": RUN_B,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + TIMEOUT_SECONDS
            while not _waiting_on_advisory_lock(pg_target, RUN_B) and child.poll() is None:
                assert time.monotonic() < deadline, "run B never waited for run A's lock"
                time.sleep(0.05)
            assert child.poll() is None, child.communicate()
        except BaseException:
            child.kill()
            raise
    out, err = child.communicate(timeout=TIMEOUT_SECONDS)
    assert child.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])[0] == 0  # B added no message
    with pg_target.connect() as pg:
        assert pg.execute("SELECT count(*), count(DISTINCT event_id) FROM messages").fetchone() == (
            500,
            500,
        )


def test_a_run_waits_a_bounded_time_then_stops_naming_the_run_that_holds_the_table(
    pg_target: PostgresTarget, tmp_path: Path
) -> None:
    first = _chat(tmp_path / "WhatsApp Chat with Held.txt", 50)
    later = _chat(tmp_path / "WhatsApp Chat with Waiting.txt", 50, offset=50)
    settings = Settings(media_dir=tmp_path / "media", timezone="UTC", lock_timeout_seconds=0.3)
    with PostgresSink.open(pg_target) as holder, holder.transaction():
        with first.open("rb") as stream:
            holder.load_chat(
                chat_parse(
                    stream,
                    source_path=str(first),
                    thread_id="Held",
                    tenant_id=settings.tenant_id,
                    timezone="UTC",
                    namespace=settings.author_namespace,
                    run_id="holder",
                )
            )
        holder_pid = holder._pg.info.backend_pid
        with pytest.raises(IngestLockTimeoutError) as stopped:
            ingest_postgres(pg_target, [later, first], settings=settings, run_id="waiter")
    message = str(stopped.value)
    assert message.startswith(
        f"warehouse {pg_target.display}: another ingest kept writing 'messages' for 0.3s "
        f"(server process {holder_pid} of user postgres"
    )
    assert "raise EGREGORA_LOCK_TIMEOUT" in message
    assert "pw:" not in message  # never the password
    assert postgres_table(pg_target, "ingest_rejections") == []  # no input was blamed
    threads = {m["thread_id"] for m in postgres_table(pg_target, "messages")}
    assert threads == {"Held"}  # the holder committed; the stopped run wrote nothing
