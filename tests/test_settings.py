"""Settings come from EGREGORA_* variables; a bad value is named, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.main import main
from egregora_pipeline.errors import SettingsError
from egregora_pipeline.settings import Settings


def test_defaults_without_environment() -> None:
    settings = Settings.from_env(environ={})

    assert settings.database.display == "data/egregora.duckdb"
    assert settings.inbox == Path("data/inbox")
    assert settings.timezone == "UTC"
    assert settings.media_store == Path("data/media")


def test_overrides_win_over_the_environment() -> None:
    env = {"EGREGORA_DATABASE": "env.duckdb", "EGREGORA_TIMEZONE": "Europe/Lisbon"}

    settings = Settings.from_env(environ=env, database=Path("flag.duckdb"))

    assert settings.database.display == "flag.duckdb"
    assert settings.timezone == "Europe/Lisbon"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EGREGORA_AUTHOR_NAMESPACE", "not-a-uuid"),
        ("EGREGORA_LOCK_TIMEOUT", "soon"),
        ("EGREGORA_LOCK_TIMEOUT", "nan"),
        ("EGREGORA_LOCK_TIMEOUT", "-5"),
        ("EGREGORA_LOCK_TIMEOUT", "inf"),
    ],
)
def test_an_unusable_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ={variable: value})


def test_the_cli_reports_a_bad_setting_as_an_error_not_a_bug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EGREGORA_LOCK_TIMEOUT", "soon")

    code = main(["db", "current", "--database", str(tmp_path / "w.duckdb")])

    assert code == ExitCode.ERROR
    assert "EGREGORA_LOCK_TIMEOUT" in capsys.readouterr().err


def test_an_unknown_time_zone_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ingest", "--timezone", "Mars/Base", str(tmp_path)])

    assert code == ExitCode.USAGE
    assert "Mars/Base" in capsys.readouterr().err


def test_a_bad_date_order_is_a_usage_error_before_any_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EGREGORA_DATE_ORDER", "dmy?")
    database = tmp_path / "w.duckdb"

    code = main(["ingest", "--database", str(database), str(tmp_path)])

    assert code == ExitCode.USAGE
    assert "EGREGORA_DATE_ORDER" in capsys.readouterr().err
    assert not database.exists()


@pytest.mark.parametrize("database", ["postgresql://bob:s3cret@db.example/egregora"])
def test_a_postgresql_warehouse_has_no_media_folder_of_its_own(database: str | Path) -> None:
    """Never ``postgresql:/bob.../media``: a folder derived from the URL would mean nothing."""
    settings = Settings.from_env(environ={"EGREGORA_DATABASE": str(database)}, database=database)

    with pytest.raises(SettingsError) as caught:
        _ = settings.media_store

    assert caught.value.variable == "EGREGORA_MEDIA_DIR"
    assert "s3cret" not in str(caught.value)
    assert Settings.from_env(
        environ={"EGREGORA_MEDIA_DIR": "/srv/media"}, database=database
    ).media_store == Path("/srv/media")


def test_the_warehouse_is_parsed_once_where_settings_are_read() -> None:
    """A URL ``Path`` folded (``postgresql:/...``) is refused at once, without its password."""
    from egregora_pipeline.errors import WarehouseError

    with pytest.raises(WarehouseError) as caught:
        Settings.from_env(environ={}, database=Path("postgresql://bob:s3cret@db/egregora"))

    assert "s3cret" not in str(caught.value)
    settings = Settings.from_env(environ={"EGREGORA_DATABASE": "postgresql://bob@db/egregora"})
    assert settings.database.display == "postgresql://bob@db/egregora"
    assert Settings.from_env(environ={}, database=settings.database).database is settings.database
