"""The PostgreSQL sink's bulk transfer: session-local staging tables filled by ``COPY``.

Nothing is ever inserted row by row: the scratch's CSV is fed to
``COPY ... FROM STDIN`` in 1 MiB blocks, and Python records (documents,
rejections) go through ``COPY`` too (psycopg's ``write_row`` serialises them into
the same stream). Set-based SQL then moves the staged rows into the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    import psycopg

COPY_BLOCK_BYTES: Final = 1 << 20
"""How much CSV is handed to ``COPY`` per write: big enough to amortise the call."""


def stage_like(pg: psycopg.Connection[Any], staging: str, table: str) -> None:
    """A session-local staging table shaped like ``table``, gone at commit."""
    pg.execute(f"DROP TABLE IF EXISTS {staging}")
    pg.execute(f"CREATE TEMP TABLE {staging} (LIKE {quote_ident(table)}) ON COMMIT DROP")


def copy_rows(
    pg: psycopg.Connection[Any],
    staging: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Python rows into ``staging`` with one ``COPY`` (psycopg serialises them in bulk)."""
    names = ", ".join(quote_ident(c) for c in columns)
    with pg.cursor() as cursor, cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def copy_csv(pg: psycopg.Connection[Any], staging: str, columns: Sequence[str], csv: Path) -> None:
    """The CSV file ``csv`` into ``staging``, a block at a time."""
    names = ", ".join(quote_ident(c) for c in columns)
    with (
        pg.cursor() as cursor,
        cursor.copy(f"COPY {staging} ({names}) FROM STDIN (FORMAT csv)") as copy,
        csv.open("rb") as source,
    ):
        while block := source.read(COPY_BLOCK_BYTES):
            copy.write(block)
