"""Rejections of one input written as they are found, in bounded batches.

A chat can reject a row per message: 180,000 attachments missing from the
export, a million header-like lines that cannot be read. Kept as Python
objects until the chat was loaded, they cost more memory than the chat's
messages themselves. :class:`RejectionLog` writes them to
``ingest_rejections`` through the sink's ``insert_rejections`` (the same
rows, ids and de-duplication as one bulk insert: a batch's first occurrence
wins, and the anti-join sees the batches written before) every
:data:`BATCH_ROWS` rows, inside the caller's transaction, and keeps only
their count and the first :data:`SAMPLE_SIZE` for the summary. A transaction
that rolls back takes the written rows with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from egregora_pipeline.backends.sink_base import Rejection, RejectionSink

__all__ = ["BATCH_ROWS", "SAMPLE_SIZE", "RejectionLog", "RejectionSink"]

BATCH_ROWS: Final = 10_000
"""Rejections written per statement: a batch of Python objects stays a few MB, and
1M unreadable header lines load in 12.8 s (11.4 s as one bulk insert, which held
2.7 GB). Batches of 20,000 or 50,000 were no faster and held more (300,000
rejected lines: +205 and +262 MB over a one-message chat, against +185 MB)."""

SAMPLE_SIZE: Final = 200
"""Rejections kept per input for the summary (the CLI prints at most 200 in all);
every rejection is in ``ingest_rejections``."""


class RejectionLog:
    """Writes rejections in batches; remembers how many and the first few."""

    def __init__(
        self,
        write: Callable[[list[Rejection]], object],
        *,
        transform: Callable[[Rejection], Rejection] | None = None,
        batch_rows: int = BATCH_ROWS,
        sample_size: int = SAMPLE_SIZE,
    ) -> None:
        """``write`` records one batch (the sink's ``insert_rejections``, bound to the
        run and the input kind); ``transform`` rewrites each rejection first."""
        self._write = write
        self._transform = transform
        self._batch_rows = batch_rows
        self._sample_size = sample_size
        self._pending: list[Rejection] = []
        self.count = 0
        """Rejections received (duplicates included, as ``InputReport.rejected`` counts)."""
        self.sample: list[Rejection] = []
        """The first ``sample_size`` rejections received, in order."""

    def extend(self, rejections: Iterable[Rejection], /) -> None:
        """Take ``rejections``; every full batch is written at once."""
        for rejection in rejections:
            if self._transform is not None:
                rejection = self._transform(rejection)
            self.count += 1
            if len(self.sample) < self._sample_size:
                self.sample.append(rejection)
            self._pending.append(rejection)
            if len(self._pending) >= self._batch_rows:
                self.flush()

    def flush(self) -> None:
        """Write what is pending (the caller's transaction decides whether it stays)."""
        pending, self._pending = self._pending, []
        if pending:
            self._write(pending)
