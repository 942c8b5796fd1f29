"""Every migration command, drift and tamper detection, on DuckDB and on a real PostgreSQL.

The ``warehouse`` fixture runs each test twice: on a DuckDB file and on a fresh
database of the session's PostgreSQL 18 server.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pytest

from egregora_pipeline.backends.postgres.connection import LOCK_KEY
from egregora_pipeline.migrations import (
    HistoryError,
    MigrationConfig,
    MigrationError,
    check,
    current,
    downgrade,
    history,
    plan,
    revision,
    stamp,
    upgrade,
)
from egregora_pipeline.migrations.errors import BackendNotSupportedError, MigrationLockedError
from egregora_pipeline.migrations.warehouse import open_warehouse
from tests.conftest import run_cli
from tests.migrations.conftest import RevisionWriter, Warehouse


def test_upgrade_check_current_history_stamp_downgrade(warehouse: Warehouse) -> None:
    config = warehouse.config()
    assert not check(config).at_head if warehouse.backend == "postgres" else True

    result = upgrade(config)

    assert [a.revision_id for a in result.applied] == ["0001", "0002"]
    assert {"documents", "messages", "ingest_rejections", "egregora_migrations"} <= (
        warehouse.tables()
    )
    report = check(config)
    assert report.ok, report
    assert current(config) == "0002"
    entries, problems = history(config)
    assert [(e.revision_id, e.applied) for e in entries] == [("0001", True), ("0002", True)]
    assert problems == []
    assert plan(config).is_empty
    assert not upgrade(config).changed

    stamp(config, "base")
    assert current(config) is None
    stamp(config, "head")
    assert current(config) == "0002"

    reverted = downgrade(config, "base")
    assert [a.revision_id for a in reverted.applied] == ["0002", "0001"]
    assert "documents" not in warehouse.tables()
    assert current(config) is None
    assert [a.revision_id for a in upgrade(config).applied] == ["0001", "0002"]


def test_the_cli_runs_on_either_backend_and_never_prints_the_password(
    warehouse: Warehouse,
) -> None:
    database = str(warehouse.database)
    for args in (["upgrade"], ["check"], ["current"], ["history"], ["plan"]):
        done = run_cli("db", *args, "--database", database)
        assert done.returncode == 0, done.stderr
        if warehouse.backend == "postgres":
            password = database.split(":")[2].split("@")[0]
            assert password not in done.stdout + done.stderr
    assert run_cli("db", "current", "--database", database).stdout.strip() == "0002"


def test_a_dropped_column_is_drift_and_upgrade_adds_it_back(warehouse: Warehouse) -> None:
    config = warehouse.config()
    upgrade(config)
    warehouse.execute(
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type) "
        "VALUES ('p1', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'x', 'published', 'post')",
        'ALTER TABLE documents DROP COLUMN "slug"',
        'ALTER TABLE messages DROP COLUMN "tenant_id"',
    )

    report = check(config)
    assert not report.ok
    assert report.tables["documents"].missing == ["slug"]
    assert report.tables["messages"].missing == ["tenant_id"]
    sql = plan(config).sql()
    assert 'ADD COLUMN "slug"' in sql

    result = upgrade(config)

    assert any("documents.slug" in a for a in result.reconcile_actions)
    assert check(config).ok
    assert warehouse.query("SELECT slug FROM documents") == [("p1",)]  # a post gets its id


def test_same_type_spelt_differently_is_not_drift_but_another_type_is(
    warehouse: Warehouse,
) -> None:
    config = warehouse.config()
    upgrade(config)
    if warehouse.backend == "postgres":
        warehouse.execute(
            'ALTER TABLE documents ALTER COLUMN "title" TYPE text',
            'ALTER TABLE documents ALTER COLUMN "window_start" TYPE timestamp with time zone',
        )
    assert check(config).ok

    warehouse.execute('ALTER TABLE documents ALTER COLUMN "summary" TYPE BIGINT USING NULL')

    report = check(config)
    assert not report.ok
    (mismatch,) = report.tables["documents"].mismatched
    assert mismatch.column == "summary"
    assert mismatch.actual_type in {"BIGINT", "int64"}


def test_an_edited_revision_is_tamper_and_every_writing_command_refuses_it(
    warehouse: Warehouse, versions_dir: Path
) -> None:
    config = warehouse.config(versions_dir)
    upgrade(config)
    path = next(versions_dir.glob("0001_*.py"))
    path.write_text(path.read_text() + "\n# edited after it was applied\n")

    report = check(config)
    assert not report.ok
    assert not report.history_ok
    assert "changed after it was applied" in report.history_problems[0]
    with pytest.raises(HistoryError):
        upgrade(config)

    stamp(config, "0001")  # the documented repair
    assert check(config).ok


def test_a_dry_run_changes_nothing(warehouse: Warehouse) -> None:
    config = warehouse.config()
    if warehouse.backend == "duckdb":
        warehouse.execute("SELECT 1")  # DuckDB: the file exists (a dry run never creates it)

    planned = plan(config)

    assert 'CREATE TABLE "documents"' in planned.sql()
    assert "egregora_migrations" not in warehouse.tables()
    assert "documents" not in warehouse.tables()


def test_revisions_with_ibis_types_and_an_ibis_backfill_render_per_backend(
    warehouse: Warehouse, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(
        versions_dir,
        "0002",
        "0001",
        """
        import ibis.expr.datatypes as dt
        from ibis import _

        op.create_table(
            "notes",
            [
                Column("id", "!string"),
                Column("at", dt.Timestamp(timezone="UTC")),
                Column("tags", "array<string>"),
                Column("n", "int64"),
            ],
        )
        op.add_column("documents", "score", "int64")
        op.backfill("documents", "summary", _.title.upper() + "!")
        """,
        'op.drop_column("documents", "score")\nop.drop_table("notes")',
    )
    config = warehouse.config(versions_dir)
    upgrade(config, "0001")
    warehouse.execute(
        "INSERT INTO documents (id, title, created_at, source_checksum, status, doc_type) "
        "VALUES ('p1', 'hello', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'x', 'published', 'post')"
    )

    result = upgrade(config)

    assert [a.revision_id for a in result.applied] == ["0002"]
    assert warehouse.query("SELECT summary FROM documents") == [("HELLO!",)]
    warehouse.execute("INSERT INTO notes VALUES ('a', now(), ARRAY['x', 'y'], 1)")
    with pytest.raises((duckdb.ConstraintException, psycopg.errors.NotNullViolation)):
        warehouse.execute("INSERT INTO notes (id) VALUES (NULL)")
    assert check(config).ok
    downgrade(warehouse.config(versions_dir, allow_destructive=True), "0001")
    assert "notes" not in warehouse.tables()


def test_raw_sql_of_another_dialect_is_refused_before_anything_runs(
    warehouse: Warehouse, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    other = "postgres" if warehouse.backend == "duckdb" else "duckdb"
    write_revision(
        versions_dir,
        "0002",
        "0001",
        f'op.add_column("documents", "score", "int64")\nop.execute("SELECT 1", dialect="{other}")',
    )
    config = warehouse.config(versions_dir)
    upgrade(config, "0001")

    with pytest.raises(BackendNotSupportedError, match=f"raw SQL written for {other}"):
        upgrade(config)

    assert current(config) == "0001"
    assert "score" not in {r[0] for r in _columns(warehouse, "documents")}


def _columns(warehouse: Warehouse, table: str) -> list[tuple[str]]:
    if warehouse.backend == "duckdb":
        return [
            (r[0],)
            for r in warehouse.query(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]
            )
        ]
    return warehouse.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    )


def test_autogenerate_writes_the_difference_as_a_revision(
    warehouse: Warehouse, versions_dir: Path
) -> None:
    config = warehouse.config(versions_dir)
    upgrade(config)
    warehouse.execute('ALTER TABLE documents DROP COLUMN "alias"')

    path = revision(config, "bring alias back", autogenerate=True)

    text = path.read_text()
    assert "op.add_column" in text
    assert "'alias'" in text or '"alias"' in text
    upgrade(config)
    assert check(config).ok


def test_a_failing_revision_rolls_back_with_its_bookkeeping_row(
    warehouse: Warehouse, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(
        versions_dir,
        "0002",
        "0001",
        'op.add_column("documents", "score", "int64")\nop.execute("SELECT * FROM no_such_table")',
    )
    config = warehouse.config(versions_dir)
    upgrade(config, "0001")

    with pytest.raises(MigrationError, match="no_such_table"):
        upgrade(config)

    assert current(config) == "0001"
    assert "score" not in {r[0] for r in _columns(warehouse, "documents")}


def test_a_legacy_duckdb_layout_is_refused_on_postgres(
    postgres_server: object, postgres_database: str
) -> None:
    from tests.postgres.server import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    warehouse = Warehouse("postgres", postgres_server.url(postgres_database))
    warehouse.execute("CREATE TABLE posts (id VARCHAR, content VARCHAR)")

    with pytest.raises(BackendNotSupportedError, match="legacy_v2 layout"):
        upgrade(warehouse.config())
    assert "documents" not in warehouse.tables()


def test_a_partial_table_is_adopted_in_place_on_either_backend(warehouse: Warehouse) -> None:
    warehouse.execute(
        "CREATE TABLE documents (id VARCHAR, title VARCHAR, content VARCHAR, "
        "created_at TIMESTAMPTZ)",
        "INSERT INTO documents VALUES ('d1', 'T', 'B', TIMESTAMPTZ '2024-01-01 00:00:00+00')",
    )

    result = upgrade(warehouse.config())

    assert result.adopted_layout == "partial_unified"
    assert check(warehouse.config()).ok
    assert warehouse.query("SELECT id, doc_type, status FROM documents") == [
        ("d1", "post", "published")
    ]


def test_a_held_migration_lock_ends_in_an_error_naming_the_holder(
    postgres_server: object, postgres_database: str
) -> None:
    from tests.postgres.server import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    url = postgres_server.url(postgres_database)
    with psycopg.connect(url, autocommit=True, application_name="holder-under-test") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        pid = holder.info.backend_pid

        with pytest.raises(MigrationLockedError) as caught:
            upgrade(MigrationConfig(url, lock_timeout=1))

    message = str(caught.value)
    assert f"pid {pid}" in message
    assert "holder-under-test" in message
    assert postgres_server.password not in message
    with open_warehouse(url, read_only=True) as wh:  # nothing was applied
        assert wh.backend == "postgres"
        assert "documents" not in wh.impl.table_names(wh.conn)


def test_a_not_null_column_with_a_default_is_one_statement_on_postgres(
    warehouse: Warehouse, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    write_revision(
        versions_dir,
        "0002",
        "0001",
        'op.add_column("documents", "lang", "string", nullable=False, default="\'en\'")',
    )
    config = warehouse.config(versions_dir)
    upgrade(config, "0001")
    warehouse.execute(
        "INSERT INTO documents (id, created_at, source_checksum, status, doc_type) "
        "VALUES ('p1', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'x', 'published', 'post')"
    )

    sql = plan(config).sql()
    upgrade(config)

    if warehouse.backend == "postgres":  # metadata-only: no SET NOT NULL reading every row
        assert "ADD COLUMN \"lang\" VARCHAR DEFAULT 'en' NOT NULL;" in sql
        assert "SET NOT NULL" not in sql
    else:
        assert "SET NOT NULL" in sql
    assert warehouse.query("SELECT lang FROM documents") == [("en",)]


RECORDED_0001 = "0b942c38c5c32e39f8340297bd4a0f8820857e5db0333cb7bb02751633f2fc64"
"""The SHA-256 every warehouse already at 0001 recorded for revision 0001's file."""


