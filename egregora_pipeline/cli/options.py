"""Options shared by every CLI command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egregora_pipeline.settings import DEFAULT_DATABASE

DatabaseOption = Annotated[
    Path,
    typer.Option(
        "--database",
        "-d",
        envvar="EGREGORA_DATABASE",
        help="Warehouse DuckDB file (env EGREGORA_DATABASE).",
        show_default=True,
    ),
]
DEFAULT_DATABASE_PATH = Path(DEFAULT_DATABASE)
