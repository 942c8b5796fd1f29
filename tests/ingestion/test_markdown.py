"""Markdown with front matter: doc_type from folder or front matter, known keys to columns,
unknown keys to extensions, per-doc_type rules enforced with path and line."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import rows


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


POST = """---
title: Hello world
date: 2024-01-31
tags: [intro, news]
authors: [a1]
status: published
mood: cheerful
---
Body **text**.
"""


def test_post_profile_and_journal_from_their_folders(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    _write(content, "posts/hello-world.md", POST)
    _write(content, "profiles/ana.md", "---\ntitle: Ana\nauthor: Ana Souza\nalias: ana\n---\nBio\n")
    _write(
        content,
        "journal/2024-w05.md",
        "---\ntitle: Week 5\nwindow_start: 2024-01-29T00:00:00Z\n"
        "window_end: 2024-02-04T23:59:59+00:00\n---\nNotes\n",
    )
    report = ingest(warehouse, [content], settings=settings, run_id="r")
    assert report.ok
    assert report.rejected == 0
    assert report.documents_added == 3
    found = {d["doc_type"]: d for d in rows(warehouse, "SELECT * FROM documents")}
    post = found["post"]
    assert post["title"] == "Hello world"
    assert post["slug"] == "hello-world"
    assert post["date"] == date(2024, 1, 31)
    assert post["tags"] == ["intro", "news"]
    assert post["status"] == "published"
    assert post["content"].strip() == "Body **text**."
    assert json.loads(post["extensions"]) == {
        "mood": "cheerful",
        "origin": str((content / "posts/hello-world.md").absolute()),
    }
    assert post["id"] == "hello-world"  # upstream keys an id-less post by its cleaned slug
    assert post["authors"] == ["a1"]  # names no profile: kept as written, and reported
    assert report.unresolved_authors == {
        str(content / "posts/hello-world.md"): ["a1: names no profile"]
    }
    profile = found["profile"]
    # upstream's chat pseudonym of the profile's author (input_adapters/whatsapp/parsing.py,
    # 1123bf243), so the profile joins that person's messages; the row is keyed by it
    assert profile["subject_uuid"] == str(uuid.uuid5(uuid.NAMESPACE_OID, "whatsapp:Ana Souza"))
    assert profile["id"] == profile["subject_uuid"]
    assert profile["content"] == "---\ntitle: Ana\nauthor: Ana Souza\nalias: ana\n---\nBio\n"
    journal = found["journal"]
    assert journal["window_start"] == datetime(2024, 1, 29, tzinfo=UTC)
    assert journal["window_end"] == datetime(2024, 2, 4, 23, 59, 59, tzinfo=UTC)


def test_front_matter_doc_type_wins_over_folder(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    path = _write(tmp_path, "notes/x.md", "---\ntype: post\ntitle: T\nslug: t\n---\n")
    ingest(warehouse, [path], settings=settings, run_id="r")
    assert rows(warehouse, "SELECT doc_type, status FROM documents") == [
        {"doc_type": "post", "status": "draft"}
    ]


def test_bad_files_are_rejected_with_path_line_and_reason_and_others_load(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    good = _write(content, "posts/good.md", POST)
    bad_yaml = _write(content, "posts/bad-yaml.md", "---\ntitle: ok\ntags: [a, b\n---\nx\n")
    bad_date = _write(content, "posts/bad-date.md", "---\ntitle: T\ndate: 2024-13-45\n---\n")
    no_title = _write(content, "posts/no-title.md", "---\nslug: s\n---\nbody\n")
    bad_status = _write(content, "posts/bad-status.md", "---\ntitle: T\nstatus: live\n---\n")
    report = ingest(warehouse, [content], settings=settings, run_id="r")
    by_path = {entry.path: entry for entry in report.inputs}
    assert by_path[good].documents_added == 1
    assert report.failed_inputs == []
    (yaml_problem,) = by_path[bad_yaml].rejections
    assert yaml_problem.reason.startswith("front matter is not valid YAML")
    assert yaml_problem.line_number is not None
    assert yaml_problem.line_number >= 3
    (date_problem,) = by_path[bad_date].rejections
    assert date_problem.line_number == 3
    assert "expected a date" in date_problem.reason
    (title_problem,) = by_path[no_title].rejections
    assert "title is required" in title_problem.reason
    (status_problem,) = by_path[bad_status].rejections
    assert (
        status_problem.reason
    ) == "status: expected one of draft, published, archived, got 'live'"
    assert status_problem.line_number == 3
    recorded = rows(
        warehouse, "SELECT source_path, line_number, reason FROM ingest_rejections ORDER BY 1"
    )
    assert [r["source_path"] for r in recorded] == sorted(
        str(p) for p in (bad_yaml, bad_date, no_title, bad_status)
    )
    assert rows(warehouse, "SELECT count(*) AS n FROM documents") == [{"n": 1}]


def test_rejections_are_not_duplicated_by_a_rerun(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    bad = _write(tmp_path, "posts/no-title.md", "---\nslug: s\n---\n")
    ingest(warehouse, [bad], settings=settings, run_id="one")
    ingest(warehouse, [bad], settings=settings, run_id="two")
    assert rows(warehouse, "SELECT run_id FROM ingest_rejections") == [{"run_id": "one"}]


def test_changed_file_updates_its_row_and_unchanged_is_skipped(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    path = _write(tmp_path, "posts/p.md", POST)
    first = ingest(warehouse, [path], settings=settings, run_id="r1")
    (created,) = rows(warehouse, "SELECT id, created_at FROM documents")
    same = ingest(warehouse, [path], settings=settings, run_id="r2")
    assert (same.documents_added, same.documents_skipped) == (0, 1)
    path.write_text(POST.replace("Hello world", "Hello again"), encoding="utf-8")
    changed = ingest(warehouse, [path], settings=settings, run_id="r3")
    assert first.documents_added == 1
    assert changed.documents_updated == 1
    (after,) = rows(warehouse, "SELECT id, title, created_at FROM documents")
    assert after == {**created, "title": "Hello again"}


def test_file_outside_known_folders_without_doc_type_is_rejected(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    path = _write(tmp_path, "misc/x.md", "---\ntitle: T\n---\n")
    report = ingest(warehouse, [path], settings=settings, run_id="r")
    (entry,) = report.inputs
    assert "cannot tell the doc_type" in entry.rejections[0].reason


def test_the_same_file_reached_through_a_symlink_is_the_same_source(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    """Another path to one file updates its row; it never counts as a rival source."""
    path = _write(tmp_path, "content/posts/p.md", POST)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "content", target_is_directory=True)
    ingest(warehouse, [tmp_path / "content"], settings=settings, run_id="r1")
    path.write_text(POST.replace("Hello world", "Hello again"), encoding="utf-8")

    again = ingest(warehouse, [link], settings=settings, run_id="r2")

    assert again.documents_updated == 1
    assert [e.rejections for e in again.inputs] == [[]]
    assert rows(warehouse, "SELECT title FROM documents") == [{"title": "Hello again"}]


def test_a_control_character_in_front_matter_is_rejected_at_its_line_and_column(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    _write(tmp_path, "posts/bad.md", "---\ntitle: x\x1b[31m\ndate: 2024-01-01\n---\nbody\n")

    ingest(warehouse, [tmp_path / "posts"], settings=settings, run_id="r")

    (rejected,) = rows(
        warehouse, "SELECT line_number, column_number, reason FROM ingest_rejections"
    )
    assert (rejected["line_number"], rejected["column_number"]) == (2, 9)
    assert rejected["reason"].startswith("front matter is not valid YAML: unacceptable character")
