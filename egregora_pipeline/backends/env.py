"""Reading one ``EGREGORA_*`` variable the way :mod:`egregora_pipeline.settings` does.

The backends sit below the settings layer, yet a few of their knobs are read
where they are used (the DuckDB memory limit and storage format, the automatic
backup policy): these helpers give those readers the settings' exact parsing and
error (:class:`~egregora_pipeline.errors.SettingsError` naming the variable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, TypeVar

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


def parse_variable(
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


def switch(raw: str) -> bool:
    """``on``/``off`` (and ``true``/``1``/``yes``, ``false``/``0``/``no``)."""
    try:
        return _SWITCH[raw.strip().lower()]
    except KeyError:
        raise ValueError(raw) from None


def count(raw: str) -> int:
    """A whole number, 1 or more."""
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value
