"""Dagster resources: the warehouse (whatever its backend) and the settings.

The warehouse resource holds the warehouse as a string (Dagster's run
configuration is text) and parses it once (:meth:`WarehouseResource.target`);
which resource :func:`build_resources` builds is read off the backend:

- ``WarehouseResource`` for a backend whose target holds no secret (a DuckDB
  file): it *is* a :class:`dagster_duckdb.DuckDBResource` (so it shows up and
  configures like one), but opens connections through the backend
  (:meth:`~egregora_pipeline.backends.Backend.connect`): the stock resource gives
  up after ten quick retries, while two Dagster runs started together can hold
  DuckDB's single-writer lock for far longer than that.
- ``PostgresWarehouseResource`` for a backend whose target may hold a secret (a
  password in a PostgreSQL URL), always bound as ``EnvVar("EGREGORA_DATABASE")``:
  Dagster stores every run's job snapshot in the instance, resource configuration
  included, and an ``EnvVar`` is stored by its name while a literal value is
  stored as is (measured) -- so the password never reaches the instance, the UI
  or a log.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from egregora_pipeline.backends import (
    ConnectOptions,
    WarehouseTarget,
    backend_of,
    parse_warehouse,
    redact,
)
from egregora_pipeline.errors import WarehouseError
from egregora_pipeline.orchestration.pool import WAREHOUSE_POOL
from egregora_pipeline.settings import DEFAULT_DATABASE, DEFAULT_LOCK_TIMEOUT_SECONDS, Settings

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
"""Where a warehouse that may hold a secret reaches the steps: the environment, never config."""


@functools.lru_cache(maxsize=32)
def _parsed(value: str) -> WarehouseTarget:
    """The resource's warehouse string, parsed once per value (steps ask for it often)."""
    return parse_warehouse(value)


class WarehouseResource(DuckDBResource):
    """A warehouse file (DuckDB), opened by its backend with lock-aware retries."""

    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long to wait for another process to release the DuckDB file lock.",
    )

    def target(self) -> WarehouseTarget:
        return _parsed(self.database)

    def _open(self, *, read_only: bool) -> Any:
        target = self.target()
        options = ConnectOptions(read_only=read_only, lock_timeout=self.lock_timeout_seconds)
        return backend_of(target).connect(target, options)

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        """A read-write connection, closed (and its lock released) on exit."""
        conn = self._open(read_only=False)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def get_read_only_connection(self) -> Iterator[Any]:
        """A read-only connection for checks: never creates or changes the file."""
        conn = self._open(read_only=True)
        try:
            yield conn
        finally:
            conn.close()


class PostgresWarehouseResource(dg.ConfigurableResource):
    """A warehouse whose target may hold a secret; ``url`` is ``EnvVar("EGREGORA_DATABASE")``.

    The password stays in that variable (or in ``PGPASSWORD`` / the password
    file, as libpq looks it up): never in config, tags, metadata or logs, which
    show the target's ``display`` form.
    """

    url: str = Field(description="PostgreSQL URL, from the environment (EGREGORA_DATABASE).")
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long to wait for a lock another session holds (migration, table).",
    )

    def target(self) -> WarehouseTarget:
        target = _parsed(self.url)
        if not backend_of(target).secret_in_target:  # the variable changed under us
            raise WarehouseError(
                f"warehouse {target.display}: EGREGORA_DATABASE names another kind of "
                "warehouse than the one this code location was loaded for; reload it"
            )
        return target


Warehouse = WarehouseResource | PostgresWarehouseResource
"""The ``warehouse`` resource of every job: one class per way of holding the target."""


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

        The warehouse is its display form here (no password): ingestion reads
        only what it says about the media store (:attr:`Settings.media_store`),
        and the steps open the warehouse through the ``warehouse`` resource.
        """
        return Settings.from_env(
            database=self.database or None,
            inbox=Path(self.inbox) if self.inbox else None,
            timezone=self.timezone or None,
            tenant_id=self.tenant_id or None,
            media_dir=Path(self.media_dir) if self.media_dir else None,
        )


def _bind_environment(target: WarehouseTarget) -> None:
    """Put ``target`` in ``EGREGORA_DATABASE`` unless the variable already names it.

    ``--database`` on the command line reaches the steps (and their subprocesses)
    this way, secret included, without ever being written into run configuration.
    """
    backend = backend_of(target)
    current = os.environ.get(WAREHOUSE_URL_ENV)
    if current is not None:
        try:
            same = backend.environment_value(parse_warehouse(current)) == (
                backend.environment_value(target)
            )
        except (WarehouseError, TypeError):
            same = False
        if same:
            return
    os.environ[WAREHOUSE_URL_ENV] = backend.environment_value(target)


def build_resources(settings: Settings) -> dict[str, object]:
    """The resource set every job of the code location uses, for ``settings``.

    A warehouse whose target may hold a secret (a PostgreSQL URL) gets
    :class:`PostgresWarehouseResource` bound to ``EnvVar("EGREGORA_DATABASE")``;
    if the variable does not hold that warehouse yet (``--database`` on the
    command line), it is set in this process, whose steps and subprocesses read
    it there. Any other gets :class:`WarehouseResource` holding its display form.
    """
    target = settings.database
    warehouse: Warehouse
    if backend_of(target).secret_in_target:
        _bind_environment(target)
        warehouse = PostgresWarehouseResource(
            url=dg.EnvVar(WAREHOUSE_URL_ENV), lock_timeout_seconds=settings.lock_timeout_seconds
        )
    else:
        warehouse = WarehouseResource(
            database=target.display, lock_timeout_seconds=settings.lock_timeout_seconds
        )
    return {
        "warehouse": warehouse,
        "egregora": EgregoraSettingsResource(
            database=target.display,
            inbox=str(settings.inbox),
            timezone=settings.timezone,
            tenant_id=settings.tenant_id,
            media_dir=str(settings.media_dir) if settings.media_dir is not None else "",
        ),
    }


def warehouse_display(egregora: EgregoraSettingsResource) -> str:
    """The warehouse of this run as tags and logs show it: a path, or a URL without password."""
    value = egregora.database or os.environ.get(WAREHOUSE_URL_ENV) or DEFAULT_DATABASE
    try:
        return _parsed(value).display
    except WarehouseError:
        return redact(value)
