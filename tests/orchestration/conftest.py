"""Fixtures for the Dagster layer: small real inputs and an isolated Dagster home."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from egregora_pipeline.settings import Settings
from tests.conftest import REPO_ROOT

CHAT = """\
01/02/2024, 09:15 - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.
01/02/2024, 09:16 - Ana Souza: Bom dia! Who is writing the post about the meetup?
01/02/2024, 09:17 - Bruno: I can.
It will have two parts:
intro and photos
13/02/2024, 21:40 - Ana Souza: Great, thanks Bruno
"""

POST = """\
---
title: The meetup
slug: the-meetup
date: 2024-02-14
status: published
tags: [community]
---
We met, we talked.
"""


@pytest.fixture
def inputs_dir(tmp_path: Path) -> Path:
    """A WhatsApp export (.txt: 3 messages, one multi-line, + 1 system line) and one post."""
    root = tmp_path / "inputs"
    (root / "posts").mkdir(parents=True)
    (root / "WhatsApp Chat with Meetup.txt").write_text(CHAT, encoding="utf-8")
    (root / "posts" / "the-meetup.md").write_text(POST, encoding="utf-8")
    return root


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at a fresh warehouse and inbox under ``tmp_path``."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return Settings.from_env(
        environ={},
        database=tmp_path / "wh" / "egregora.duckdb",
        inbox=tmp_path / "inbox",
    )


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A folder laid out like the project root: its ``dagster.yaml`` and ``workspace.yaml``.

    Commands started here without ``DAGSTER_HOME`` use the project instance, whose
    storage lands in ``.dagster/`` of this folder, never in the repository's own.
    """
    root = tmp_path / "project"
    root.mkdir()
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO_ROOT / name, root / name)
    return root
