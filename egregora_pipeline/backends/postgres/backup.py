"""Backups of a PostgreSQL warehouse: ``pg_dump --format=custom``, listed and pruned.

The DuckDB side (:mod:`egregora_pipeline.backends.duckdb.backup`) copies a file; a
PostgreSQL warehouse is a database on a server, so here:

* **Backup** is ``pg_dump --format=custom`` of the warehouse database, run as a
  child process (:mod:`.pg_tools`) while this process holds the migrators'
  advisory lock (so no migration runs during it; ``pg_dump`` reads one consistent
  snapshot, so concurrent ingests do not matter). It is written under a temporary
  name, fsynced, hashed (SHA-256) and renamed, with the same JSON manifest as a
  DuckDB backup plus the backend, host, port, database, server and ``pg_dump``
  versions.
* **Where**: ``--to``, else ``<folder>/<host>-<port>-<database>/`` where the folder
  is ``EGREGORA_PG_BACKUP_DIR``, or ``backups`` in the current directory (a URL has
  no file to keep them beside). Both are read here, not in the settings: only
  this module uses them.

Restoring one is :mod:`.restore`. No Dagster here; the CLI and the migration
commands call this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from egregora_pipeline.backends.backup_base import (
    BOOKKEEPING_TABLE,
    BackupInfo,
    BackupKind,
    backup_file_name,
    backup_info,
    fsync_dir,
    make_folder,
    manifest_of,
    read_manifest,
    write_manifest,
)
from egregora_pipeline.backends.postgres.pg_tools import (
    dump_command,
    find_tools,
    run_tool,
    server_major,
)
from egregora_pipeline.defaults import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.errors import BackupError
from egregora_pipeline.sql import quote_ident

if TYPE_CHECKING:
    import psycopg

    from egregora_pipeline.backends.postgres.target import PostgresTarget

BACKEND: Final = "postgresql"
DUMP_SUFFIX: Final = ".dump"
BACKUP_DIR_VARIABLE: Final = "EGREGORA_PG_BACKUP_DIR"
"""Where a PostgreSQL warehouse's backups go by default (one sub-folder per warehouse)."""
DEFAULT_BACKUP_DIR: Final = "backups"
_SAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")
_NAME: Final = re.compile(r"-(\d{8}T\d{6}\.\d{6}Z)-(.+?)(?:-(automatic))?\.dump$")


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


def _backup_name(ident: Identity, taken_at: datetime, revision: str, kind: BackupKind) -> str:
    db = _SAFE.sub("_", ident.dbname)[:60]
    return backup_file_name(db, taken_at, revision, kind, DUMP_SUFFIX)


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
    tools = find_tools(server_major(raw))
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
        run_tool(dump_command(tools, target, scratch, lock_timeout), target, "pg_dump")
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
def locked_session(
    target: PostgresTarget, purpose: str, lock_timeout: float, *, lock_wait: float | None = None
) -> Iterator[Any]:
    """A session on the warehouse holding the migrators' advisory lock, waited for
    ``lock_wait`` seconds (default ``lock_timeout``); closed when done."""
    from egregora_pipeline.backends.postgres import connection

    conn = connection.connect(target, read_only=False, lock_timeout=lock_timeout, purpose=purpose)
    try:
        with connection.migration_lock(conn, lock_timeout if lock_wait is None else lock_wait):
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
    with locked_session(target, "db backup", lock_timeout) as conn:
        return take_backup(conn.raw, target, to=to, lock_timeout=lock_timeout)


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
