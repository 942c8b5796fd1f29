"""A file rewritten in place while it is read is refused, never loaded as a mix of its old
and new content (issue 22, item 8). The rewrite happens at a known moment -- from the
progress callback the library calls while it reads -- or, for Markdown, from a real
concurrent writer process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.markdown import parse_markdown
from egregora_pipeline.ingestion.report import ProgressEvent
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import make_zip, messages, png_bytes

OLD = "".join(f"31/12/2019, 23:{m:02d} - Ana: old {m}\n" for m in range(50))
NEW = "".join(f"01/01/2020, 00:{m:02d} - Bob: new {m}\n" for m in range(50))
A_DAY_AGO = 86_400


def _aged(path: Path) -> Path:
    """Set the file's mtime a day back, so a rewrite now always changes it."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - A_DAY_AGO * 10**9))
    return path


def _rewrite_on_first(kind: str, path: Path, content: bytes):  # type: ignore[no-untyped-def]
    done: list[bool] = []

    def progress(event: ProgressEvent) -> None:
        if event.kind == kind and not done:
            done.append(True)
            with path.open("r+b") as handle:  # in place: same inode, as an editor saving
                handle.write(content)
                handle.truncate()

    return progress


def test_a_chat_rewritten_in_place_while_read_is_refused_then_loads_when_still(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    chat = tmp_path / "WhatsApp Chat with Ana.txt"
    for new in (NEW, NEW[: len(OLD)]):  # a different size, then the very same size
        chat.write_text(OLD, encoding="utf-8")
        _aged(chat)
        report = ingest(
            warehouse,
            [chat],
            settings=settings,
            run_id="t",
            progress=_rewrite_on_first("whatsapp", chat, new.encode()),
        )
        error = report.inputs[0].error
        assert error is not None
        assert "changed while it was read" in error
        assert messages(warehouse) == []  # neither old, new nor a mix
        (reason,) = warehouse.execute(
            "SELECT reason FROM ingest_rejections WHERE reason LIKE '%changed while%'"
        ).fetchone() or ("",)
        assert "ingest it again" in reason
    report = ingest(warehouse, [chat], settings=settings, run_id="t2")
    assert report.inputs[0].error is None
    assert messages(warehouse)[0]["text"] == "new 0"


def test_a_zip_rewritten_while_its_members_are_read_is_refused(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    chat = OLD + "31/12/2019, 23:59 - Ana: IMG-1.png (file attached)\n"
    archive = _aged(make_zip(tmp_path / "Ana.zip", {"_chat.txt": chat, "IMG-1.png": png_bytes()}))
    grown = archive.read_bytes() + b"\0" * 10
    report = ingest(
        warehouse,
        [archive],
        settings=settings,
        run_id="t",
        progress=_rewrite_on_first("media", archive, grown),
    )
    assert "changed while it was read" in (report.inputs[0].error or "")
    assert messages(warehouse) == []


WRITER = textwrap.dedent(
    """
    import os, sys, time
    path = sys.argv[1]
    a, b = (open(name, "rb").read() for name in sys.argv[2:4])
    open(path + ".ready", "w").close()
    end = time.monotonic() + float(sys.argv[4])
    while time.monotonic() < end:
        for content in (a, b):
            fd = os.open(path, os.O_WRONLY)
            os.ftruncate(fd, 0)
            os.write(fd, content)
            os.close(fd)
    """
)


def test_markdown_rewritten_by_a_concurrent_writer_is_refused_when_caught_changing(
    tmp_path: Path,
) -> None:
    """A real writer process rewrites the post in place as fast as it can; reads that
    overlap a rewrite are refused as changed (never stored), the others read one version."""
    bodies = {title: title * 4_000_000 for title in ("A", "BB")}  # big: each read takes time
    versions = {
        title: f"---\ntitle: {title}\ndate: 2024-01-31\n---\n{body}\n"
        for title, body in bodies.items()
    }
    post = tmp_path / "posts" / "p.md"
    post.parent.mkdir()
    post.write_text(versions["A"], encoding="utf-8")
    sources = []
    for title, text in versions.items():
        source = tmp_path / f"{title}.version"
        source.write_text(text, encoding="utf-8")
        sources.append(str(source))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(post), *sources, "60"])
    ready = Path(f"{post}.ready")
    deadline = time.monotonic() + 60
    refused = 0
    try:
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        while not refused and time.monotonic() < deadline:
            result = parse_markdown(post)
            if result.record is None:
                reasons = [r.reason for r in result.rejections]
                refused += any("the file changed while it was read" in r for r in reasons)
    finally:
        writer.kill()
        writer.wait()
    assert refused, "no read overlapped a rewrite within a minute"
