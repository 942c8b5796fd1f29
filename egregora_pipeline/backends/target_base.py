"""A parsed warehouse: what every layer receives instead of the raw ``--database`` text.

Its own module, below :mod:`.base`, because every interface module names it (backups,
migration impls, storage formats) while :mod:`.base` names them: one module at the
bottom keeps the interface free of circles.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path


class WarehouseTarget(ABC):
    """A warehouse as ``--database`` / ``EGREGORA_DATABASE`` named it, parsed once.

    It carries its display form (a path, or a URL without its password), so no
    layer above needs the raw string again; :func:`egregora_pipeline.backends.backend_of`
    gives the backend that opens it.
    """

    @property
    @abstractmethod
    def display(self) -> str:
        """How messages name it: the path, or the URL without its password."""

    @property
    def local_folder(self) -> Path | None:
        """The folder the warehouse lives in, if it is a local file (media, backups beside it)."""
        return None

    def __str__(self) -> str:
        return self.display
