"""Fixtures for the ingestion tests: a real warehouse file with the declared tables,
settings pointing at a temporary media store, and helpers that write real chat
files and archives to disk and ingest them."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from egregora_pipeline.ingestion import IngestReport, ingest
from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
from egregora_pipeline.settings import Settings


@pytest.fixture
def warehouse(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB file on disk holding every declared table (empty)."""
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(warehouse_path))
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    yield conn
    conn.close()


@pytest.fixture
def settings(warehouse_path: Path) -> Settings:
    return Settings(database=warehouse_path, timezone="UTC")


def rows(conn: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Query results as dicts (column name -> value)."""
    cursor = conn.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def messages(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(conn, "SELECT * FROM messages ORDER BY thread_id, msg_id::INTEGER")


@dataclass
class ChatRun:
    report: IngestReport
    messages: list[dict[str, Any]]


@pytest.fixture
def ingest_chat(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> Callable[..., ChatRun]:
    """Write ``text`` as a chat .txt (bytes written as given) and ingest it."""

    def run(
        text: str | bytes,
        *,
        name: str = "WhatsApp Chat with Test.txt",
        settings_override: Settings | None = None,
        **kwargs: Any,
    ) -> ChatRun:
        folder = tmp_path / "chats"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        report = ingest(
            warehouse, [path], settings=settings_override or settings, run_id="test-run", **kwargs
        )
        return ChatRun(report, messages(warehouse))

    return run


def make_zip(path: Path, members: Mapping[str, bytes | str]) -> Path:
    """A real zip archive with ``members`` (name -> content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return path


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: int = 32) -> bytes:
    """A small real PNG image made with Pillow."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), color)
    ImageDraw.Draw(image).rectangle((size // 4, size // 4, size // 2, size // 2), fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
