"""Options shared by every CLI command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egregora_pipeline.settings import DEFAULT_DATABASE
from egregora_pipeline.warehouse_url import is_postgres_url


def _parse_database(raw: str | Path) -> Path:
    """The option's value as a path; a URL stays the string it was (``Path`` would turn
    ``postgresql://`` into ``postgresql:/``)."""
    if isinstance(raw, str) and is_postgres_url(raw):
        return raw  # type: ignore[return-value]  # read by parse_warehouse, never as a path
    return Path(raw)


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
"""``--database`` for every command: each works on both backends."""

JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help=(
            "Answer with one JSON document on stdout (progress and warnings on stderr; errors "
            "as JSON too); its schema is in docs/cli-json.md. Exit codes are unchanged."
        ),
    ),
]
"""``--json`` for every command that reports: see :mod:`egregora_pipeline.cli.json_output`."""

JunitOption = Annotated[
    Path | None,
    typer.Option(
        "--junit",
        help="Also write the checks as a JUnit XML report to this file (for CI test views).",
        show_default=False,
        dir_okay=False,
    ),
]
"""``--junit FILE`` on the commands that run checks (``db check``, ``ingest``)."""
