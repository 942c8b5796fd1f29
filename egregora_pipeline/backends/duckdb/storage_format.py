"""Which DuckDB storage format a warehouse file is in, and the one command that changes it.

DuckDB writes a file in one storage format for the file's whole life: DuckDB 2.0
keeps a file DuckDB 1.x created readable by 1.x when it writes to it, but a file
2.0 creates with its defaults is in format v2.0.0+, which DuckDB 1.4.4 (the
version upstream Egregora pins) refuses to open. So this project creates files in
the format ``EGREGORA_DUCKDB_STORAGE_VERSION`` names (default v1.0.0, see
:func:`.connection.create_atomically`), reports each file's format (``db current``,
``db check``), and moves a file to another format only when asked
(``db storage-upgrade --to VERSION``), after a backup: docs/storage-format.md.

PostgreSQL warehouses have no storage format of this kind; nothing here applies to them.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import duckdb

from egregora_pipeline.backends.storage_base import StorageUpgradeResult
from egregora_pipeline.compute_engine import bounded_config, connect_bounded
from egregora_pipeline.defaults import DEFAULT_LOCK_TIMEOUT_SECONDS
from egregora_pipeline.errors import BackupError, SettingsError, WarehouseNotFoundError
from egregora_pipeline.sql import quote_ident, quote_literal

if TYPE_CHECKING:
    pass

EGREGORA_DUCKDB: Final = "1.4.4"
"""The DuckDB upstream Egregora pins (its ``uv.lock`` at 1123bf243)."""
EGREGORA_READS: Final = range(64, 68)
"""Storage version numbers DuckDB 1.4.4 opens ("can only read versions between 64 and 67")."""
NAMES: Final = {
    64: "v1.0.0+",
    65: "v1.2.0+",
    66: "v1.3.0+",
    67: "v1.4.0+",
    68: "v1.5.0+",
    999: "v2.0.0+",
}
"""Header version number -> the name DuckDB itself gives the format
(``duckdb_databases().tags['storage_version']``; a test checks every pair against DuckDB)."""
_HEADER: Final = struct.Struct("<8x4sQ")
"""The main header: 8 bytes of checksum, the magic ``DUCK``, the version number (u64)."""


@dataclass(frozen=True)
class DuckDBStorageFormat:
    """A DuckDB file's storage format, as its header records it."""

    version_number: int

    @property
    def name(self) -> str:
        """DuckDB's own name for the format (``v1.0.0+``: readable by DuckDB 1.0.0 and later)."""
        return NAMES.get(self.version_number, f"unknown (version number {self.version_number})")

    @property
    def egregora_can_read(self) -> bool:
        """Whether DuckDB 1.4.4, the version Egregora pins, opens the file."""
        return self.version_number in EGREGORA_READS

    def describe(self) -> str:
        """One line: the format, and whether Egregora's DuckDB opens it."""
        verdict = "opens it" if self.egregora_can_read else "cannot open it"
        return f"{self.name} (DuckDB {EGREGORA_DUCKDB}, Egregora's pin, {verdict})"

    def document(self) -> dict[str, object]:
        """The ``storage_format`` object of ``db current`` / ``db check`` --json."""
        return {
            "name": self.name,
            "version_number": self.version_number,
            "egregora_duckdb": EGREGORA_DUCKDB,
            "egregora_can_read": self.egregora_can_read,
        }


