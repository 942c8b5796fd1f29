"""A time zone Python's zoneinfo opens but DuckDB does not know is refused before any input
is read -- exit 2 from the command, no run, nothing blamed on the inputs (issue 22, item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.errors import InvalidSettingError
from egregora_pipeline.settings import Settings

CLI = str(Path(sys.executable).parent / "egregora-pipeline")
CHAT = "31/12/2019, 23:58 - Ana: hello\n31/12/2019, 23:59 - Bruno: hi Ana\n"


def _python_only_zones() -> list[str]:
    """Zone files the system's tz database has (so Python opens them) that are no IANA
    zone names: DuckDB refuses each of them."""
    zones = []
    for name in ("posixrules", "right/UTC", "posix/Europe/Lisbon", "localtime"):
        try:
            ZoneInfo(name)
        except (OSError, ValueError):  # absent from this machine's tz database
            continue
        zones.append(name)
    assert zones, "the tz database holds none of the Python-only zone files"
    return zones


def _cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER"))}
    return subprocess.run(
        [CLI, "ingest", "--ephemeral", "--database", str(tmp_path / "w.duckdb"), *args],
        capture_output=True,
        text=True,
        env={**base, "COLUMNS": "250", **env},
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


def test_the_command_refuses_a_zone_duckdb_does_not_know_with_exit_2_and_no_run(
    tmp_path: Path,
) -> None:
    chat = tmp_path / "WhatsApp Chat with Ana.txt"
    chat.write_text(CHAT, encoding="utf-8")
    zones = _python_only_zones()
    for zone in zones[:2]:
        done = _cli(tmp_path, {"EGREGORA_TIMEZONE": zone}, str(chat))
        assert done.returncode == 2, done.stdout + done.stderr
        assert "DuckDB" in done.stderr
        assert repr(zone) in done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "w.duckdb").exists()  # no run, no warehouse, no rejections
    done = _cli(tmp_path, {}, "--timezone", zones[0], str(chat))
    assert done.returncode == 2
    done = _cli(tmp_path, {"EGREGORA_TIMEZONE": "Etc/UTC"}, str(chat))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("zone", [*_python_only_zones(), "Mars/Olympus_Mons", "../etc/passwd"])
def test_the_library_refuses_it_before_reading_any_input(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, zone: str
) -> None:
    chat = tmp_path / "WhatsApp Chat with Ana.txt"
    chat.write_text(CHAT, encoding="utf-8")
    settings = Settings(database=tmp_path / "w.duckdb", timezone=zone)
    with pytest.raises(InvalidSettingError, match="EGREGORA_TIMEZONE"):
        ingest(warehouse, [chat], settings=settings, run_id="t")
    assert warehouse.execute("SELECT count(*) FROM ingest_rejections").fetchone() == (0,)
    assert warehouse.execute("SELECT count(*) FROM messages").fetchone() == (0,)
