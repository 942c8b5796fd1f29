"""Options shared by every CLI command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egregora_pipeline.backends import WarehouseTarget, backend_of, parse_warehouse
from egregora_pipeline.errors import WarehouseError
from egregora_pipeline.settings import DEFAULT_DATABASE


def _keep_text(raw: str | Path) -> str | Path:
    """The option's text as given: a URL must not go through ``Path`` (it folds ``//``)."""
    return raw


DEFAULT_WAREHOUSE: WarehouseTarget = parse_warehouse(DEFAULT_DATABASE)
"""``--database``'s default (``--help`` shows its display form, the path)."""


def _parse_warehouse(ctx: typer.Context, value: str | Path) -> WarehouseTarget:
    """The one place ``--database`` is read: parsed once into its backend's target.

    A value a backend recognises but cannot read (a malformed PostgreSQL URL) is
    refused here, shown without its password; every command receives the target.
    """
    return parse_warehouse(value)


def names_a_file(value: str | Path) -> bool:
    """Whether ``value`` (``--to``, a backup file) can be a local file.

    False when a backend claims it as something else (a PostgreSQL URL names a
    server, even one libpq would refuse to read): the caller then refuses it with
    what to use instead, before a folder named ``postgresql:`` could be created.
    """
    try:
        target = parse_warehouse(value)
    except WarehouseError:
        return False
    return backend_of(target).refusal("file_path") is None


WarehouseOption = Annotated[
    WarehouseTarget,
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
        parser=_keep_text,
        metavar="<Path>",
        callback=_parse_warehouse,
    ),
]
"""``--database`` for every command: each works on every backend, given the parsed target."""

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