def read_storage_format(path: Path) -> DuckDBStorageFormat | None:
    """The storage format in ``path``'s header; None when there is no DuckDB file there.

    Reads 20 bytes, without DuckDB, so it also names the format of a file this
    DuckDB could not open. Never call it in a process that holds a DuckDB
    connection to ``path``: closing any descriptor of a file drops the POSIX lock
    DuckDB holds on it (see :mod:`.backup`).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER.size)
    except OSError:
        return None
    if len(head) < _HEADER.size:
        return None
    magic, number = _HEADER.unpack(head)
    return DuckDBStorageFormat(number) if magic == b"DUCK" else None


def _format_of(version: str) -> DuckDBStorageFormat:
    """The format DuckDB writes for ``version`` (asked of DuckDB: a throw-away in-memory probe)."""
    probe = connect_bounded()
    try:
        probe.execute("SET storage_compatibility_version = ?", [version])
    except duckdb.Error as error:
        known = str(error).partition("valid options are: ")[2] or "v1.0.0, v1.4.0, v2.0.0"
        raise SettingsError("--to", version, f"a storage version DuckDB knows: {known}") from None
    finally:
        probe.close()
    return DuckDBStorageFormat(_probe_number(version))


def _probe_number(version: str) -> int:
    """Create a tiny file in ``version``'s format in a temporary folder and read its header."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="egregora-storage-") as folder:
        probe = Path(folder) / "probe.duckdb"
        duckdb.connect(
            str(probe), config={**bounded_config(probe), "storage_compatibility_version": version}
        ).close()
        found = read_storage_format(probe)
    assert found is not None  # DuckDB just wrote it
    return found.version_number


def _sha256_in_child(path: Path) -> str:
    """SHA-256 of ``path`` read by a child process, so this process's lock on it stays held."""
    code = (
        "import hashlib,sys;print(hashlib.file_digest(open(sys.argv[1],'rb'),'sha256').hexdigest())"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"could not read {path} to compare it with its backup: {done.stderr}")
    return done.stdout.strip()


def _inventory(conn: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, object]:
    """What a copy must keep: each table's DDL and row count, and every other object's DDL."""
    tables = conn.execute(
        "SELECT schema_name, table_name, sql FROM duckdb_tables() WHERE database_name = ? "
        "ORDER BY ALL",
        [catalog],
    ).fetchall()
    counts = {}
    for schema, table, _ in tables:
        name = f"{quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(table)}"
        row = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    others = {
        kind: conn.execute(query, [catalog]).fetchall()
        for kind, query in (
            (
                "views",
                "SELECT schema_name, view_name, sql FROM duckdb_views() "
                "WHERE database_name = ? AND NOT internal ORDER BY ALL",
            ),
            (
                "indexes",
                "SELECT schema_name, index_name, sql FROM duckdb_indexes() "
                "WHERE database_name = ? ORDER BY ALL",
            ),
            (
                "sequences",
                "SELECT schema_name, sequence_name FROM duckdb_sequences() "
                "WHERE database_name = ? ORDER BY ALL",
            ),
            (
                "constraints",
                "SELECT schema_name, table_name, constraint_text "
                "FROM duckdb_constraints() WHERE database_name = ? ORDER BY ALL",
            ),
        )
    }
    return {"tables": [(s, t, sql) for s, t, sql in tables], "rows": counts, **others}


