"""Restoring a PostgreSQL warehouse from its ``pg_dump`` backup: all or nothing.

By *restore-then-swap*: the dump is restored with ``pg_restore --exit-on-error``
into a new database beside the warehouse; only when that succeeded (and holds
the bookkeeping table) is the warehouse renamed to ``<db>_pre_restore_<time>``
(kept, as a DuckDB restore keeps the replaced file) and the new database renamed
to the warehouse's name. ``pg_restore --clean`` into the live database was the
alternative; it leaves behind every table the backup did not have (one a later
revision created), so the result would not be the backup. A restore refuses
while another session holds the migration lock (naming it) or is connected to
the warehouse at all (PostgreSQL cannot rename a database in use).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.backends.backup_base import BOOKKEEPING_TABLE, BackupInfo, manifest_of
from egregora_pipeline.backends.postgres.backup import (
    BACKEND,
    belongs_to,
    current_revision,
    identity_of,
    locked_session,
    read_backup,
)
from egregora_pipeline.backends.postgres.pg_tools import (
    find_tools,
    on_database,
    restore_command_line,
    run_tool,
    server_major,
)
from egregora_pipeline.backends.postgres.target import WarehouseURLError
from egregora_pipeline.errors import BackupError, WarehouseInUseError

if TYPE_CHECKING:
    import psycopg

    from egregora_pipeline.backends.postgres.target import PostgresTarget

_MAX_IDENT: Final = 63


@dataclass(frozen=True)
class PgRestoreResult:
    """What a PostgreSQL restore put in place, and the name the replaced database now has."""

    display: str
    restored: BackupInfo
    kept_database: str
    extra: dict[str, str] = field(default_factory=dict)


def verify_backup(path: Path, target: PostgresTarget, *, other_warehouse: bool) -> BackupInfo:
    """Refuse a dump whose SHA-256 or manifest is wrong, or that belongs to another warehouse."""
    if not path.is_file():
        raise BackupError(
            f"no backup file at {path}; list them with `egregora-pipeline db backups`"
        )
    info = read_backup(path)
    if info.backend != BACKEND or info.sha256 is None:
        raise BackupError(
            f"{path} has no manifest of a PostgreSQL backup ({manifest_of(path).name} missing "
            "or damaged), so it cannot be verified; nothing was restored"
        )
    with path.open("rb") as handle:
        actual = hashlib.file_digest(handle, "sha256").hexdigest()
    if actual != info.sha256:
        raise BackupError(
            f"backup {path} is damaged: its SHA-256 is {actual}, the manifest recorded "
            f"{info.sha256}; nothing was restored: choose another backup "
            "(`egregora-pipeline db backups`)."
        )
    ident = identity_of(target)
    if not belongs_to(info, ident) and not other_warehouse:
        raise BackupError(
            f"backup {path} is a copy of the warehouse {info.database or 'unknown'!r} (its "
            f"manifest says so), not of {target.display!r}; nothing was restored. Point "
            "--database at that warehouse, or pass --from-other-warehouse to put it in place "
            "anyway."
        )
    return info


_SESSIONS_SQL: Final = """\
SELECT pid, application_name, coalesce(client_addr::text, 'local socket'), backend_start
FROM pg_catalog.pg_stat_activity
WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'
ORDER BY backend_start"""


def _sessions(raw: psycopg.Connection[Any], dbname: str) -> list[str]:
    rows = raw.execute(_SESSIONS_SQL, [dbname]).fetchall()
    return [f"pid {pid}, application_name {app!r}, client {addr}" for pid, app, addr, _ in rows]


def _wait_gone(raw: psycopg.Connection[Any], pid: int, timeout: float = 5.0) -> None:
    """Wait (bounded) for a session we closed to leave ``pg_stat_activity``: its backend
    exits a moment after the client hangs up, and a rename counts it as a user."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = raw.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        if not row or not row[0]:
            return
        time.sleep(0.02)


