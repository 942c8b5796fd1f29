"""A DuckDB warehouse: a file path (the embedded default)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egregora_pipeline.backends.base import WarehouseTarget


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
