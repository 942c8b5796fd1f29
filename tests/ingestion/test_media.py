"""Media files found in folders: checksum, MIME and media type, perceptual hash,
content-addressed copy, deduplicated by content."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb

from egregora_pipeline.ids import media_document_id
from egregora_pipeline.ingestion import ingest
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import png_bytes, rows


def test_media_folder_rows_and_store(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    image = png_bytes()
    (folder / "photo.png").write_bytes(image)
    (folder / "voice.opus").write_bytes(b"OggS fake audio")
    (folder / "paper.pdf").write_bytes(b"%PDF-1.4 fake")
    report = ingest(warehouse, [folder], settings=settings, run_id="r")
    assert report.ok
    assert report.documents_added == 3
    found = {d["filename"]: d for d in rows(warehouse, "SELECT * FROM documents")}
    sha = hashlib.sha256(image).hexdigest()
    photo = found["photo.png"]
    assert photo["id"] == media_document_id(sha)
    assert photo["source_checksum"] == sha
    assert (photo["mime_type"], photo["media_type"]) == ("image/png", "image")
    assert photo["phash"] is not None
    assert len(photo["phash"]) == 16
    assert (settings.media_store / sha[:2] / f"{sha}.png").read_bytes() == image
    assert (found["voice.opus"]["media_type"], found["voice.opus"]["phash"]) == ("audio", None)
    assert found["paper.pdf"]["media_type"] == "document"


def test_same_content_twice_is_one_row(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    for name in ("a/one.png", "b/two.png"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes())
    report = ingest(warehouse, [tmp_path / "a", tmp_path / "b"], settings=settings, run_id="r")
    assert (report.documents_added, report.documents_skipped) == (1, 1)
    assert rows(warehouse, "SELECT count(*) AS n FROM documents") == [{"n": 1}]


def test_undecodable_image_is_stored_without_phash_and_noted(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not a jpeg")
    report = ingest(warehouse, [path], settings=settings, run_id="r")
    (entry,) = report.inputs
    assert entry.documents_added == 1
    assert "could not be decoded" in entry.rejections[0].reason
    assert rows(warehouse, "SELECT phash FROM documents") == [{"phash": None}]


def test_a_run_sweeps_the_half_copies_that_killed_processes_left_in_the_store(
    tmp_path: Path,
) -> None:
    """Only this host's temporary files whose process is gone are removed."""
    from egregora_pipeline.ingestion.media import _temp_prefix, sweep_abandoned_copies
    from egregora_pipeline.processes import this_host

    store = tmp_path / "media"
    store.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host = this_host()
    abandoned = store / f".incoming-{host}-{dead.stdout.strip()}-abc"
    in_progress = store / f"{_temp_prefix()}def"  # this very process: still copying
    elsewhere = store / ".incoming-otherhost-1-ghi"  # another machine sharing the folder
    for path in (abandoned, in_progress, elsewhere):
        path.write_bytes(b"partial")

    removed = sweep_abandoned_copies(store)

    assert removed == [abandoned]
    assert sorted(p.name for p in store.iterdir()) == sorted([in_progress.name, elsewhere.name])
