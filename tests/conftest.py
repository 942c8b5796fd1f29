"""Fixtures every test package shares: temporary warehouses and the shared fixtures folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from egregora_pipeline.migrations.script import BUNDLED_VERSIONS_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    configured = os.environ.get("EGREGORA_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ``shared/`` folder (design docs, real fixtures), beside the clone."""
    path = _shared_dir()
    if not (path / "fixtures").is_dir():
        pytest.fail(f"shared fixtures not found at {path}; set EGREGORA_SHARED_DIR")
    return path


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet, in a fresh temp folder."""
    return tmp_path / "warehouse" / "egregora.duckdb"


@pytest.fixture
def versions_dir(tmp_path: Path) -> Path:
    """A copy of the bundled revision files that a test may edit or extend."""
    target = tmp_path / "versions"
    target.mkdir()
    for path in BUNDLED_VERSIONS_DIR.glob("[0-9]*.py"):
        shutil.copy(path, target / path.name)
    return target
