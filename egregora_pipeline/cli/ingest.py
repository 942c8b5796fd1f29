"""``egregora-pipeline ingest PATH...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egregora_pipeline.cli.options import DEFAULT_DATABASE_PATH, DatabaseOption


def ingest_command(
    paths: Annotated[
        list[Path], typer.Argument(help="WhatsApp exports, content or media folders.")
    ],
    database: DatabaseOption = DEFAULT_DATABASE_PATH,
) -> None:
    """Ingest WhatsApp exports, Markdown content and media into the warehouse."""
    raise typer.Exit(3)
