"""Dagster resources: the warehouse connection and the run-time settings.

``WarehouseResource`` *is* a :class:`dagster_duckdb.DuckDBResource` (so it shows
up and configures like one), but opens connections through
:func:`egregora_pipeline.connection.connect_warehouse`: the stock resource gives
up after ten quick retries, while two Dagster runs started together can hold
DuckDB's single-writer lock for far longer than that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from egregora_pipeline.connection import connect_warehouse
from egregora_pipeline.settings import DEFAULT_LOCK_TIMEOUT_SECONDS, Settings

WAREHOUSE_POOL = "egregora_warehouse"
"""The Dagster concurrency pool of every step that opens the warehouse.

``dagster.yaml`` gives it a limit of 1, so steps of concurrent runs queue
instead of fighting over DuckDB's file lock."""


class WarehouseResource(DuckDBResource):
    """The Egregora DuckDB file, opened with lock-aware retries."""

    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long to wait for another process to release the DuckDB file lock.",
    )

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, closed (and its lock released) on exit."""
        conn = connect_warehouse(self.database, lock_timeout=self.lock_timeout_seconds)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def get_read_only_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for checks: never creates or changes the file."""
        conn = connect_warehouse(
            self.database, read_only=True, lock_timeout=self.lock_timeout_seconds
        )
        try:
            yield conn
        finally:
            conn.close()


class EgregoraSettingsResource(dg.ConfigurableResource):
    """How ingestion interprets its inputs (inbox, time zone, tenant, pseudonyms).

    Empty fields fall back to the ``EGREGORA_*`` environment variables and their
    defaults (:meth:`Settings.from_env`), so the UI launchpad only needs values
    that differ from the deployment's environment.
    """

    database: str = Field(default="", description="Warehouse path (EGREGORA_DATABASE).")
    inbox: str = Field(default="", description="Folder the sensor watches (EGREGORA_INBOX).")
    timezone: str = Field(default="", description="Time zone of chat exports (EGREGORA_TIMEZONE).")
    tenant_id: str = Field(default="", description="Tenant written to messages (EGREGORA_TENANT).")

    def settings(self) -> Settings:
        """The effective :class:`Settings` for this run."""
        return Settings.from_env(
            database=Path(self.database) if self.database else None,
            inbox=Path(self.inbox) if self.inbox else None,
            timezone=self.timezone or None,
            tenant_id=self.tenant_id or None,
        )


def build_resources(settings: Settings) -> dict[str, object]:
    """The resource set every job of the code location uses, for ``settings``."""
    return {
        "warehouse": WarehouseResource(
            database=str(settings.database),
            lock_timeout_seconds=settings.lock_timeout_seconds,
        ),
        "egregora": EgregoraSettingsResource(
            database=str(settings.database),
            inbox=str(settings.inbox),
            timezone=settings.timezone,
            tenant_id=settings.tenant_id,
        ),
    }
