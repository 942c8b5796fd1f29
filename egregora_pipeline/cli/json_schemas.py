"""The JSON Schema of each ``--json`` answer, shipped as package data (``cli/schemas/``).

One schema per document shape, named after the command; ``error.json`` is what
any command prints instead when it could not do its work. A CI job can
validate what it reads against the same files the tests validate against
(``docs/cli-json.md`` lists them and the compatibility rule).
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any, Final

SCHEMA_OF_COMMAND: Final = {
    "db current": "db_current",
    "db history": "db_history",
    "db check": "db_check",
    "db plan": "db_plan",
    "db upgrade --sql": "db_plan",
    "db downgrade --sql": "db_plan",
    "db upgrade": "db_upgrade",
    "db downgrade": "db_upgrade",
    "db stamp": "db_stamp",
    "db revision": "db_revision",
    "db backup": "db_backup",
    "db backups": "db_backups",
    "db restore": "db_restore",
    "db storage-upgrade": "db_storage_upgrade",
    "ingest": "ingest",
    "checks": "checks",
}
"""The schema (file stem) of each document's ``command`` field."""

ERROR_SCHEMA: Final = "error"


def load_schema(name: str) -> dict[str, Any]:
    """The schema ``cli/schemas/<name>.json`` (``db_check``, ``ingest``, ``error``, ...)."""
    text = files("egregora_pipeline.cli").joinpath("schemas", f"{name}.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_for(document: dict[str, Any]) -> dict[str, Any]:
    """The schema a document claims: ``error`` when it reports an error, else its command's."""
    if "error" in document:
        return load_schema(ERROR_SCHEMA)
    return load_schema(SCHEMA_OF_COMMAND[document["command"]])
