"""``--json``: one JSON document on stdout, and errors as JSON documents too.

A script or a CI job reads a command's answer from stdout; under ``--json`` that
answer is exactly one document (:func:`emit`), whatever happens: progress,
warnings and human text go to stderr, and an error that stops the command is
printed by ``cli/main`` as :func:`error_document` instead of a message, with the
same exit code as without ``--json``. Every document carries ``schema_version``
(:data:`SCHEMA_VERSION`); the schemas are package data (``cli/schemas/``) and
``docs/cli-json.md`` describes them.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from egregora_pipeline.backends import WarehouseTarget, redact

SCHEMA_VERSION: Final = 1
"""Bumped only for a change that is not additive (a field removed, renamed or retyped);
new optional fields keep the version (docs/cli-json.md, "Compatibility")."""

JSON_FLAG: Final = "--json"


def json_requested(argv: Sequence[str]) -> bool:
    """Whether the command line asks for ``--json`` (before a ``--`` that ends the options).

    Read from the raw arguments, not from the parsed option, so that an error raised
    before the option is parsed -- an unknown option, a bad value -- is JSON too.
    """
    for arg in argv:
        if arg == "--":
            return False
        if arg == JSON_FLAG:
            return True
    return False


def warehouse_label(database: WarehouseTarget | str | Path) -> str:
    """The warehouse as a document shows it: a path, or a PostgreSQL URL without password.

    A parsed target shows its display form; a name read back from a backup manifest
    is redacted as every backend would.
    """
    if isinstance(database, WarehouseTarget):
        return database.display
    return redact(database)


def document(command: str, **fields: Any) -> dict[str, Any]:
    """A document's common head (``schema_version``, ``command``) followed by ``fields``."""
    return {"schema_version": SCHEMA_VERSION, "command": command, **fields}


def emit(doc: dict[str, Any]) -> None:
    """Write ``doc`` to stdout as one JSON document and a newline.

    ASCII-escaped: file names from hostile exports may hold lone surrogates or
    control characters that no terminal encoding could write; ``\\uXXXX`` is always
    valid JSON and reads back to the same string.
    """
    sys.stdout.write(json.dumps(plain_json(doc), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def plain_json(value: Any) -> Any:
    """``value`` made of JSON's own types only: Dagster metadata can hold records (which
    ``json`` would take for tuples), paths, datetimes or NaN, none of which a strict
    reader accepts; those become strings (NaN and infinities ``null``)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): plain_json(item) for key, item in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return [plain_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_HINTS: Final = {
    "usage": "run the command with --help to see its arguments and options",
    "internal": "this is a bug in egregora-pipeline; re-run with EGREGORA_DEBUG=1 for the "
    "traceback",
    "interrupted": "run the same command again to finish the work",
    "warehouse_not_found": "create the warehouse with `egregora-pipeline db upgrade`, or point "
    "--database / EGREGORA_DATABASE at an existing one",
    "warehouse_locked": "wait for the process holding the warehouse to finish, or raise "
    "EGREGORA_LOCK_TIMEOUT",
    "migration_locked": "wait for the other migration to finish, or raise EGREGORA_LOCK_TIMEOUT",
    "not_at_head": "run `egregora-pipeline db upgrade`",
    "destructive_operation": "review `egregora-pipeline db plan`; pass --allow-destructive to "
    "accept the loss",
    "not_enough_space": "free some space (old backups: `egregora-pipeline db backups`)",
}
"""A hint per error kind when the error carries no ``advice`` of its own (the message
always says what went wrong; the hint is the next step)."""


def error_kind(error: BaseException) -> str:
    """A stable, snake_case name for an error's class: ``WarehouseLockedError`` ->
    ``warehouse_locked``. Scripts branch on it; the message is for people."""
    name = type(error).__name__
    name = name.removesuffix("Error") or name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_document(
    code: int, kind: str, message: str, hint: str | None = None, command: str | None = None
) -> dict[str, Any]:
    """What a command answers under ``--json`` when it could not do its work."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "error": {
            "code": int(code),
            "kind": kind,
            "message": message,
            "hint": hint if hint is not None else _HINTS.get(kind),
        },
    }


def command_name(argv: Sequence[str]) -> str | None:
    """The command a command line names (``db check``, ``ingest``), for an error document."""
    words: list[str] = []
    for arg in argv:
        if arg.startswith("-"):
            break
        words.append(arg)
        if arg != "db":
            break
    return " ".join(words) or None