def upgrade_storage(
    database: Path,
    to: str,
    *,
    folder: Path | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> StorageUpgradeResult:
    """Rewrite the warehouse file in storage format ``to``, after backing it up.

    Order: take a ``pre-storage-upgrade`` backup through the writer's lock (as
    ``db backup`` does); take the same POSIX lock ``db restore`` takes and make
    sure the file is still the one backed up (byte for byte, no WAL); copy the
    *backup* (never the live file: no DuckDB connection to the warehouse is
    opened while the lock is held) into a new file in format ``to`` with
    ``COPY FROM DATABASE``; check that every table, row, view, index, sequence and
    constraint came across; rename the new file over the warehouse. A failure
    before that rename leaves the warehouse as it was; after it, the backup is
    the way back (``db restore``, which puts the old format back too).

    A file already in the requested format is left untouched (no backup).
    """
    from egregora_pipeline.backends.backup_base import fsync_dir, make_folder
    from egregora_pipeline.backends.duckdb.backup import ensure_space, take_backup
    from egregora_pipeline.backends.duckdb.connection import (
        check_warehouse_path,
        connect_warehouse,
    )
    from egregora_pipeline.backends.duckdb.listing import wal_of
    from egregora_pipeline.backends.duckdb.restore import exclusive_lock
    from egregora_pipeline.backends.urls import refuse_non_file

    refuse_non_file(database)
    check_warehouse_path(database)
    if not database.exists():
        raise WarehouseNotFoundError(str(database))
    target = _format_of(to)
    before = read_storage_format(database)
    assert before is not None  # check_warehouse_path read the magic
    if before.version_number == target.version_number:
        return StorageUpgradeResult(database, before, before, to, None, 0, 0)
    if folder is not None:
        make_folder(folder, "the backup taken before a storage upgrade")
    conn = connect_warehouse(database, lock_timeout=lock_timeout)
    try:
        backup = take_backup(
            conn,
            database,
            to=folder,
            kind="pre-storage-upgrade",
            reason=f"the warehouse in storage format {before.name} before "
            f"`db storage-upgrade --to {to}`",
        )
    finally:
        conn.close()
    scratch = database.with_name(f".{database.name}.{os.getpid()}.storage-upgrade")
    with exclusive_lock(database):
        if wal_of(database).exists() or _sha256_in_child(database) != backup.sha256:
            raise BackupError(
                f"{database} changed after it was backed up to {backup.path} (another process "
                "wrote to it); nothing was rewritten. Run `db storage-upgrade` again when no "
                "run is writing."
            )
        ensure_space(database.parent, backup.size, f"the copy of {database} in format {to}")
        scratch.unlink(missing_ok=True)
        wal_of(scratch).unlink(missing_ok=True)
        try:
            tables, rows = _copy_in_format(backup.path, scratch, to)
            after = read_storage_format(scratch)
            if wal_of(scratch).exists():
                raise BackupError(
                    f"the copy of {database} kept a pending WAL after it was closed; nothing "
                    "was rewritten"
                )
            if after is None or after.version_number != target.version_number:
                raise BackupError(
                    f"the copy of {database} came out in format "
                    f"{after.name if after else 'unknown'}, not {target.name}; nothing was "
                    "rewritten"
                )
            with scratch.open("rb+") as handle:
                os.fsync(handle.fileno())
        except BaseException:
            scratch.unlink(missing_ok=True)
            wal_of(scratch).unlink(missing_ok=True)
            raise
        os.replace(scratch, database)
        fsync_dir(database.parent)
    return StorageUpgradeResult(database, before, after, to, backup, tables, rows)


def _copy_in_format(source: Path, scratch: Path, version: str) -> tuple[int, int]:
    """``COPY FROM DATABASE`` ``source`` into a new file ``scratch`` in format ``version``.

    Returns the number of tables and rows copied, once both files list the same
    objects and row counts; raises :class:`BackupError` otherwise.
    """
    # bounded like every connection; it spills beside the warehouse, not in /tmp
    conn = duckdb.connect(":memory:", config=bounded_config(source))
    try:
        # ATTACH takes no parameters: the paths and the version are quoted literals
        conn.execute(f"ATTACH {quote_literal(str(source))} AS egregora_old (READ_ONLY)")
        conn.execute(
            f"ATTACH {quote_literal(str(scratch))} AS egregora_new "
            f"(STORAGE_VERSION {quote_literal(version)})"
        )
        conn.execute("COPY FROM DATABASE egregora_old TO egregora_new")
        old, new = _inventory(conn, "egregora_old"), _inventory(conn, "egregora_new")
        if old != new:
            differ = sorted(key for key in old if old[key] != new[key])
            raise BackupError(
                f"the copy of {source} in format {version} differs from it in its "
                f"{', '.join(differ)}; nothing was rewritten"
            )
        conn.execute("DETACH egregora_new")
    except duckdb.Error as error:
        first = str(error).splitlines()[0]
        raise BackupError(
            f"could not copy {source} into storage format {version} ({first}); nothing was "
            "rewritten"
        ) from None
    finally:
        conn.close()
    counts = old["rows"]
    assert isinstance(counts, dict)
    return len(counts), sum(counts.values())
