"""``egregora-pipeline ingest PATH...``: run ``ingest_job`` in-process on PATHs.

Goes through the Dagster job, not the library directly, so what runs here is
exactly what runs from the UI, a schedule or the sensor: ``migrate_schema``,
its blocking checks, the ingestion op (with its own schema gate), then the
data checks. Exit code: 0 when everything passed; 1 when a check failed or an
input was rejected as a whole; 3 when a step failed for another reason (e.g.
the in-asset schema gate, or a warehouse locked past the timeout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egregora_pipeline.cli.exit_codes import ExitCode
from egregora_pipeline.cli.heap import startup_heap
from egregora_pipeline.cli.options import (
    DEFAULT_WAREHOUSE,
    JsonOption,
    JunitOption,
    WarehouseOption,
)
from egregora_pipeline.errors import SettingsError
from egregora_pipeline.orchestration.instance import choose_instance
from egregora_pipeline.settings import Settings


def _valid_timezone(value: str | None) -> str | None:
    """Reject a zone Python or DuckDB does not know as a usage error (exit 2), before any
    run starts: one DuckDB cannot read would otherwise fail every chat, blaming the inputs."""
    if value:
        from egregora_pipeline.ingestion.errors import InvalidSettingError
        from egregora_pipeline.ingestion.whatsapp.timezone_check import check_timezone

        try:
            check_timezone(value)
        except InvalidSettingError as error:
            raise typer.BadParameter(
                f"{value!r} is not a usable IANA time zone (e.g. America/Sao_Paulo): "
                f"expected {error.expected}"
            ) from None
    return value


def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="WhatsApp exports (.zip/.txt), Markdown files or folders, media files or folders.",
            exists=True,
            readable=True,
            resolve_path=False,
        ),
    ],
    database: WarehouseOption = DEFAULT_WAREHOUSE,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            envvar="EGREGORA_TIMEZONE",
            help="Time zone the chat exports were written in (env EGREGORA_TIMEZONE, default UTC).",
            callback=_valid_timezone,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Dagster's step logs.")
    ] = False,
    ephemeral: Annotated[
        bool,
        typer.Option(
            "--ephemeral",
            envvar="EGREGORA_EPHEMERAL_INSTANCE",
            help="Record the run in a throw-away Dagster instance instead of the project's "
            "(./dagster.yaml) or DAGSTER_HOME's (env EGREGORA_EPHEMERAL_INSTANCE=1).",
        ),
    ] = False,
    as_json: JsonOption = False,
    junit: JunitOption = None,
) -> None:
    """Ingest WhatsApp exports, Markdown content and media into the warehouse.

    Runs the Dagster job ``ingest_job`` in this process: the schema is migrated
    to head first, blocking checks confirm every declared column, then the
    inputs are ingested and the data checks run. A per-input summary follows.

    ``--database`` is a DuckDB file or a PostgreSQL URL; on PostgreSQL the media
    store is ``EGREGORA_MEDIA_DIR`` (required: a server has no folder beside it).

    The run is recorded in the project's Dagster instance (``./dagster.yaml``, the
    one ``make dagster-dev`` shows), in ``DAGSTER_HOME``'s if set, or nowhere with
    ``--ephemeral``.

    ``--json`` answers with one document (the run id, each input with its rejections,
    every asset check with its offending rows); ``--junit FILE`` writes the checks and
    inputs as a JUnit report. See docs/cli-json.md and docs/ci.md.
    """
    with startup_heap() as end_of_startup:  # cli/heap.py: the imports ahead, collected never
        # Imported here, not at the top: `--help` and the `db` commands need none of it.
        from egregora_pipeline.cli.console import stderr_console, stdout_console
        from egregora_pipeline.cli.ingest_report import IngestProgressBars, render_outcome
        from egregora_pipeline.ingestion.errors import InvalidSettingError
        from egregora_pipeline.ingestion.limits import InputLimits
        from egregora_pipeline.ingestion.whatsapp.formats import date_order_override

        settings = Settings.from_env(database=database, timezone=timezone)
        try:
            settings.media_store  # noqa: B018  # PostgreSQL without EGREGORA_MEDIA_DIR: refuse now
        except SettingsError as error:
            raise typer.BadParameter(str(error), param_hint=error.variable) from None
        instance = choose_instance(ephemeral=ephemeral)
        try:
            date_order_override(None)  # a bad EGREGORA_DATE_ORDER is a usage error, not a run
        except InvalidSettingError as error:
            raise typer.BadParameter(str(error), param_hint="EGREGORA_DATE_ORDER") from None
        try:
            InputLimits.from_env()  # so is a bad EGREGORA_MAX_* limit
        except SettingsError as error:
            raise typer.BadParameter(str(error), param_hint=error.variable) from None
        # logs and pipes: no width limit, so paths and tables stay whole (cli/console.py);
        # under --json the human summary goes to stderr and stdout holds the document alone
        out = stderr_console() if as_json else stdout_console()
        # Dagster: only once the inputs are valid
        from egregora_pipeline.definitions import build_defs
        from egregora_pipeline.orchestration.local_run import run_ingest_job

        defs = build_defs(settings)
        with IngestProgressBars(stderr_console()) as progress:
            outcome = run_ingest_job(
                defs,
                paths,
                settings,
                progress=progress,
                log_level="INFO" if verbose else "CRITICAL",
                instance=instance,
                on_start=end_of_startup,
            )
    if outcome.interrupted:
        raise KeyboardInterrupt  # main() prints what an interruption leaves behind
    code = ExitCode.OK
    if outcome.failed_checks or outcome.failed_inputs:
        code = ExitCode.CHECK_FAILED
    elif outcome.failures or not outcome.success:
        code = ExitCode.ERROR
    if junit is not None:
        from egregora_pipeline.cli.junit import ingest_suites, write_junit

        write_junit(junit, ingest_suites(outcome, [str(i["path"]) for i in outcome.failed_inputs]))
    if as_json:
        from egregora_pipeline.cli.ingest_documents import ingest_document
        from egregora_pipeline.cli.json_output import emit

        emit(ingest_document(outcome, settings.database.display, instance.reason, int(code)))
    else:
        render_outcome(out, outcome, settings)
        out.print(f"Dagster run {outcome.run_id}: {instance.reason}", highlight=False, markup=False)
    if code != ExitCode.OK:
        raise typer.Exit(code)
