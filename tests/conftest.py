"""Fixtures every test package shares: temporary warehouses and the repository's own fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from egregora_pipeline.migrations.script import BUNDLED_VERSIONS_DIR, ScriptDirectory

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_REVISIONS = ScriptDirectory.load().ids
"""The bundled chain, oldest first: what ``db upgrade`` applies to a new warehouse."""
BUNDLED_HEAD = BUNDLED_REVISIONS[-1]


CLI = Path(sys.executable).with_name("egregora-pipeline")
"""The installed console script, run as a user runs it."""


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in a subprocess from the repository root (bounded: a hang
    fails the test instead of CI)."""
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
        timeout=120,
        check=False,
    )


FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
"""Real input files the tests read; ``tests/fixtures/README.md`` says where each comes from."""

DOCS_DIR = REPO_ROOT / "docs"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The repository's ``tests/fixtures/`` folder (real exports, with their sources noted)."""
    return FIXTURES_DIR


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet, in a fresh temp folder."""
    return tmp_path / "warehouse" / "egregora.duckdb"


@pytest.fixture(autouse=True)
def _postgres_backups_in_a_temp_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Automatic backups of the tests' PostgreSQL warehouses (every destructive migration
    takes one) go to a temporary folder, not to ``backups/`` in the checkout; the CLI
    subprocesses inherit the setting."""
    monkeypatch.setenv("EGREGORA_PG_BACKUP_DIR", str(tmp_path_factory.getbasetemp() / "pg-backups"))


@pytest.fixture
def versions_dir(tmp_path: Path) -> Path:
    """A copy of the bundled initial revision (0001) that a test may edit or extend with
    revisions of its own (the engine's behaviour, not the bundled data revisions:
    ``tests/migrations/test_egregora_identity.py`` tests 0002)."""
    target = tmp_path / "versions"
    target.mkdir()
    for path in BUNDLED_VERSIONS_DIR.glob("0001_*.py"):
        shutil.copy(path, target / path.name)
    return target
