"""Dagster resources: the warehouse (DuckDB or PostgreSQL, from its URL) and the settings.

``WarehouseResource`` *is* a :class:`dagster_duckdb.DuckDBResource` (so it shows
up and configures like one), but opens connections through
:func:`egregora_pipeline.connection.connect_warehouse`: the stock resource gives
up after ten quick retries, while two Dagster runs started together can hold
DuckDB's single-writer lock for far longer than that.

``PostgresWarehouseResource`` holds a PostgreSQL URL, always bound as
``EnvVar("EGREGORA_DATABASE")``: Dagster stores every run's job snapshot in the
instance, resource configuration included, and an ``EnvVar`` is stored by its
name while a literal value is stored as is (measured) -- so the password never
reaches the instance, the UI or a log. :func:`build_resources` picks the
resource from the URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from egregora_pipeline.connection import connect_warehouse
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_POOL
from egregora_pipeline.settings import DEFAULT_LOCK_TIMEOUT_SECONDS, Settings
from egregora_pipeline.warehouse_url import (
    DuckDBTarget,
    PostgresTarget,
    WarehouseURLError,
    is_postgres_url,
    parse_warehouse,
    redact_url,
)

__all__ = [
    "WAREHOUSE_POOL",
    "WAREHOUSE_URL_ENV",
    "EgregoraSettingsResource",
    "PostgresWarehouseResource",
    "Warehouse",
    "WarehouseResource",
    "build_resources",
    "warehouse_display",
]

WAREHOUSE_URL_ENV = "EGREGORA_DATABASE"
"""Where a PostgreSQL warehouse URL reaches the steps: the environment, never config."""


class WarehouseResource(DuckDBResource):
    """The Egregora DuckDB file, opened with lock-aware retries."""

    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long to wait for another process to release the DuckDB file lock.",
    )

    def target(self) -> DuckDBTarget:
        return DuckDBTarget(Path(self.database))

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


class PostgresWarehouseResource(dg.ConfigurableResource):
    """A PostgreSQL warehouse; ``url`` is bound as ``EnvVar("EGREGORA_DATABASE")``.

    The password stays in that variable (or in ``PGPASSWORD`` / the password
    file, as libpq looks it up): never in config, tags, metadata or logs, which
    show the target's ``display`` form.
    """

    url: str = Field(description="PostgreSQL URL, from the environment (EGREGORA_DATABASE).")
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long to wait for a lock another session holds (migration, table).",
    )

    def target(self) -> PostgresTarget:
        target = parse_warehouse(self.url)
        if not isinstance(target, PostgresTarget):  # the variable changed under us
            raise WarehouseURLError(str(target), "is not a PostgreSQL URL any more")
        return target


Warehouse = WarehouseResource | PostgresWarehouseResource
"""The ``warehouse`` resource of every job: one class per backend."""


class EgregoraSettingsResource(dg.ConfigurableResource):
    """How ingestion interprets its inputs (inbox, time zone, tenant, pseudonyms).

    Empty fields fall back to the ``EGREGORA_*`` environment variables and their
    defaults (:meth:`Settings.from_env`), so the UI launchpad only needs values
    that differ from the deployment's environment.
    """

    database: str = Field(
        default="",
        description="Warehouse path, or a PostgreSQL URL without its password (EGREGORA_DATABASE).",
    )
    inbox: str = Field(default="", description="Folder the sensor watches (EGREGORA_INBOX).")
    timezone: str = Field(default="", description="Time zone of chat exports (EGREGORA_TIMEZONE).")
    tenant_id: str = Field(default="", description="Tenant written to messages (EGREGORA_TENANT).")
    media_dir: str = Field(
        default="",
        description=(
            "Media store folder (EGREGORA_MEDIA_DIR); required on a PostgreSQL warehouse, "
            "else `media/` beside the DuckDB file."
        ),
    )

    def settings(self) -> Settings:
        """The effective :class:`Settings` for this run.

        A PostgreSQL warehouse stays its (password-free) URL string: folded into a
        ``Path`` it would still read as a URL, but the media store must never be
        derived from it (:attr:`Settings.media_store` refuses instead).
        """
        database: Path | str | None = None
        if self.database:
            database = self.database if is_postgres_url(self.database) else Path(self.database)
        return Settings.from_env(
            database=database,
            inbox=Path(self.inbox) if self.inbox else None,
            timezone=self.timezone or None,
            tenant_id=self.tenant_id or None,
            media_dir=Path(self.media_dir) if self.media_dir else None,
        )


def build_resources(settings: Settings, database: str | None = None) -> dict[str, object]:
    """The resource set every job of the code location uses, for ``settings``.

    ``database`` is the raw ``EGREGORA_DATABASE`` / ``--database`` value when the
    caller has it (``Settings.database`` is a path, which folds a URL's ``//``);
    without it, ``settings.database``. A PostgreSQL URL gets
    :class:`PostgresWarehouseResource` bound to ``EnvVar("EGREGORA_DATABASE")``;
    if the variable does not hold that URL yet (``--database`` on the command
    line), it is set in this process, whose steps and subprocesses read it there.
    """
    value = database if database is not None else str(settings.database)
    target = parse_warehouse(value)
    warehouse: Warehouse
    if isinstance(target, PostgresTarget):
        if os.environ.get(WAREHOUSE_URL_ENV) != value:
            os.environ[WAREHOUSE_URL_ENV] = value
        warehouse = PostgresWarehouseResource(
            url=dg.EnvVar(WAREHOUSE_URL_ENV), lock_timeout_seconds=settings.lock_timeout_seconds
        )
        shown = target.display
    else:
        warehouse = WarehouseResource(
            database=str(target.path), lock_timeout_seconds=settings.lock_timeout_seconds
        )
        shown = str(target.path)
    return {
        "warehouse": warehouse,
        "egregora": EgregoraSettingsResource(
            database=shown,
            inbox=str(settings.inbox),
            timezone=settings.timezone,
            tenant_id=settings.tenant_id,
            media_dir=str(settings.media_dir) if settings.media_dir is not None else "",
        ),
    }


def warehouse_display(egregora: EgregoraSettingsResource) -> str:
    """The warehouse of this run as tags and logs show it: a path, or a URL without password."""
    value = egregora.database or os.environ.get(WAREHOUSE_URL_ENV) or str(Settings().database)
    if not is_postgres_url(value):
        return value
    try:
        return parse_warehouse(value).display
    except WarehouseURLError:
        return redact_url(value)
