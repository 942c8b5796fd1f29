"""A PostgreSQL URL connects to a real server, with the password found where libpq looks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.backends.postgres.target import PostgresTarget, WarehouseURLError
from tests.postgres.server import SUPERUSER, PostgresServer


@pytest.fixture(autouse=True)
def _no_password_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test says where the password comes from; nothing leaks in from the machine."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    for variable in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"):
        monkeypatch.delenv(variable, raising=False)


def _target(url: str) -> PostgresTarget:
    target = parse_warehouse(url)
    assert isinstance(target, PostgresTarget)
    return target


def _who(target: PostgresTarget) -> tuple[object, ...] | None:
    with target.connect() as connection:
        return connection.execute("SELECT current_user, current_database()").fetchone()


def test_the_password_in_the_url_is_used(postgres_server: PostgresServer) -> None:
    target = _target(postgres_server.url())
    assert target.password_in_url
    assert _who(target) == (SUPERUSER, "postgres")


def test_without_one_in_the_url_pgpassword_is_used(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    target = _target(postgres_server.url(with_password=False))
    assert not target.password_in_url
    assert _who(target) == (SUPERUSER, "postgres")


def test_without_one_in_the_url_or_the_environment_the_password_file_is_used(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    escaped = postgres_server.password.replace("\\", "\\\\").replace(":", "\\:")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"{postgres_server.host}:{postgres_server.port}:*:{SUPERUSER}:{escaped}\n")
    passfile.chmod(0o600)  # libpq ignores a password file others can read
    monkeypatch.setenv("PGPASSFILE", str(passfile))

    assert _who(_target(postgres_server.url(with_password=False))) == (SUPERUSER, "postgres")


def test_libpqs_socket_form_connects_through_the_socket_folder(
    postgres_server: PostgresServer, postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    target = _target(postgres_server.socket_url(postgres_database))
    assert target.params["host"] == str(postgres_server.socket_dir)
    with target.connect() as connection:
        row = connection.execute("SELECT inet_server_addr() IS NULL").fetchone()
    assert row == (True,)  # a Unix socket has no server address
    assert _who(target) == (SUPERUSER, postgres_database)


def test_a_wrong_password_is_refused_without_showing_either_password(
    postgres_server: PostgresServer,
) -> None:
    wrong = "Wr0ng-pa55word"
    url = f"postgresql://{SUPERUSER}:{wrong}@{postgres_server.host}:{postgres_server.port}/postgres"

    with pytest.raises(WarehouseURLError) as caught:
        _target(url).connect()

    message = str(caught.value)
    assert "password authentication failed" in message
    assert (
        f"postgresql://{SUPERUSER}@{postgres_server.host}:{postgres_server.port}/postgres"
        in message
    )
    assert wrong not in message
    assert postgres_server.password not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_no_password_anywhere_is_refused_with_libpqs_reason(
    postgres_server: PostgresServer,
) -> None:
    with pytest.raises(WarehouseURLError, match="password"):
        _target(postgres_server.url(with_password=False)).connect()


def test_an_ibis_connection_works_on_the_server(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    import ibis
    import pyarrow as pa

    con = _target(postgres_server.url(postgres_database)).connect_ibis()
    con.create_table("t", schema=ibis.schema({"n": "!int64", "s": "string"}))
    con.insert("t", pa.table({"n": [1, 2, 3], "s": ["a", "b", None]}))
    table = con.table("t")
    assert "t" in con.list_tables()
    assert table.filter(table.n > 1).count().execute() == 2
    assert table.s.to_pyarrow().null_count == 1
    con.disconnect()
