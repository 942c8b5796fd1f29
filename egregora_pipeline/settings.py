"""Run-time settings, read from environment variables with documented defaults.

Every entry point (CLI, Dagster resources, tests) builds a :class:`Settings`
through :meth:`Settings.from_env` so the defaults live in one place.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, TypeVar

from egregora_pipeline.backends import WarehouseTarget, backend_of, parse_warehouse
from egregora_pipeline.defaults import (
    DEFAULT_BACKUP_KEEP,
    DEFAULT_DATABASE,
    DEFAULT_INBOX,
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    DEFAULT_TENANT,
    DEFAULT_TIMEZONE,
)
from egregora_pipeline.errors import SettingsError

_T = TypeVar("_T")

_SWITCH: Final = {
    "on": True,
    "true": True,
    "1": True,
    "yes": True,
    "off": False,
    "false": False,
    "0": False,
    "no": False,
}
LEGACY_AUTHOR_NAMESPACE: Final = uuid.UUID("6f0f3c1e-7c39-5b7a-9a34-3d1c0e4b8a21")
"""The namespace every pseudonym was derived in before revision 0002 moved them to
upstream Egregora's (kept so that the revision can recognise them)."""


def _parse(
    env: Mapping[str, str],
    variable: str,
    default: str,
    parse: Callable[[str], _T],
    expected: str,
) -> _T:
    """``parse`` the variable's value, or raise :class:`SettingsError` naming it."""
    raw = env.get(variable) or default
    try:
        return parse(raw)
    except ValueError:
        raise SettingsError(variable, raw, expected) from None


def _seconds(raw: str) -> float:
    """A duration: finite and not negative (``float`` alone accepts ``nan`` and ``-5``)."""
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError(raw)
    return value


def _switch(raw: str) -> bool:
    try:
        return _SWITCH[raw.strip().lower()]
    except KeyError:
        raise ValueError(raw) from None


def _optional_uuid(raw: str) -> uuid.UUID | None:
    return uuid.UUID(raw) if raw else None


def _count(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


@dataclass(frozen=True)
class Settings:
    """Where the warehouse lives and how ingestion interprets its inputs.

    ``database`` is the warehouse parsed once (:func:`.backends.parse_warehouse`):
    every layer receives this target, never the raw ``EGREGORA_DATABASE`` /
    ``--database`` text again. A ``str`` or ``Path`` given to the constructor is
    parsed on the spot, so callers that build settings by hand keep working.
    """

    database: WarehouseTarget = field(default_factory=lambda: parse_warehouse(DEFAULT_DATABASE))
    inbox: Path = Path(DEFAULT_INBOX)
    timezone: str = DEFAULT_TIMEZONE
    tenant_id: str = DEFAULT_TENANT
    author_namespace: uuid.UUID | None = None
    """None: upstream Egregora's pseudonyms; a (secret) UUID: salted ones, opt-in
    (``EGREGORA_AUTHOR_NAMESPACE``; see :func:`.ingestion.identity.author_uuid`)."""
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    media_dir: Path | None = None
    backup_enabled: bool = True
    """Back up before a migration drops or rewrites data (``EGREGORA_BACKUP``)."""
    backup_keep: int = DEFAULT_BACKUP_KEEP

    def __post_init__(self) -> None:
        if not isinstance(self.database, WarehouseTarget):
            object.__setattr__(self, "database", parse_warehouse(self.database))

    @property
    def media_store(self) -> Path:
        """Content-addressed media store; by default ``media/`` next to the warehouse.

        A PostgreSQL warehouse has no folder beside it (a path derived from its URL
        would be a meaningless local folder), so there ``EGREGORA_MEDIA_DIR`` is
        required: :class:`SettingsError` without it.
        """
        if self.media_dir is not None:
            return self.media_dir
        folder = self.database.local_folder
        if folder is None:
            raise SettingsError(
                "EGREGORA_MEDIA_DIR",
                "",
                f"a folder for the media store: the {backend_of(self.database).label} warehouse "
                f"{self.database.display} has no folder of its own to keep it beside "
                "(set EGREGORA_MEDIA_DIR to a folder every run can reach)",
            )
        return folder / "media"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``EGREGORA_*`` variables; keyword ``overrides`` win (None is ignored).

        The warehouse is parsed here, once: ``database=`` may be a ``str``, a ``Path``
        or a target already parsed; a URL its backend cannot read raises that
        backend's error (with nothing secret in it) now, not in the first step that
        would open it.
        """
        env = os.environ if environ is None else environ
        media = env.get("EGREGORA_MEDIA_DIR")
        chosen = {k: v for k, v in overrides.items() if v is not None}
        database = chosen.pop("database", None) or env.get("EGREGORA_DATABASE") or DEFAULT_DATABASE
        settings = cls(
            database=parse_warehouse(database),  # type: ignore[arg-type]
            inbox=Path(env.get("EGREGORA_INBOX") or DEFAULT_INBOX),
            timezone=env.get("EGREGORA_TIMEZONE") or DEFAULT_TIMEZONE,
            tenant_id=env.get("EGREGORA_TENANT") or DEFAULT_TENANT,
            author_namespace=_parse(env, "EGREGORA_AUTHOR_NAMESPACE", "", _optional_uuid, "a UUID"),
            lock_timeout_seconds=_parse(
                env,
                "EGREGORA_LOCK_TIMEOUT",
                str(DEFAULT_LOCK_TIMEOUT_SECONDS),
                _seconds,
                "a finite number of seconds, 0 or more",
            ),
            media_dir=Path(media) if media else None,
            backup_enabled=_parse(env, "EGREGORA_BACKUP", "on", _switch, "on or off"),
            backup_keep=_parse(
                env,
                "EGREGORA_BACKUP_KEEP",
                str(DEFAULT_BACKUP_KEEP),
                _count,
                "a whole number, 1 or more",
            ),
        )
        backend_of(settings.database).check_environment(env)  # its own variables, now
        return replace(settings, **chosen) if chosen else settings  # type: ignore[arg-type]
