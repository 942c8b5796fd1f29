"""The small rules behind hostile-input handling, one by one: names stored losslessly,
values shortened, limits read from their settings, the front matter split in one pass,
local times resolved by ``fold=0``, names printed inert."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

import duckdb
import pytest

from egregora_pipeline.cli.ingest_report import visible
from egregora_pipeline.errors import SettingsError
from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.limits import InputLimits
from egregora_pipeline.ingestion.markdown import local_time_kind, split_front_matter
from egregora_pipeline.ingestion.report import Rejection, shorten, storable_name
from egregora_pipeline.settings import Settings


@pytest.mark.parametrize(
    "raw",
    [b"caf\xe9.jpg", b"100% \xff\xfe.md", b"plain.md", "ol\u00e1 %41.md".encode()],
)
def test_storable_names_round_trip_to_the_exact_bytes(raw: bytes) -> None:
    name = storable_name(os.fsdecode(raw))
    name.encode("utf-8")  # always storable
    if raw.decode("utf-8", errors="ignore").encode() == raw:
        assert name == raw.decode("utf-8")  # valid UTF-8 is kept as is
    else:
        assert unquote_to_bytes(name) == raw


def test_values_and_reasons_are_shortened() -> None:
    assert shorten("x" * 5_000_000) == repr("x" * 80) + "... (5,000,000 characters)"
    assert shorten(list(range(1000))) == "a list of 1,000 items"
    assert shorten("ok") == "'ok'"
    rejection = Rejection("a.md", 1, None, "r" * 50_000)
    assert len(rejection.reason) < 1100
    assert rejection.reason.endswith("(reason cut at 1000 characters)")


def test_limits_come_from_their_settings_and_bad_values_name_the_variable() -> None:
    limits = InputLimits.from_env({"EGREGORA_MAX_MARKDOWN_BYTES": "1_000", "OTHER": "x"})
    assert limits.max_markdown_bytes == 1000
    assert limits.max_media_bytes == InputLimits().max_media_bytes
    with pytest.raises(SettingsError, match="EGREGORA_MAX_YAML_ALIASES"):
        InputLimits.from_env({"EGREGORA_MAX_YAML_ALIASES": "-3"})


def test_front_matter_split_finds_fences_and_line_numbers() -> None:
    assert split_front_matter("\n\n---\na: 1\n---  \nbody\n", 1000) == ("a: 1\n", 4, "body")
    assert split_front_matter("no front matter\n---\n", 1000) == (
        None,
        0,
        "no front matter\n---",
    )
    assert split_front_matter("---\n---\n", 1000) == ("", 2, "")


def test_local_times_follow_fold_0() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert local_time_kind(datetime(2023, 3, 26, 2, 30), berlin) == "nonexistent"
    assert local_time_kind(datetime(2023, 10, 29, 2, 30), berlin) == "ambiguous"
    assert local_time_kind(datetime(2023, 10, 29, 4, 30), berlin) is None


def test_names_print_as_inert_text() -> None:
    assert visible("a[/x].md") == "a\\[/x].md"
    assert visible("evil\x1b[31m\nname\u202e.md") == r"evil\x1b[31m\nname\u202e.md"


def test_two_posts_with_one_slug_in_one_run_the_first_wins(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "a.md").write_text("---\nid: one\ntitle: A\nslug: same\n---\n", encoding="utf-8")
    (posts / "b.md").write_text("---\nid: two\ntitle: B\nslug: same\n---\n", encoding="utf-8")
    report = ingest(warehouse, [posts], settings=settings, run_id="r")
    first, second = report.inputs
    assert first.documents_added == 1
    (clash,) = second.rejections
    assert clash.reason == f"slug 'same' is already used by {posts / 'a.md'} in this run"
    later = tmp_path / "later" / "posts"
    later.mkdir(parents=True)
    (later / "c.md").write_text("---\nid: three\ntitle: C\nslug: same\n---\n", encoding="utf-8")
    (entry,) = ingest(warehouse, [later], settings=settings, run_id="r2").inputs
    (clash,) = entry.rejections
    assert clash.reason.startswith("slug 'same' already belongs to the post from ")
    assert warehouse.execute("SELECT id FROM documents").fetchall() == [("one",)]


def test_a_file_named_twice_is_ingested_once_and_the_repeat_is_told(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    post = posts / "a.md"
    post.write_text("---\ntitle: A\n---\n", encoding="utf-8")
    report = ingest(warehouse, [posts, post], settings=settings, run_id="r")
    (first,) = [i for i in report.inputs if i.kind == "markdown"]
    (repeat,) = [i for i in report.inputs if i.kind != "markdown"]
    assert first.documents_added == 1
    assert (repeat.path, repeat.kind) == (post, "skipped")
    assert report.ok


def test_a_post_with_a_non_utf8_name_keeps_its_slug_against_another_file(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    owner = Path(os.fsdecode(os.fsencode(posts) + b"/caf\xe9.md"))
    owner.write_text("---\ntitle: Caf\u00e9\nslug: cafe\n---\n", encoding="utf-8")
    assert ingest(warehouse, [posts], settings=settings, run_id="r1").documents_added == 1
    other = tmp_path / "other" / "posts"
    other.mkdir(parents=True)
    (other / "cafe.md").write_text("---\ntitle: Other\n---\n", encoding="utf-8")
    (entry,) = ingest(warehouse, [other], settings=settings, run_id="r2").inputs
    (clash,) = entry.rejections
    assert clash.reason.startswith("id ")
    assert f"already belongs to the post from {posts}/caf%E9.md" in clash.reason
    assert warehouse.execute("SELECT title FROM documents").fetchall() == [("Caf\u00e9",)]
