"""A post author naming no profile is kept as written and said, never silently: in the
``documents`` materialization metadata, in each input's summary and in the CLI summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from egregora_pipeline.cli.ingest_report import render_outcome
from egregora_pipeline.definitions import defs
from egregora_pipeline.orchestration.local_run import run_ingest_job
from egregora_pipeline.settings import Settings


def test_unresolved_authors_are_in_the_metadata_and_the_summary(
    tmp_path: Path, settings: Settings
) -> None:
    post = tmp_path / "in" / "posts" / "p.md"
    post.parent.mkdir(parents=True)
    post.write_text("---\ntitle: P\nauthors: [Nobody Known]\n---\nx\n", encoding="utf-8")

    outcome = run_ingest_job(defs, [tmp_path / "in"], settings)

    assert outcome.success, outcome.failures
    expected = {str(post): ["Nobody Known: names no profile"]}
    assert outcome.tables["documents"]["unresolved_authors"] == expected
    (item,) = outcome.inputs
    assert item["unresolved_authors"] == ["Nobody Known: names no profile"]
    console = Console(record=True, width=200)
    render_outcome(console, outcome, settings)
    printed = console.export_text()
    assert "authors not linked to a profile" in printed
    assert "Nobody Known: names no profile" in printed
