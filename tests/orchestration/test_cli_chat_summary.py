"""What ``egregora-pipeline ingest`` says about a chat: shape, date order and why, and
the warnings a user must see (unreadable headers, a thread out of time order)."""

from __future__ import annotations

from pathlib import Path

from tests.orchestration.test_cli_ingest import _ingest

CHAT = """\
25/04/2020, 10:00 - Ana: a
26/04/2020, 25:00 - Ana: an hour that does not exist
26/04/2020, 10:00 - Ana: b
20/04/2020, 10:00 - Ana: back in time
27/04/2020, 10:0 - Ana: [/x] a header that cannot be read
"""


def test_the_summary_shows_shape_order_reason_and_warnings(tmp_path: Path) -> None:
    chat = tmp_path / "WhatsApp Chat with Trip.txt"
    chat.write_text(CHAT, encoding="utf-8")

    done = _ingest(tmp_path / "w.duckdb", chat)

    out = " ".join(done.stdout.split())  # Rich wraps long lines
    assert "android header like '31/12/2019, 23:59 - '" in out
    assert "date order DMY (only DMY reads every header" in out
    assert "1 line(s) start like a header but cannot be read" in out
    assert "not in time order: 1 message(s) go back in time (first at line 4)" in out
    assert "warning messages:threads_are_chronological" in out
    assert "hour '25' is not 0-23" in out
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, out  # record rejections and a WARN check do not fail the run
