"""The PostgreSQL sink's errors: a lock another run holds too long, a value PostgreSQL
cannot store, a session the server ended; and the checks that find them."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, Final

from egregora_pipeline.errors import IngestionError, WarehouseError, WarehouseLockedError


class IngestLockTimeoutError(WarehouseLockedError):
    """Another run kept writing a table for longer than we wait: the run stops.

    Not the input's fault, so no input is blamed (the pipeline lets this
    error through); nothing of the input being written was committed, and the
    same command later finishes the work.
    """

    def __init__(
        self,
        url: str,
        table: str,
        waited_seconds: float,
        holder: str,
        *,
        who: str = "another ingest kept writing",
        what: str = "that run",
    ) -> None:
        WarehouseError.__init__(
            self,
            f"warehouse {url}: {who} {table!r} for "
            f"{waited_seconds:g}s ({holder}); this run stopped before writing the input "
            f"it was on. Wait for {what} to finish, or raise EGREGORA_LOCK_TIMEOUT.",
        )
        self.path = self.url = url
        self.table = table
        self.waited_seconds = waited_seconds
        self.holder = holder


class NotStorableInPostgresError(IngestionError):
    """A value PostgreSQL cannot store: text holding the NUL character (U+0000).

    DuckDB stores it, PostgreSQL's ``text`` and ``json`` refuse it; rather than
    alter the text (and with it a message's ``event_id``), the input is refused
    as a whole, naming where the character is, and the other inputs still load.
    """

    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where} holds the NUL character (U+0000), which a PostgreSQL warehouse "
            "cannot store (DuckDB can): remove it from the file and ingest it again"
        )
        self.where = where


_NUL: Final = "\x00"


def check_storable(record: Mapping[str, Any]) -> None:
    """Refuse a document record holding a NUL anywhere, naming the column.

    JSON columns (``extensions``) are looked into: ``json`` stores a NUL escaped
    (``\\u0000``) but cannot give it back as text, so ``extensions->>'origin'``
    (the identity claims of every later ingest) would fail on that row for good.
    """
    json_columns = _json_columns()
    for column, value in record.items():
        if column in json_columns and isinstance(value, str):
            value = json.loads(value)
        if _holds_nul(value):
            raise NotStorableInPostgresError(f"the {column!r} of document {record.get('id')!r}")


@functools.cache
def _json_columns() -> frozenset[str]:
    """The documents' JSON columns (``extensions``), from the declaration."""
    from egregora_pipeline.schema import DOCUMENTS

    return frozenset(name for name, dtype in DOCUMENTS.schema.items() if dtype.is_json())


def _holds_nul(value: Any) -> bool:
    """A NUL in ``value``, a string or a JSON-like tree of lists and dicts (keys too)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _NUL in item:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def printable(text: str) -> str:
    return text.replace(_NUL, "\ufffd")


_SESSION_ENDED_STATES: Final = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: the server ended the session."""


def session_ended(error: BaseException) -> bool:
    """Whether ``error`` says the session is gone (connection class 08, or a shutdown)."""
    state = getattr(error, "sqlstate", None) or ""
    return state.startswith("08") or state in _SESSION_ENDED_STATES
