"""The ``egregora_migrations`` table: which revisions a warehouse has applied.

One row per applied revision, written in the same transaction as the
revision's own SQL, so the row exists if and only if the change does.
Reading it never creates it, so ``db check`` and ``db plan`` leave a warehouse
exactly as they found it.

Only ever add columns at the end of this table (and make them nullable):
older versions of this tool read it positionally-free but must still be able
to insert rows.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from egregora_pipeline.migrations import catalog
from egregora_pipeline.migrations.script import ScriptDirectory
from egregora_pipeline.sql import quote_ident, quote_literal

if TYPE_CHECKING:
    from egregora_pipeline.backends.migration_base import Connection

TABLE: Final = "egregora_migrations"

CREATE_SQL: Final = f"""CREATE TABLE IF NOT EXISTS {quote_ident(TABLE)} (
    "revision_id" VARCHAR NOT NULL,
    "parent_id" VARCHAR,
    "message" VARCHAR NOT NULL,
    "checksum" VARCHAR NOT NULL,
    "applied_at" TIMESTAMP WITH TIME ZONE NOT NULL,
    "duration_ms" BIGINT NOT NULL,
    "applied_by" VARCHAR NOT NULL,
    "note" VARCHAR
)"""

_COLUMNS: Final = (
    "revision_id",
    "parent_id",
    "message",
    "checksum",
    "applied_at",
    "duration_ms",
    "applied_by",
    "note",
)


@dataclass(frozen=True)
class AppliedRow:
    """One bookkeeping row."""

    revision_id: str
    parent_id: str | None
    message: str
    checksum: str
    applied_at: datetime
    duration_ms: int
    applied_by: str
    note: str | None


def applied_by() -> str:
    """``user@host pid N``: who applied a revision, for the history."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def exists(conn: Connection) -> bool:
    return catalog.table_exists(conn, TABLE)


def read(conn: Connection) -> list[AppliedRow]:
    """Every applied row, oldest first (empty when the table does not exist)."""
    if not exists(conn):
        return []
    names = ", ".join(quote_ident(c) for c in _COLUMNS)
    rows = conn.execute(
        f"SELECT {names} FROM {quote_ident(TABLE)} ORDER BY applied_at, revision_id"
    ).fetchall()
    return [AppliedRow(*row) for row in rows]


def insert_sql(
    revision_id: str,
    parent_id: str | None,
    message: str,
    checksum: str,
    duration_ms: int,
    who: str,
    note: str | None,
) -> tuple[str, list[object], str]:
    """The parameterized INSERT, its parameters, and the same statement as literal SQL.

    The literal form is what plans and results display; the parameterized one
    is what runs.
    """
    names = ", ".join(quote_ident(c) for c in _COLUMNS)
    sql = f"INSERT INTO {quote_ident(TABLE)} ({names}) VALUES (?, ?, ?, ?, now(), ?, ?, ?)"
    params: list[object] = [revision_id, parent_id, message, checksum, duration_ms, who, note]

    def lit(value: object) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, int):
            return str(value)
        return quote_literal(str(value))

    shown = ", ".join([*(lit(v) for v in params[:4]), "now()", *(lit(v) for v in params[4:])])
    return sql, params, f"INSERT INTO {quote_ident(TABLE)} ({names}) VALUES ({shown})"


def delete_sql(revision_id: str) -> tuple[str, list[object], str]:
    sql = f"DELETE FROM {quote_ident(TABLE)} WHERE revision_id = ?"
    shown = f"DELETE FROM {quote_ident(TABLE)} WHERE revision_id = {quote_literal(revision_id)}"
    return sql, [revision_id], shown


@dataclass(frozen=True)
class HistoryState:
    """The applied history checked against the revision files."""

    rows: list[AppliedRow]
    current: str | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(rows: list[AppliedRow], scripts: ScriptDirectory) -> HistoryState:
    """Compare applied rows with the files: unknown ids, checksums, chain order."""
    problems: list[str] = []
    folder = scripts.directory
    known = [r for r in rows if r.revision_id in scripts]
    for row in rows:
        if row.revision_id not in scripts:
            problems.append(
                f"revision {row.revision_id!r} is recorded as applied (by {row.applied_by} at "
                f"{row.applied_at:%Y-%m-%d %H:%M}) but no file in {folder} declares it: it was "
                "applied by a newer version of this project, or its file was deleted. Restore "
                "the file (or upgrade this tool), or re-record history with "
                "`egregora-pipeline db stamp REV`."
            )
            continue
        script = scripts.get(row.revision_id)
        if script.checksum != row.checksum:
            problems.append(
                f"revision {row.revision_id!r}: {script.path} changed after it was applied "
                f"(recorded sha256 {row.checksum[:12]}..., file now {script.checksum[:12]}...). "
                f"Restore the file as it was applied (e.g. `git checkout -- {script.path}`); if "
                "the warehouse really matches the edited file, record the new checksums with "
                f"`egregora-pipeline db stamp {row.revision_id}`."
            )
        if script.down_revision != row.parent_id:
            problems.append(
                f"revision {row.revision_id!r} was applied on top of {row.parent_id!r}, but "
                f"{script.path} now says down_revision={script.down_revision!r}."
            )
    positions = sorted(scripts.position(r.revision_id) for r in known)
    if positions != list(range(1, len(positions) + 1)):
        missing = [
            rid
            for rid in scripts.ids[: max(positions, default=0)]
            if rid not in {r.revision_id for r in known}
        ]
        problems.append(
            f"applied revisions skip {', '.join(missing)}: history must be a prefix of the "
            "chain. Re-record it with `egregora-pipeline db stamp REV`."
        )
    if len({r.revision_id for r in rows}) != len(rows):
        problems.append("a revision is recorded as applied more than once")
    current = scripts.ids[max(positions) - 1] if positions else None
    if current is None and rows:
        current = rows[-1].revision_id
    return HistoryState(rows=rows, current=current, problems=problems)
