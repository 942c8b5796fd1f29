"""--database / EGREGORA_DATABASE: a DuckDB path or a PostgreSQL URL, and a password is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.backends import parse_warehouse
from egregora_pipeline.backends.duckdb.target import DuckDBTarget
from egregora_pipeline.backends.postgres.target import (
    PostgresTarget,
    WarehouseURLError,
    is_postgres_url,
    redact_url,
)
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main

SECRET = "s3cr#t-pw"
ENCODED = "s3cr%23t-pw"


def _postgres(value: str) -> PostgresTarget:
    target = parse_warehouse(value)
    assert isinstance(target, PostgresTarget)
    return target


def test_a_path_is_a_duckdb_warehouse_as_before() -> None:
    assert parse_warehouse("data/egregora.duckdb") == DuckDBTarget(Path("data/egregora.duckdb"))
    assert parse_warehouse(Path("/srv/w.duckdb")) == DuckDBTarget(Path("/srv/w.duckdb"))
    assert not is_postgres_url("data/postgresql.duckdb")


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (
            f"postgresql://bob:{ENCODED}@db.example:5433/egregora",
            {"user": "bob", "host": "db.example", "port": "5433", "dbname": "egregora"},
        ),
        (
            "postgres://bob@db.example/egregora",
            {"user": "bob", "host": "db.example", "dbname": "egregora"},
        ),
        (
            "postgresql://bob@/egregora?host=/run/postgresql",
            {"user": "bob", "host": "/run/postgresql", "dbname": "egregora"},
        ),
        (
            "postgresql:///egregora?host=/tmp/pg&sslmode=disable",
            {"host": "/tmp/pg", "dbname": "egregora", "sslmode": "disable"},
        ),
        ("POSTGRESQL://h/d", {"host": "h", "dbname": "d"}),
    ],
)
def test_libpq_reads_every_url_form(url: str, params: dict[str, str]) -> None:
    assert _postgres(url).params == params


def test_the_password_comes_from_the_url_decoded_and_is_kept_out_of_the_params() -> None:
    target = _postgres(f"postgresql://bob:{ENCODED}@h/egregora")
    assert target.password_in_url
    assert "password" not in target.params
    assert f"password='{SECRET}'" in target.conninfo() or f"password={SECRET}" in target.conninfo()
    assert not _postgres("postgresql://bob@h/egregora").password_in_url


@pytest.mark.parametrize(
    ("url", "display"),
    [
        (
            f"postgresql://bob:{ENCODED}@db.example:5433/egregora",
            "postgresql://bob@db.example:5433/egregora",
        ),
        (
            f"postgresql:///egregora?host=/tmp/pg&password={ENCODED}",
            "postgresql:///egregora?host=/tmp/pg",
        ),
        ("postgresql://h1:5432,h2:5433/db", "postgresql:///db?host=h1,h2&port=5432,5433"),
    ],
)
def test_the_display_form_names_the_server_and_never_the_password(url: str, display: str) -> None:
    target = _postgres(url)
    assert target.display == display
    for shown in (str(target), repr(target), target.display, f"{target}", f"{target!r}"):
        assert SECRET not in shown
        assert ENCODED not in shown


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob:{ENCODED}@db.example/egregora",
        f"postgresql:/bob:{ENCODED}@db.example/egregora",  # folded by pathlib.Path
        f"postgres://bob:{SECRET}@db.example/egregora",
        f"postgresql://bob:p@ss{ENCODED}@db.example/egregora",  # a raw @ in the password
        f"postgresql://bob@h/db?sslmode=require&password={ENCODED}",
        f"postgresql+psycopg2://bob:{ENCODED}@h/db",
    ],
)
def test_redact_url_masks_the_password_of_any_url(url: str) -> None:
    shown = redact_url(url)
    assert SECRET not in shown
    assert ENCODED not in shown
    assert "***" in shown
    assert is_postgres_url(url)


def test_a_url_libpq_rejects_is_refused_without_quoting_the_password() -> None:
    # libpq quotes the bad token, which here is the password itself
    with pytest.raises(WarehouseURLError) as caught:
        parse_warehouse("postgresql://bob:se%zzcret@h/db")
    message = str(caught.value)
    assert "se%zzcret" not in message
    assert "percent-encoded" in message
    assert "postgresql://bob:***@h/db" in message


def test_a_url_folded_by_a_path_is_refused_with_how_to_write_it() -> None:
    with pytest.raises(WarehouseURLError, match=r"postgresql://\[user"):
        parse_warehouse(Path(f"postgresql://bob:{ENCODED}@h/db"))


@pytest.mark.parametrize(
    "command",
    [["db", "check"], ["db", "upgrade"], ["db", "current"], ["db", "history"], ["db", "plan"]],
)
def test_a_db_command_that_cannot_reach_the_server_says_so_without_the_password(
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://bob:{ENCODED}@127.0.0.1:1/egregora"  # nothing listens on port 1

    code = main([*command, "--database", url])

    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR
    assert SECRET not in out + err
    assert ENCODED not in out + err
    assert "postgresql://bob@127.0.0.1:1/egregora" in err
    assert "cannot connect" in err
    assert "internal error" not in err
    assert list(tmp_path.iterdir()) == []


def test_ingest_that_cannot_reach_the_server_fails_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EGREGORA_DATABASE", raising=False)
    monkeypatch.setenv("EGREGORA_MEDIA_DIR", str(tmp_path / "media"))
    (tmp_path / "post.md").write_text("---\ntitle: T\n---\nbody\n", encoding="utf-8")
    url = f"postgresql://bob:{ENCODED}@127.0.0.1:1/egregora"  # nothing listens on port 1

    code = main(["ingest", "--ephemeral", "--database", url, "post.md"])

    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR
    assert SECRET not in out + err
    assert ENCODED not in out + err
    assert "postgresql://bob@127.0.0.1:1/egregora" in out + err
    assert "internal error" not in err


def test_the_environment_variable_names_a_postgres_warehouse_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EGREGORA_DATABASE", f"postgres://bob:{ENCODED}@127.0.0.1:1/egregora")

    code = main(["db", "check"])

    err = capsys.readouterr().err
    assert code == ExitCode.ERROR
    assert ENCODED not in err
    assert "cannot connect" in err


def test_the_duckdb_opener_refuses_a_url_and_names_the_opener_that_takes_one(
    tmp_path: Path,
) -> None:
    from egregora_pipeline.backends.duckdb.connection import connect_warehouse
    from egregora_pipeline.errors import WarehouseUnusableError

    with pytest.raises(WarehouseUnusableError) as caught:
        connect_warehouse(f"postgresql://bob:{ENCODED}@h/egregora")
    assert ENCODED not in str(caught.value)
    assert "open_warehouse" in str(caught.value)
