"""``egregora-pipeline checks``: the data checks over whole tables, without Dagster.

An ingest run's data checks judge only what that run wrote (``docs/data-checks.md``),
so a problem no run introduced -- a hand edit, a row an older tool left -- is caught
here, or by the ``full_data_checks_job`` (its weekly schedule). Same queries, same
verdicts; read-only.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from egregora_pipeline.cli.console import stdout_console
from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.json_output import document, emit, warehouse_label
from egregora_pipeline.cli.options import DEFAULT_WAREHOUSE, JsonOption, WarehouseOption
from egregora_pipeline.settings import Settings


def checks_command(
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    as_json: JsonOption = False,
) -> None:
    """Run the data checks over whole tables: exit 1 when an ERROR check fails.

    Every ingest run checks the rows it wrote; this judges every row (a scan of each
    table: what a weekly job runs). Threads out of time order only warn. Read-only.
    """
    from egregora_pipeline.migrations import open_warehouse
    from egregora_pipeline.quality import FULL_TABLE, data_checks

    settings = Settings.from_env()
    with open_warehouse(
        database,
        read_only=True,
        lock_timeout=settings.lock_timeout_seconds,
        purpose="checks",
    ) as opened:
        verdicts = list(data_checks(opened.conn, FULL_TABLE))
    rows: list[dict[str, Any]] = [
        {
            "asset": v.table,
            "name": v.name,
            "passed": v.finding.ok,
            "severity": "WARN" if v.warning_only else "ERROR",
            "scope": v.scope,
            "rule": v.finding.rule,
            "offending_rows": v.finding.offending_rows,
            "sample": [{k: str(x) for k, x in row.items()} for row in v.finding.sample],
        }
        for v in verdicts
    ]
    ok = all(row["passed"] or row["severity"] == "WARN" for row in rows)
    if as_json:
        emit(
            document(
                "checks",
                warehouse=warehouse_label(database),
                scope="full table",
                ok=ok,
                checks=rows,
            )
        )
    else:
        table = Table(title="data checks (full table)", title_justify="left")
        for name in ("check", "verdict", "offending rows", "rule"):
            table.add_column(name)
        for row in rows:
            verdict = (
                "passed"
                if row["passed"]
                else ("warning" if row["severity"] == "WARN" else "FAILED")
            )
            table.add_row(
                f"{row['asset']}:{row['name']}", verdict, str(row["offending_rows"]), row["rule"]
            )
        stdout_console().print(table)
    if not ok:
        raise typer.Exit(ExitCode.CHECK_FAILED)