def test_revision_0001_keeps_the_checksum_existing_warehouses_recorded() -> None:
    from egregora_pipeline.migrations.script import ScriptDirectory

    assert ScriptDirectory.load().get("0001").checksum == RECORDED_0001


def test_a_dry_run_that_would_fail_says_so_and_changes_nothing(
    warehouse: Warehouse, versions_dir: Path, write_revision: RevisionWriter
) -> None:
    from egregora_pipeline.migrations.errors import DryRunFailedError

    write_revision(
        versions_dir,
        "0002",
        "0001",
        'op.add_column("documents", "score", "int64")\n'
        'op.alter_column_nullable("documents", "no_such_column", False)',
    )
    config = warehouse.config(versions_dir)
    upgrade(config, "0001")

    with pytest.raises(DryRunFailedError, match="no_such_column"):
        plan(config)

    assert current(config) == "0001"
    assert "score" not in {r[0] for r in _columns(warehouse, "documents")}


def test_an_unknown_revision_in_the_bookkeeping_is_refused(warehouse: Warehouse) -> None:
    config = warehouse.config()
    upgrade(config)
    warehouse.execute(
        "INSERT INTO egregora_migrations VALUES ('9999', '0001', 'from the future', 'x', "
        "now(), 0, 'someone', NULL)"
    )

    report = check(config)

    assert not report.history_ok
    assert "'9999'" in report.history_problems[0]
    with pytest.raises(HistoryError):
        upgrade(config)
    stamp(config, "head")
    assert check(config).ok


