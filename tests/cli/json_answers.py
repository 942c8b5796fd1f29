"""Running a command with ``--json`` as a script does, and holding its answer to its schema.

Every test of a ``--json`` answer goes through :func:`json_answer`: the real
console script in a subprocess (stdout a pipe), stdout parsed as exactly one
JSON document, and that document validated against the schema the package ships
(``egregora_pipeline/cli/schemas``) with ``jsonschema``'s Draft 2020-12 validator.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from egregora_pipeline.cli.json_schemas import schema_for
from tests.conftest import run_cli


def validate(document: dict[str, Any]) -> None:
    """``document`` against the schema it claims (its command's, or the error schema)."""
    schema = schema_for(document)
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(document)


def json_answer(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run ``egregora-pipeline ARGS --json``; its stdout must be one valid document."""
    done = run_cli(*args, "--json", env=env)
    assert "Traceback" not in done.stderr, done.stderr
    document = json.loads(done.stdout)  # one document and nothing else: loads refuses extra text
    assert isinstance(document, dict)
    validate(document)
    assert document["schema_version"] == 1
    return done, document


def junit_cases(path: Path) -> dict[str, str | None]:
    """A JUnit report's test cases: name -> failure message (None when it passed)."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    cases: dict[str, str | None] = {}
    for suite in root.iter("testsuite"):
        listed = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(listed)
        assert int(suite.get("failures", "-1")) == sum(
            1 for case in listed if case.find("failure") is not None
        )
        for case in listed:
            failure = case.find("failure")
            cases[str(case.get("name"))] = None if failure is None else failure.get("message")
    return cases
