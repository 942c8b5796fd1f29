"""A DuckDB warehouse: a file path (the embedded default)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egregora_pipeline.backends.target_base import WarehouseTarget


@dataclass(frozen=True)
class DuckDBTarget(WarehouseTarget):
    """An embedded DuckDB warehouse file."""

    path: Path

    @property
    def display(self) -> str:
        return str(self.path)

    @property
    def local_folder(self) -> Path:
        return self.path.parent

    def __str__(self) -> str:
        return self.display

    def __fspath__(self) -> str:
        """A DuckDB warehouse is a file: ``Path(target)`` and ``os.fspath`` give its path,
        so the file APIs that take a path take the target as well."""
        return str(self.path)
