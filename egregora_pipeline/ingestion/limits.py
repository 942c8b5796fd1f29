"""Limits every Markdown and media input is read under, with their settings.

Every input is hostile until read: a ``.md`` that is 5 GB, a front matter of
nested aliases that expands to gigabytes, a ``.jpg`` that never ends. Each
limit has a default fit for real content and an environment variable; an
input past a limit is a rejection that names both (see docs/ingestion.md).
Archives have their own limits (``ArchiveLimits``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from egregora_pipeline.errors import SettingsError

MIB: Final = 1024 * 1024


@dataclass(frozen=True)
class LimitSetting:
    """One limit: its environment variable, default and what it bounds."""

    variable: str
    default: int
    what: str


MAX_MARKDOWN_BYTES: Final = LimitSetting(
    "EGREGORA_MAX_MARKDOWN_BYTES", 16 * MIB, "size of a Markdown file in bytes"
)
MAX_FRONT_MATTER_CHARS: Final = LimitSetting(
    "EGREGORA_MAX_FRONT_MATTER_CHARS", 256 * 1024, "size of a front matter in characters"
)
MAX_YAML_ALIASES: Final = LimitSetting(
    "EGREGORA_MAX_YAML_ALIASES", 32, "number of YAML aliases (*name) in a front matter"
)
MAX_YAML_DEPTH: Final = LimitSetting(
    "EGREGORA_MAX_YAML_DEPTH", 32, "nesting depth of a front matter"
)
MAX_MEDIA_BYTES: Final = LimitSetting(
    "EGREGORA_MAX_MEDIA_BYTES", 4 * 1024 * MIB, "size of a media file in bytes"
)
ALL_LIMITS: Final = (
    MAX_MARKDOWN_BYTES,
    MAX_FRONT_MATTER_CHARS,
    MAX_YAML_ALIASES,
    MAX_YAML_DEPTH,
    MAX_MEDIA_BYTES,
)


def _read(env: Mapping[str, str], setting: LimitSetting) -> int:
    raw = env.get(setting.variable)
    if not raw:
        return setting.default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise SettingsError(setting.variable, raw, f"a whole number, 0 or more ({setting.what})")
    return value


@dataclass(frozen=True)
class InputLimits:
    """The limits one run reads Markdown and media under."""

    max_markdown_bytes: int = MAX_MARKDOWN_BYTES.default
    max_front_matter_chars: int = MAX_FRONT_MATTER_CHARS.default
    max_yaml_aliases: int = MAX_YAML_ALIASES.default
    max_yaml_depth: int = MAX_YAML_DEPTH.default
    max_media_bytes: int = MAX_MEDIA_BYTES.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InputLimits:
        """Limits from ``EGREGORA_MAX_*`` variables (defaults when unset)."""
        env = os.environ if environ is None else environ
        return cls(
            max_markdown_bytes=_read(env, MAX_MARKDOWN_BYTES),
            max_front_matter_chars=_read(env, MAX_FRONT_MATTER_CHARS),
            max_yaml_aliases=_read(env, MAX_YAML_ALIASES),
            max_yaml_depth=_read(env, MAX_YAML_DEPTH),
            max_media_bytes=_read(env, MAX_MEDIA_BYTES),
        )


def over_limit(setting: LimitSetting, limit: int, found: str) -> str:
    """The reason for an input past ``setting``: what, the limit, and how to raise it."""
    return (
        f"{found} than the limit on the {setting.what} ({limit:,}); "
        f"raise {setting.variable} to accept it"
    )
