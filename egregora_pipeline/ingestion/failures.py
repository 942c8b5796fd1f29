"""How one input's failure is told apart from the run's, and said in words.

Every input is handled in its own ``try``: a hostile archive, a chat in an
unknown format or a broken Markdown file is reported (``InputReport.error`` and
a row in ``ingest_rejections``) and the next input still ingests. Some errors
are not the input's fault and stop the whole run instead (:func:`stop_if_fatal`).
"""

from __future__ import annotations

from egregora_pipeline.backends.sink_base import Sink
from egregora_pipeline.errors import (
    EgregoraError,
    WarehouseConnectionLostError,
    WarehouseLockedError,
)
from egregora_pipeline.ingestion.report import InputReport, Rejection, shorten, storable_name
from egregora_pipeline.ingestion.stable_read import FileChangedError
from egregora_pipeline.ingestion.streams import NotRegularFileError


def stop_if_fatal(sink: Sink, error: Exception) -> None:
    """Ctrl-C is not a bad input: stop the whole run instead of reporting the input.

    The engine may turn the ``KeyboardInterrupt`` into its own error; recording
    that as a rejection would blame the input and carry on with the next one
    (the sink knows its engine's errors: :meth:`~.sink_base.Sink.fatal`).
    """
    stop = sink.fatal(error)
    if isinstance(stop, KeyboardInterrupt):
        raise stop from error
    if stop is not None:  # a full disk: every later input would fail too
        raise stop from None  # from None: Dagster reports the innermost cause
    if isinstance(error, WarehouseLockedError | WarehouseConnectionLostError):
        raise error  # a PostgreSQL lock wait, a session the server ended: not the input's fault


def describe(sink: Sink, error: BaseException) -> str:
    """A reason a person can act on; never a bare exception class name.

    Our errors already read well. For the rest, the cause is said in words
    and the exception's class is kept only as a detail in brackets.
    """
    if isinstance(error, EgregoraError):
        return str(error)
    detail = shorten(str(error), 300) if str(error) else ""
    if isinstance(error, NotRegularFileError | FileChangedError):
        return str(error)
    if isinstance(error, OSError):
        return f"cannot read the file: {error.strerror or detail or 'operating system error'}"
    if isinstance(error, MemoryError):
        return "reading this input needed more memory than is available"
    if isinstance(error, RecursionError):
        return "this input is nested too deeply to read"
    engine = sink.describe(error)
    if engine is not None:
        return engine
    if isinstance(error, OverflowError):
        return f"a number or date in this input is too large to store ({detail})"
    return f"could not read this input ({type(error).__name__}: {detail or 'no detail'})"


def fail(entry: InputReport, message: str) -> None:
    """Mark an input as rejected as a whole and say why (the caller records the row)."""
    message = storable_name(message)
    entry.error = message
    entry.messages_added = entry.messages_skipped = 0
    entry.documents_added = entry.documents_skipped = entry.documents_updated = 0
    entry.rejections = [Rejection(entry.source, None, None, message, None)]
    entry.rejections_not_listed = 0
