"""Front matter keeps the text the author wrote: no YAML 1.1 implicit typing, explicit
tags and duplicate keys refused with their lines, an empty required slug refused
(issue 22, item 3 and the smaller items)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.identity import upstream_slug
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import rows

# What the author wrote -> what YAML 1.1 (PyYAML's SafeLoader) made of it.
SURPRISES = {
    "010": 8,  # octal
    "007": 7,
    "0o17": "0o17",  # YAML 1.2 octal: a string in 1.1, and must stay one
    "0x1F": 31,
    "1:30": 90,  # sexagesimal
    "190:20:30": 685230,
    "NO": False,
    "yes": True,
    "on": True,
    "Off": False,
    "y": "y",  # PyYAML does not take y/n, YAML 1.1 does: text either way
    "True": True,
    "0.10": 0.1,
    "1_000": 1000,
    "1e3": "1e3",
    "+12": 12,
    "-0": 0,
    ".inf": float("inf"),
    "-.Inf": float("-inf"),
    ".NaN": "nan",
    "2024-01-31": "2024-01-31",
    "12:30:00": 45000,
    "=": "=",
}


def _post(tmp_path: Path, name: str, front: str) -> Path:
    path = tmp_path / "posts" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"---\n{front}---\nBody\n", encoding="utf-8")
    return path


def _documents(conn: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    return rows(conn, "SELECT * FROM documents ORDER BY title")


def test_plain_scalars_stay_the_text_written_in_columns_lists_and_extensions(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    paths = []
    for number, written in enumerate(SURPRISES):
        front = (
            f"title: {written}\nslug: s{number}-{written}\nsummary: {written}\n"
            f"tags: [{written}, plain]\nauthors:\n  - {written}\nextra: {written}\n"
            f"nested:\n  {written}: {written}\ndate: 2024-01-31\nstatus: published\n"
        )
        paths.append(_post(tmp_path, f"p{number}.md", front))
    report = ingest(warehouse, paths, settings=settings, run_id="t")
    assert report.rejected == 0, [r.reason for i in report.inputs for r in i.rejections]
    stored = {d["title"]: d for d in _documents(warehouse)}
    for number, written in enumerate(SURPRISES):
        doc = stored[written]
        # a post's slug is upstream's cleaned form of the text written, never a YAML number
        assert doc["slug"] == upstream_slug(f"s{number}-{written}")
        assert doc["summary"] == written
        assert doc["tags"] == [written, "plain"]
        assert doc["authors"] == [written]
        extensions = json.loads(str(doc["extensions"]))
        assert extensions["extra"] == written
        assert extensions["nested"] == {written: written}
        assert str(doc["date"]) == "2024-01-31"  # a date in `date` still reads as a date


def test_null_forms_shared_by_yaml_1_1_and_1_2_are_absent_and_quoted_ones_are_text(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    paths = [
        _post(tmp_path, f"n{i}.md", f"title: T{i}\nsummary: {null}\nstatus: published\n")
        for i, null in enumerate(["~", "null", "Null", "NULL", ""])
    ]
    paths.append(_post(tmp_path, "q.md", "title: Q\nsummary: '~'\nextra: \"null\"\n"))
    ingest(warehouse, paths, settings=settings, run_id="t")
    docs = {d["title"]: d for d in _documents(warehouse)}
    assert [docs[f"T{i}"]["summary"] for i in range(5)] == [None] * 5
    assert docs["Q"]["summary"] == "~"
    assert json.loads(str(docs["Q"]["extensions"]))["extra"] == "null"


@pytest.mark.parametrize(
    ("front", "tag", "line"),
    [
        ("title: t\nsummary: !!binary aGVsbG8=\n", "!!binary", 3),
        ("title: t\nextra: !!int 010\n", "!!int", 3),
        ("title: t\nextra:\n  deep: !!float 1\n", "!!float", 4),
        ("title: t\nextra: !!python/name:os.system ''\n", "!!python/name:os.system", 3),
        ("title: !custom t\n", "!custom", 2),
        ("title: t\nwhen: !!timestamp 2024-01-01\n", "!!timestamp", 3),
        ("title: t\nset: !!set {a, b}\n", "!!set", 3),
    ],
)
def test_an_explicit_tag_is_refused_with_its_line(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    front: str,
    tag: str,
    line: int,
) -> None:
    path = _post(tmp_path, "tagged.md", front)
    report = ingest(warehouse, [path], settings=settings, run_id="t")
    (rejection,) = report.inputs[0].rejections
    assert f"explicit YAML tag {tag!r} is not accepted" in rejection.reason
    assert rejection.line_number == line
    assert _documents(warehouse) == []


def test_harmless_tags_change_nothing(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    path = _post(tmp_path, "str.md", "title: !!str 010\ntags: !!seq [a]\nx: !!map {a: 1}\n")
    report = ingest(warehouse, [path], settings=settings, run_id="t")
    assert report.rejected == 0
    (doc,) = _documents(warehouse)
    assert doc["title"] == "010"
    assert json.loads(str(doc["extensions"]))["x"] == {"a": "1"}


@pytest.mark.parametrize(
    ("front", "key", "lines"),
    [
        ("title: one\nsummary: s\ntitle: two\n", "title", (2, 4)),
        ("title: t\nextra:\n  a: 1\n  b: 2\n  a: 3\n", "a", (4, 6)),
        ("title: t\nx: {k: 1, k: 2}\n", "k", (3, 3)),
        ("title: t\n010: a\n010: b\n", "010", (3, 4)),
    ],
)
def test_a_key_given_twice_is_refused_naming_it_and_both_lines(
    warehouse: duckdb.DuckDBPyConnection,
    settings: Settings,
    tmp_path: Path,
    front: str,
    key: str,
    lines: tuple[int, int],
) -> None:
    path = _post(tmp_path, "twice.md", front)
    report = ingest(warehouse, [path], settings=settings, run_id="t")
    (rejection,) = report.inputs[0].rejections
    assert rejection.reason == (
        f"the key {key!r} is given twice (lines {lines[0]} and {lines[1]}); keep one of them"
    )
    assert rejection.line_number == lines[1]


def test_a_merge_key_may_still_be_overridden(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    front = "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  a: 3\ntitle: m\n"
    ingest(warehouse, [_post(tmp_path, "merge.md", front)], settings=settings, run_id="t")
    (doc,) = _documents(warehouse)
    assert json.loads(str(doc["extensions"]))["x"] == {"a": "3", "b": "2"}


@pytest.mark.parametrize("slug", ['""', "''", '"   "'])
def test_an_empty_slug_is_refused_like_a_missing_one(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path, slug: str
) -> None:
    path = _post(tmp_path, "empty.md", f"title: t\ndate: 2024-01-31\nslug: {slug}\n")
    report = ingest(warehouse, [path], settings=settings, run_id="t")
    (rejection,) = report.inputs[0].rejections
    assert rejection.reason == (
        "slug is empty; a post needs a slug (remove the key to use the file name)"
    )
    assert rejection.line_number == 4
    assert _documents(warehouse) == []


def test_an_empty_title_is_refused_too(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    path = _post(tmp_path, "t.md", 'title: ""\ndoc_type: journal\n')
    report = ingest(warehouse, [path], settings=settings, run_id="t")
    (rejection,) = report.inputs[0].rejections
    assert rejection.reason.startswith("title is empty; a journal needs a title")
