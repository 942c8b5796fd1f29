"""``--junit FILE``: the checks a command ran, as a JUnit XML report.

CI systems (GitHub Actions test reporters, GitLab, Jenkins, Buildkite) show a
JUnit file as a list of passed and failed tests; ``db check`` reports one test
case per gate (history, at head, each declared table) and ``ingest`` one per
asset check and per input (and per failed step). A case fails exactly when it is
a reason the command does not exit 0, so the report and the exit code agree.
Written with the standard library (``xml.etree``), which escapes every value.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egregora_pipeline.migrations import CheckReport
    from egregora_pipeline.orchestration.local_run import IngestRunOutcome


@dataclass(frozen=True)
class Case:
    """One JUnit test case: passed when ``failure`` is None."""

    name: str
    classname: str
    failure: str | None = None
    """The one-line reason it failed (the ``message`` attribute)."""
    details: str = ""
    """The full text of the failure, or what a passing case wants to say (system-out)."""


@dataclass
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)


def _xml_text(value: object) -> str:
    """``value`` with the characters XML 1.0 cannot hold at all replaced by ``?``
    (hostile file names can carry control characters; the escaping does the rest)."""
    return (
        "".join(
            char if char in "\t\n\r" or (ord(char) >= 0x20 and char not in "\ufffe\uffff") else "?"
            for char in str(value)
        )
        .encode("utf-8", "replace")
        .decode("utf-8")
    )


def write_junit(path: Path, suites: Sequence[Suite]) -> None:
    """Write ``suites`` to ``path`` (replaced atomically: a CI step never reads half a file)."""
    root = ET.Element(
        "testsuites",
        tests=str(sum(len(s.cases) for s in suites)),
        failures=str(sum(1 for s in suites for c in s.cases if c.failure is not None)),
    )
    for suite in suites:
        element = ET.SubElement(
            root,
            "testsuite",
            name=_xml_text(suite.name),
            tests=str(len(suite.cases)),
            failures=str(sum(1 for c in suite.cases if c.failure is not None)),
            errors="0",
            skipped="0",
        )
        for case in suite.cases:
            item = ET.SubElement(
                element, "testcase", name=_xml_text(case.name), classname=_xml_text(case.classname)
            )
            if case.failure is not None:
                failure = ET.SubElement(item, "failure", message=_xml_text(case.failure))
                failure.text = _xml_text(case.details or case.failure)
            elif case.details:
                ET.SubElement(item, "system-out").text = _xml_text(case.details)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            tree.write(stream, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_report_suite(report: CheckReport) -> Suite:
    """``db check`` as a suite: the history, the revision, and one case per declared table."""
    suite = Suite("egregora-pipeline db check")
    classname = "db_check"
    history = "\n".join(report.history_problems)
    suite.cases.append(
        Case(
            "history is intact",
            classname,
            None if report.history_ok else "history problems",
            history,
        )
    )
    at_head = None
    if not report.at_head:
        at_head = f"the warehouse is at {report.current or 'base'}, not at head {report.head}"
    suite.cases.append(Case("warehouse is at head", classname, at_head))
    for drift in report.tables.values():
        problems = [f"missing column {c}" for c in drift.missing if drift.exists]
        problems += [m.describe() for m in drift.mismatched]
        if not drift.exists:
            problems = ["table does not exist"]
        failure = f"{drift.table}: {'; '.join(problems)}" if problems else None
        suite.cases.append(
            Case(
                f"table {drift.table} matches its declaration",
                classname,
                failure,
                "\n".join(problems),
            )
        )
    return suite


def _describe_check(details: dict[str, Any]) -> str:
    lines = []
    for key in (
        "rule",
        "offending_rows",
        "missing_columns",
        "mismatched_columns",
        "problems",
        "sample",
    ):
        value = details.get(key)
        if value not in (None, "", [], {}):
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def ingest_suites(outcome: IngestRunOutcome, failed_inputs: Iterable[str]) -> list[Suite]:
    """``ingest`` as two suites: the asset checks, and the inputs (rejected as a whole or not)."""
    checks = Suite("egregora-pipeline ingest: asset checks")
    for check in outcome.checks:
        failed = not check.passed and not check.warning_only
        summary = None
        if failed:
            rows = check.details.get("offending_rows")
            summary = f"{check.asset}:{check.name} failed" + (
                f" ({rows} offending row(s))" if rows else ""
            )
        details = _describe_check(check.details)
        if check.warning_only and not check.passed:
            details = "WARNING (does not fail the run)\n" + details
        checks.cases.append(Case(check.name, f"asset_check.{check.asset}", summary, details))
    inputs = Suite("egregora-pipeline ingest: inputs")
    rejected_whole = set(failed_inputs)
    for item in outcome.inputs:
        path = str(item["path"])
        reasons = [
            f"{r['source_path']}"
            + (f":{r['line']}" if r.get("line") is not None else "")
            + f": {r['reason']}"
            for r in item.get("rejections", [])
        ]
        failure = None
        if path in rejected_whole:
            failure = str(item.get("error") or f"every record of {path} was rejected")
        elif item["kind"] == "skipped":
            reasons = [str(item.get("note") or "left alone")]
        inputs.cases.append(Case(path, f"input.{item['kind']}", failure, "\n".join(reasons)))
    for step in outcome.failures:
        inputs.cases.append(Case(f"step {step.step}", "step", step.message, step.message))
    return [checks, inputs]
