"""``egregora-pipeline db ...``: the migration engine's commands."""

from __future__ import annotations

import typer

db_app = typer.Typer(help="Migrate, inspect and check the warehouse schema.", no_args_is_help=True)
