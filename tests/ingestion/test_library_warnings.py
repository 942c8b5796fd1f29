"""Library warnings raised while an input is read (Pillow on a JPEG whose EXIF block is
damaged) go to the log naming the file, never into the CLI's summary (issue 22)."""

from __future__ import annotations

import io
import logging
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.settings import Settings


def _jpeg_with_broken_exif(path: Path) -> Path:
    """A real JPEG whose EXIF entry (ImageDescription) points past the end of its data."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "JPEG")
    jpeg = buf.getvalue()
    tiff = (
        b"II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<H", 1)
        + struct.pack("<HHII", 0x010E, 2, 100, 4000)
        + struct.pack("<I", 0)
    )
    app1 = b"Exif\x00\x00" + tiff
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:])
    return path


def test_the_warning_is_logged_naming_the_file(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    image = _jpeg_with_broken_exif(tmp_path / "in" / "photo.jpg")
    with caplog.at_level(logging.WARNING, logger="egregora_pipeline.ingestion.media"):
        report = ingest(warehouse, [image], settings=settings, run_id="t")
    assert report.documents_added == 1
    assert report.rejected == 0  # the pixels are fine: the photo is stored with its pHash
    (phash,) = warehouse.execute("SELECT phash FROM documents").fetchone()  # type: ignore[misc]
    assert phash is not None
    logged = [r.getMessage() for r in caplog.records]
    assert any("photo.jpg" in m and "UserWarning" in m for m in logged), logged


def test_the_cli_summary_stays_clean(tmp_path: Path) -> None:
    image = _jpeg_with_broken_exif(tmp_path / "in" / "photo.jpg")
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("egregora-pipeline")),
            "ingest",
            "--ephemeral",
            "-d",
            str(tmp_path / "w.duckdb"),
            str(image),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Tag data" not in done.stdout
    assert "Warning" not in done.stdout
    assert "warnings.warn" not in done.stderr  # no raw Python warning with its source line
    assert "photo.jpg: " in done.stderr  # the log line, naming the file