def test_the_cli_stamps_downgrades_autogenerates_and_gates_on_either_backend(
    warehouse: Warehouse, versions_dir: Path
) -> None:
    database = str(warehouse.database)
    common = ["--database", database, "--versions-dir", str(versions_dir)]
    config = warehouse.config(versions_dir)
    upgrade(config)
    warehouse.execute('ALTER TABLE documents DROP COLUMN "phash"')

    gate = run_cli("db", "check", *common)
    written = run_cli("db", "revision", "-m", "phash back", "--autogenerate", *common)
    upgrade(config)
    reverted = run_cli("db", "downgrade", "0001", *common)
    at_0001 = current(config)
    stamped = run_cli("db", "stamp", "head", *common)

    assert gate.returncode == 1
    assert "missing column phash" in gate.stdout
    assert written.returncode == 0, written.stderr
    assert "phash" in next(versions_dir.glob("0002_*.py")).read_text()
    assert reverted.returncode == 0, reverted.stderr
    assert at_0001 == "0001"
    assert stamped.returncode == 0, stamped.stderr
    assert current(config) == "0002"
    if warehouse.backend == "postgres":
        password = database.split(":")[2].split("@")[0]
        for done in (gate, written, reverted, stamped):
            assert password not in done.stdout + done.stderr
