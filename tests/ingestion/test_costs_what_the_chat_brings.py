"""An ingest reads what its chat can touch, not the whole warehouse (issue 19).

The loader looks for a chat's stored messages in the chat's own thread only: an
``event_id`` hashes the tenant and the thread, so a stored copy is in that thread.
A copy someone moved to another thread by hand is no longer found there: it is
loaded again, and the run's own uniqueness check names it (ERROR), so the move is
reported, never silently absorbed. The run-scoped uniqueness probe streams every
stored key, and on DuckDB it may cache no more than the run's keys need.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from egregora_pipeline.backends.duckdb.checks import DuckDBChecks
from egregora_pipeline.ingestion import ingest
from egregora_pipeline.quality import UNIQUE_EVENT_ID_CHECK, data_checks, run_scope
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import ChatRun

CHAT = (
    "01/02/2024, 10:00 - Ana: good morning\n"
    "01/02/2024, 10:01 - Bruno: morning!\n"
    "01/02/2024, 10:02 - Ana: meeting at noon\n"
)


def _limit(conn: duckdb.DuckDBPyConnection) -> str:
    row = conn.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def test_a_second_export_of_the_same_chat_adds_nothing(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    first = ingest_chat(CHAT)
    again = ingest_chat(CHAT + "01/02/2024, 10:03 - Bruno: see you\n")

    assert first.report.messages_added == 3
    assert again.report.messages_added == 1
    assert len(again.messages) == 4


def test_a_copy_moved_to_another_thread_by_hand_is_loaded_and_the_run_check_names_it(
    ingest_chat: Callable[..., ChatRun],
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ingest_chat(CHAT)
    warehouse.execute("UPDATE messages SET thread_id = 'renamed by hand'")
    path = tmp_path / "chats" / "WhatsApp Chat with Test.txt"

    report = ingest(warehouse, [path], settings=settings, run_id="second-run")

    assert report.messages_added == 3
    [verdict] = data_checks(
        warehouse, run_scope("second-run", []), frozenset({UNIQUE_EVENT_ID_CHECK})
    )
    assert verdict.finding.offending_rows == 3
    assert {row["copies"] for row in verdict.finding.sample} == {2}


def test_the_probe_budget_lowers_duckdbs_cache_for_the_block_and_puts_it_back(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    before = _limit(warehouse)

    with DuckDBChecks().probe_budget(warehouse, 32 * 2**20):
        during = _limit(warehouse)

    assert during == "32.0 MiB"
    assert _limit(warehouse) == before


def test_the_probe_budget_never_raises_a_lower_limit(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    warehouse.execute("SET memory_limit = '16MB'")
    before = _limit(warehouse)

    with DuckDBChecks().probe_budget(warehouse, 10**9):
        assert _limit(warehouse) == before

    assert _limit(warehouse) == before


def test_the_limit_comes_back_when_the_probe_fails(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    before = _limit(warehouse)

    try:
        with DuckDBChecks().probe_budget(warehouse, 32 * 2**20):
            warehouse.execute("SELECT * FROM no_such_table")
    except duckdb.CatalogException:
        pass

    assert _limit(warehouse) == before
