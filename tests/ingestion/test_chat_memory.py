"""A chat's memory does not grow with the lines it rejects (issue 12, *memory without bounds*).

A chat can reject a line per message: attachments missing from the export, lines
that start like a header but cannot be read. Each used to become a Python
object held until the whole chat was loaded (a 6M-message benchmark chat held
180,000). Now they are written to ``ingest_rejections`` in pages and batches, and
the report keeps their count and the first
:data:`~egregora_pipeline.ingestion.rejection_log.SAMPLE_SIZE`.

The memory test runs the ingest in a child process (``hostile_child.py``) with
DuckDB's ``memory_limit`` at 128MB, so DuckDB spills and what grows is the memory
outside it; its peak RSS is compared with the same child ingesting a one-message
chat. 300,000 rejected lines cost about 700 MB more than that before this
change and about 190 MB after; the ceiling sits between.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb

from egregora_pipeline.backends.duckdb.rejections import insert_rejections
from egregora_pipeline.backends.sink_sql import insert_new_messages
from egregora_pipeline.ingestion.rejection_log import SAMPLE_SIZE, RejectionLog
from egregora_pipeline.ingestion.report import Rejection
from egregora_pipeline.ingestion.whatsapp.messages import load_chat
from tests.ingestion.test_hostile_inputs import run_ingest

PAIRS = 150_000
"""Messages naming a missing attachment, each followed by an unreadable header line."""

CEILING_MB = 400
"""Peak RSS allowed above the one-message baseline (measured: ~190 now, ~700 before)."""


def write_chat(path: Path, pairs: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write("01/02/2020, 10:00 - Ana: hello\n")
        for n in range(pairs):
            out.write(f"01/02/2020, 10:01 - Ana: IMG-2020-{n:07d}.jpg (file attached)\n")
            out.write(f"01/02/2020, 10:000 - Bob: broken {n}\n")
    return path


def test_rejected_lines_do_not_grow_the_memory_outside_duckdb(tmp_path: Path) -> None:
    small = write_chat(tmp_path / "small" / "WhatsApp Chat with Small.txt", 0)
    big = write_chat(tmp_path / "big" / "WhatsApp Chat with Big.txt", PAIRS)
    options = {"duckdb_memory_limit": "128MB", "list_rejections": False}
    baseline = run_ingest(tmp_path / "a", small, options=options, timeout=300)
    result = run_ingest(tmp_path / "b", big, options=options, cpu_seconds=240, timeout=600)

    assert result["messages"] == 1 + PAIRS
    assert result["rejection_rows"] == 2 * PAIRS
    (chat,) = result["inputs"]
    assert chat["rejected"] == 2 * PAIRS  # the count is whole...
    assert len(chat["rejections"]) == SAMPLE_SIZE  # ...the examples are capped
    first = chat["rejections"][0]
    assert first["line"] == 3
    assert first["reason"].startswith("starts like a message header but cannot be read")
    growth = result["peak_rss_mb"] - baseline["peak_rss_mb"]
    assert growth < CEILING_MB, (
        f"{2 * PAIRS:,} rejected lines raised the peak RSS by {growth:.0f} MB "
        f"(baseline {baseline['peak_rss_mb']:.0f} MB, ceiling +{CEILING_MB} MB)"
    )


CHAT = (
    "lines before any header\n"
    "01/02/2020, 10:00 - Ana: hello\n"
    "01/02/2020, 10:000 - Bob: broken\nits continuation\n"
    "01/02/2020, 10:01 - Ana: IMG-1.jpg (file attached)\n"
    "31/02/2020, 10:02 - Ana: a day that does not exist\n"
    "01/02/2020, 10:03 - Ana: IMG-2.jpg (file attached)\n"
    "01/02/2020, 10:03 - Ana: IMG-1.jpg (file attached)\n"
    "01/02/2020, 10:099 - Bob: broken again\n"
)


def _rows(conn: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT rejection_id, source_path, line_number, column_number, reason, raw "
        "FROM ingest_rejections ORDER BY line_number NULLS FIRST, reason"
    ).fetchall()


def _load(conn: duckdb.DuckDBPyConnection, path: Path, **kwargs: object) -> None:
    with path.open("rb") as stream:
        load_chat(
            conn,
            stream,
            source_path=str(path),
            thread_id="t",
            tenant_id="default",
            timezone="UTC",
            namespace=uuid.UUID(int=1),
            run_id="r",
            write=insert_new_messages,
            resolve_attachments=lambda names: (
                {"IMG-2.jpg": "key-2"} if "IMG-2.jpg" in names else {}
            ),
            **kwargs,  # type: ignore[arg-type]
        )


def test_rejections_written_in_batches_are_the_rows_of_one_bulk_insert(
    tmp_path: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    chat = tmp_path / "WhatsApp Chat with Ana.txt"
    chat.write_text(CHAT, encoding="utf-8")
    collected: list[Rejection] = []
    _load(warehouse, chat, rejections=collected)
    warehouse.execute("DELETE FROM messages")
    insert_rejections(warehouse, collected, run_id="r", input_kind="whatsapp")
    whole = _rows(warehouse)
    warehouse.execute("DELETE FROM messages")
    warehouse.execute("DELETE FROM ingest_rejections")

    log = RejectionLog(
        lambda batch: insert_rejections(warehouse, batch, run_id="r", input_kind="whatsapp"),
        batch_rows=2,
        sample_size=3,
    )
    _load(warehouse, chat, rejections=log)
    log.flush()

    assert _rows(warehouse) == whole
    assert [r[2] for r in whole] == [1, 3, 5, 6, 8, 9]  # orphan, headers, attachment, date...
    assert log.count == len(collected) == 6
    assert log.sample == collected[:3]
