"""Options shared by every CLI command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egregora_pipeline.errors import WarehouseUnusableError
from egregora_pipeline.settings import DEFAULT_DATABASE
from egregora_pipeline.warehouse_url import POSTGRES_NOT_YET, is_postgres_url, redact_url


def _parse_database(raw: str | Path) -> Path:
    """The option's value as a path; a URL stays a string so no ``//`` is lost before
    :func:`_refuse_postgres_url` shows it (``Path`` would turn ``postgresql://`` into
    ``postgresql:/``)."""
    if isinstance(raw, str) and is_postgres_url(raw):
        return raw  # type: ignore[return-value]  # refused by the callback, never used
    return Path(raw)


def _refuse_postgres_url(ctx: typer.Context, value: Path) -> Path:
    """Refuse a PostgreSQL URL before the command runs, showing it without its password.

    At parse time, so the URL never reaches a Dagster run config, a log or a later
    message.
    """
    if is_postgres_url(value):
        raise WarehouseUnusableError(redact_url(value), POSTGRES_NOT_YET)
    return value


DatabaseOption = Annotated[
    Path,
    typer.Option(
        "--database",
        "-d",
        envvar="EGREGORA_DATABASE",
        help="Warehouse DuckDB file (env EGREGORA_DATABASE).",
        show_default=True,
        parser=_parse_database,
        callback=_refuse_postgres_url,
    ),
]
DEFAULT_DATABASE_PATH = Path(DEFAULT_DATABASE)


def _parse_warehouse_url(ctx: typer.Context, value: Path) -> Path:
    """A PostgreSQL URL is kept as the string it was (``Path`` would fold its ``//``) after
    libpq has read it: a malformed one is refused here, shown without its password."""
    if is_postgres_url(value):
        from egregora_pipeline.warehouse_url import parse_warehouse

        parse_warehouse(value)
    return value


WarehouseOption = Annotated[
    Path,
    typer.Option(
        "--database",
        "-d",
        envvar="EGREGORA_DATABASE",
        help=(
            "Warehouse: a DuckDB file, or a PostgreSQL URL "
            "(postgresql://user@host:5432/db; the password from the URL, PGPASSWORD or "
            "~/.pgpass; never printed) (env EGREGORA_DATABASE)."
        ),
        show_default=True,
        parser=_parse_database,
        callback=_parse_warehouse_url,
    ),
]
"""``--database`` for the commands that work on both backends (the migration commands)."""
