"""Run ``ingest_job`` in this process and collect what happened, for the CLI.

``egregora-pipeline ingest`` goes through the same job as the UI, schedules and
sensors (so the same migration op, blocking checks and data checks run); this
module executes it in-process and turns the run's events into a plain
:class:`IngestRunOutcome` the CLI can print without knowing Dagster's event model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from egregora_pipeline.orchestration.dead_runs import new_run_id, release_dead_runs, run_tags
from egregora_pipeline.orchestration.ingestion_assets import INGEST_OP, ProgressSink, no_progress
from egregora_pipeline.orchestration.instance import InstanceChoice, open_instance
from egregora_pipeline.orchestration.jobs import INGEST_JOB
from egregora_pipeline.orchestration.resources import (
    EgregoraSettingsResource,
    build_resources,
    warehouse_display,
)
from egregora_pipeline.orchestration.schema_assets import SCHEMA_ASSET
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_TAG
from egregora_pipeline.settings import Settings

if TYPE_CHECKING:  # only annotates: the class lives in Dagster's internal package
    from dagster_shared.error import SerializableErrorInfo


@dataclass(frozen=True)
class CheckOutcome:
    """One asset check's verdict, flattened for printing."""

    asset: str
    name: str
    passed: bool
    details: dict[str, Any]
    warning_only: bool = False
    """A WARN-severity check: shown when it fails, but it does not fail the run."""


@dataclass(frozen=True)
class StepFailure:
    """A step that failed, with Dagster's error message (no traceback)."""

    step: str
    message: str


@dataclass
class IngestRunOutcome:
    """Everything the CLI prints about one ``ingest_job`` run."""

    run_id: str
    success: bool
    schema: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    failures: list[StepFailure] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)
    instance: InstanceChoice | None = None

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [check for check in self.checks if not check.passed and not check.warning_only]

    @property
    def warned_checks(self) -> list[CheckOutcome]:
        return [check for check in self.checks if not check.passed and check.warning_only]

    @property
    def interrupted(self) -> bool:
        """Ctrl-C / SIGINT stopped a step (Dagster or DuckDB reported the interruption)."""
        return any(_INTERRUPTION.search(failure.message) for failure in self.failures)

    @property
    def failed_inputs(self) -> list[dict[str, Any]]:
        """Inputs rejected as a whole: an error, or every record of it refused."""
        return [item for item in self.inputs if item.get("error") or _nothing_accepted(item)]


EPHEMERAL = InstanceChoice("ephemeral", None, "a throw-away instance")

_INTERRUPTION = re.compile(
    r"DagsterExecutionInterruptedError|KeyboardInterrupt|Query interrupted|INTERRUPT Error"
)


def _nothing_accepted(item: dict[str, Any]) -> bool:
    accepted = sum(
        int(item.get(key) or 0)
        for key in ("messages_added", "messages_skipped", "documents_added", "documents_skipped")
    )
    return int(item.get("rejected") or 0) > 0 and accepted == 0


def _plain(value: Any) -> Any:
    """A metadata value's Python payload (``MetadataValue.value``), else the value."""
    return getattr(value, "value", value)


def run_ingest_job(
    defs: dg.Definitions,
    paths: Sequence[Path],
    settings: Settings,
    *,
    progress: ProgressSink = no_progress,
    log_level: str = "CRITICAL",
    instance: InstanceChoice = EPHEMERAL,
    on_start: Callable[[], None] | None = None,
) -> IngestRunOutcome:
    """Execute ``ingest_job`` on ``paths`` against ``settings.database``; never raises.

    ``on_start`` is called once everything is loaded and the job is about to run
    (the CLI ends its start-up there: :mod:`egregora_pipeline.cli.heap`).

    The run is recorded in ``instance`` (see :mod:`.instance`); the default is a
    throw-away one, which is what library callers and tests want. ``defs``
    should come from :func:`egregora_pipeline.definitions.build_defs` for the
    same ``settings``.
    """
    job = defs.resolve_job_def(INGEST_JOB)
    run_config = {
        "ops": {INGEST_OP: {"config": {"paths": [str(p) for p in paths]}}},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    resources = {**build_resources(settings), "progress": progress}
    egregora = resources["egregora"]
    assert isinstance(egregora, EgregoraSettingsResource)
    with open_instance(instance) as dagster_instance:
        if instance.persistent:  # a killed earlier run must not hold the pool slot forever
            release_dead_runs(dagster_instance)
        run_id = new_run_id()
        if on_start is not None:
            on_start()
        result = job.execute_in_process(
            run_config=run_config,
            instance=dagster_instance,
            raise_on_error=False,
            resources=resources,
            run_id=run_id,
            tags={**run_tags(run_id), WAREHOUSE_TAG: warehouse_display(egregora)},
        )
    outcome = collect_outcome(result)
    outcome.instance = instance
    return outcome


def _root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error of a failed step, which is the one that says what went wrong.

    Dagster wraps what an op raised in ``DagsterExecutionStepExecutionError``
    ("Error occurred while executing op ..."); the op's own exception is its
    ``cause``. Our errors read well by themselves; others keep their type name.
    """
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    own = (
        error.cls_name is not None
        and error.cls_name.endswith("Error")
        and message.startswith("egregora_pipeline.")
    )
    if own:  # "egregora_pipeline.errors.WarehouseLockedError: warehouse ..." -> the text
        message = message.split(": ", 1)[-1]
    return message


def collect_outcome(result: dg.ExecuteInProcessResult) -> IngestRunOutcome:
    """Flatten a finished run's events into an :class:`IngestRunOutcome`."""
    outcome = IngestRunOutcome(run_id=result.run_id, success=result.success)
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        metadata = {k: _plain(v) for k, v in materialization.metadata.items()}
        name = materialization.asset_key.to_user_string()
        if materialization.asset_key == SCHEMA_ASSET:
            outcome.schema = metadata
        else:
            outcome.tables[name] = metadata
            if not outcome.inputs and isinstance(metadata.get("inputs"), list):
                outcome.inputs = list(metadata["inputs"])
    for evaluation in result.get_asset_check_evaluations():
        outcome.checks.append(
            CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                name=evaluation.check_name,
                passed=evaluation.passed,
                details={k: _plain(v) for k, v in evaluation.metadata.items()},
                warning_only=evaluation.severity == dg.AssetCheckSeverity.WARN,
            )
        )
    for failure in result.get_step_failure_events():
        data = failure.step_failure_data
        if data.error is not None and data.error.cls_name == "DagsterAssetCheckFailedError":
            continue  # a blocking check that failed: already reported in ``checks``
        message = data.user_failure_data.description if data.user_failure_data else None
        if not message and data.error is not None:
            message = _root_cause(data.error)
        outcome.failures.append(StepFailure(step=failure.step_key or "?", message=message or ""))
    # Steps held back by a failed blocking check or upstream step only log
    # "Dependencies ... failed. Not executing": they are the planned steps that never started.
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    planned = [node.name for node in result.job_def.nodes_in_topological_order]
    outcome.skipped_steps = [name for name in planned if name not in started]
    return outcome
