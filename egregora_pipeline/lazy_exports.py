"""Package names loaded on first use (PEP 562), for the CLI's start-up time.

``egregora_pipeline.schema`` and ``egregora_pipeline.migrations`` export names
from submodules that pull in Ibis and the whole engine. A command that needs
one light name (``db current`` reads the bookkeeping) should not pay for the
rest, so each package lists where its names live and resolves them lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package.<homes[name]>`` when ``name`` is used."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        setattr(importlib.import_module(package), name, value)  # the next lookup is direct
        return value

    return __getattr__