def _maintenance(target: PostgresTarget) -> psycopg.Connection[Any]:
    """A session on the server's ``postgres`` (else ``template1``) database, to create and
    rename databases (PostgreSQL cannot rename the database a session is connected to)."""
    last: WarehouseURLError | None = None
    for name in ("postgres", "template1"):
        try:
            return on_database(target, name).connect(autocommit=True)
        except WarehouseURLError as error:
            last = error
    assert last is not None
    raise last


def _refuse_if_in_use(target: PostgresTarget, admin: psycopg.Connection[Any], dbname: str) -> None:
    """Refuse, naming them, while a session holds the migration lock or uses the warehouse."""
    with locked_session(target, "db restore", 1, lock_wait=0) as conn:
        ours = conn.raw.info.backend_pid
    _wait_gone(admin, ours)
    others = _sessions(admin, dbname)
    if others:
        raise WarehouseInUseError(
            target.display,
            "other sessions (PostgreSQL cannot rename a database in use): " + "; ".join(others),
        )


def restore(
    backup: Path, target: PostgresTarget, *, other_warehouse: bool = False
) -> PgRestoreResult:
    """Put ``backup`` in place of the warehouse database, all or nothing (module docstring)."""
    info = verify_backup(backup, target, other_warehouse=other_warehouse)
    ident = identity_of(target)
    dbname = ident.dbname
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    scratch = f"{dbname[: _MAX_IDENT - 32]}_restoring_{secrets.token_hex(4)}"
    kept = f"{dbname[: _MAX_IDENT - 27]}_pre_restore_{stamp}"
    import psycopg

    admin = _maintenance(target)
    try:
        _restore_into(admin, target, backup, dbname, scratch, kept)
    except psycopg.Error as error:
        raise BackupError(
            f"restoring {backup} into {target.display} failed ({str(error).strip()}); nothing "
            "was restored. A restore creates a database and renames the warehouse's, so its "
            "user needs the CREATEDB privilege and must own the warehouse database."
        ) from None
    finally:
        admin.close()
    return PgRestoreResult(display=target.display, restored=info, kept_database=kept)


def _restore_into(
    admin: psycopg.Connection[Any],
    target: PostgresTarget,
    backup: Path,
    dbname: str,
    scratch: str,
    kept: str,
) -> None:
    """Restore into ``scratch``, then rename ``dbname`` to ``kept`` and ``scratch`` to
    ``dbname``; until the first rename, a failure drops ``scratch`` and changes nothing."""
    from psycopg import sql

    tools = find_tools(server_major(admin))
    row = admin.execute(
        "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) "
        "FROM pg_catalog.pg_database WHERE datname = %s",
        [dbname],
    ).fetchone()
    if row is None:
        raise BackupError(f"there is no database {dbname!r} on the server to restore into")
    owner, encoding = row
    _refuse_if_in_use(target, admin, dbname)
    admin.execute(
        sql.SQL("CREATE DATABASE {} WITH TEMPLATE template0 OWNER {} ENCODING {}").format(
            sql.Identifier(scratch), sql.Identifier(str(owner)), sql.Literal(str(encoding))
        )
    )
    try:
        run_tool(restore_command_line(tools, target, backup, scratch), target, "pg_restore")
        _check_restored(target, scratch, backup)
        _refuse_if_in_use(target, admin, dbname)
        admin.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(dbname), sql.Identifier(kept)
            )
        )
    except BaseException:
        with contextlib.suppress(Exception):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
        raise
    try:
        admin.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(scratch), sql.Identifier(dbname)
            )
        )
    except Exception as error:
        with contextlib.suppress(Exception):
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(kept), sql.Identifier(dbname)
                )
            )
        raise BackupError(
            f"could not rename the restored database {scratch!r} to {dbname!r} ({error}); "
            f"the warehouse {kept!r} was renamed back to {dbname!r} (check it is there), "
            f"and the restored copy is left as {scratch!r}: rename or drop it."
        ) from None


def _check_restored(target: PostgresTarget, dbname: str, backup: Path) -> None:
    with on_database(target, dbname).connect(autocommit=True) as conn:
        if current_revision(conn) == "unversioned":
            raise BackupError(
                f"backup {backup} has no {BOOKKEEPING_TABLE} table, so it is not an egregora "
                "warehouse; nothing was restored"
            )
