"""The data checks' dialect: the few SQL spellings the backends do not share.

The data-quality queries (:mod:`egregora_pipeline.quality`) are plain SQL every
backend reads alike, except JSON access, a lenient cast and an interval. Each
backend spells those in its ``checks.py`` (a :class:`CheckDialect`), handed out
by :meth:`~egregora_pipeline.backends.base.Backend.check_dialect`; the checks
ask the registry for the connection's backend
(:func:`~egregora_pipeline.backends.connection_backend`) and never which engine
they have.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar


class CheckDialect(ABC):
    """How one backend spells what the data checks need beyond shared SQL."""

    name: ClassVar[str]
    """The backend's name (``duckdb``, ``postgres``)."""

    @abstractmethod
    def json_text(self, column: str, key: str) -> str:
        """``column``'s top-level ``key`` as text (NULL when absent)."""

    @abstractmethod
    def ordinal(self, column: str) -> str:
        """``column`` as a BIGINT, NULL when it is not a whole number."""

    def seconds(self, count: int) -> str:
        """An interval of ``count`` seconds."""
        return f"INTERVAL '{int(count)} seconds'"

    def probe_budget(self, conn: Any, budget_bytes: int) -> contextlib.AbstractContextManager[None]:
        """Inside the block, a probe over a whole column caches at most ``budget_bytes``.

        A run-scoped uniqueness check streams every stored key past the run's few
        keys; an engine that keeps what it read cached (DuckDB's buffer pool, up to
        the connection's memory limit) would otherwise grow by the column's size.
        Nothing to do by default: a server caches in its own process.
        """
        del conn, budget_bytes
        return contextlib.nullcontext()
