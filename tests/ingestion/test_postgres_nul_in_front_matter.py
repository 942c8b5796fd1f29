"""A NUL inside front-matter values kept in ``extensions`` is refused like any other NUL.

PostgreSQL's ``json`` stores a NUL escaped (``\\u0000``) but cannot turn it back
into text: ``extensions->>'origin'``, which the identity claims read on every
later ingest, then fails on that row. Such a document was stored on the first
run, and every later run that met its id refused the file ("unsupported Unicode
escape sequence"), forever. It is now refused on the first run, naming the
column, as a NUL anywhere else in a document is; the other files still load.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.settings import Settings
from tests.ingestion.postgres_warehouse import (
    ingest_postgres,
    pg_target,
    postgres_database,
    postgres_server,
)

__all__ = ["pg_target", "postgres_database", "postgres_server"]


def _post(folder: Path, name: str, extra: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        f"---\ntitle: {name}\ndate: 2024-01-01\n{extra}\n---\nbody\n", encoding="utf-8"
    )


@pytest.mark.parametrize(
    "extra",
    ['note: "a\\0b"', '"ke\\0y": 1', 'nested: {x: ["\\0"]}'],
    ids=["value", "key", "nested"],
)
def test_a_nul_in_extensions_refuses_the_document_once_and_never_poisons_a_re_ingest(
    pg_target: PostgresTarget, settings: Settings, tmp_path: Path, extra: str
) -> None:
    inbox = tmp_path / "inbox"
    _post(inbox / "posts", "fine.md", "note: fine")
    _post(inbox / "posts", "nul.md", extra)
    settings = replace(settings, media_dir=tmp_path / "m")

    for run in ("first", "again"):
        report = ingest_postgres(pg_target, [inbox], settings=settings, run_id=run)
        by_name = {entry.path.name: entry for entry in report.inputs}
        error = by_name["nul.md"].error or ""
        assert error.startswith("could not write this document: the 'extensions' of document")
        assert "NUL character (U+0000)" in error
        assert by_name["fine.md"].error is None
    with pg_target.connect() as pg:
        assert pg.execute("SELECT title FROM documents").fetchall() == [("fine.md",)]
