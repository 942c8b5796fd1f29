"""Hostile and odd inputs: never a hang, never a lost batch, never a silent overwrite.

Every case is ingested together with one valid chat and one valid post, in a
child process under CPU-time and address-space limits
(``tests/ingestion/hostile_child.py``): the valid inputs must land, the
hostile one must be a rejection with a reason a person can act on, and a
regression (a quadratic regex, a blocking read, an alias bomb) fails the test
instead of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.ingestion.conftest import png_bytes

REPO = Path(__file__).resolve().parents[2]
CHAT = "31/12/2019, 23:58 - Ana: hello\n31/12/2019, 23:59 - Bruno: hi Ana\n"
POST = "---\ntitle: Good post\ndate: 2024-01-31\nstatus: published\n---\nBody\n"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """A folder with one valid chat and one valid post."""
    folder = tmp_path / "inbox"
    (folder / "posts").mkdir(parents=True)
    (folder / "WhatsApp Chat with Ana.txt").write_text(CHAT, encoding="utf-8")
    (folder / "posts" / "good.md").write_text(POST, encoding="utf-8")
    return folder


def run_ingest(
    tmp_path: Path,
    *paths: Path | str,
    env: dict[str, str] | None = None,
    cpu_seconds: int = 60,
    memory_bytes: int = 3 * 1024**3,
    uid: int | None = None,
    timeout: float = 120,
    database: Path | None = None,
    timezone: str = "UTC",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Ingest ``paths`` in a limited child process; its report and tables as JSON.

    ``options`` are further keys of the child's spec (see ``hostile_child.py``)."""
    database = database or tmp_path / "warehouse" / "w.duckdb"
    database.parent.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / f"spec-{os.urandom(4).hex()}.json"
    spec.write_text(
        json.dumps(
            {
                "database": str(database),
                "paths": [os.fspath(p) for p in paths],
                "cpu_seconds": cpu_seconds,
                "memory_bytes": memory_bytes,
                "uid": uid,
                "timezone": timezone,
                **(options or {}),
            }
        ),
        encoding="utf-8",
    )
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("EGREGORA_")}
    child_env.update(env or {})
    child_env["EGREGORA_MEDIA_DIR"] = str(database.parent / "media")
    done = subprocess.run(
        [sys.executable, "-m", "tests.ingestion.hostile_child", str(spec)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_env,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def assert_valid_ones_landed(result: dict[str, Any]) -> None:
    assert result["messages"] == 2
    assert "Good post" in [d["title"] for d in result["documents"] if d["doc_type"] == "post"]


def reasons_for(result: dict[str, Any], name: str) -> list[str]:
    """Every rejection reason recorded in the warehouse for a path ending in ``name``."""
    return [r["reason"] for r in result["rejections"] if r["source_path"].endswith(name)]


# 1. Never a hang ----------------------------------------------------------------------


def test_unclosed_front_matter_followed_by_blank_lines_is_rejected_in_linear_time(
    inbox: Path, tmp_path: Path
) -> None:
    (inbox / "posts" / "blank.md").write_text("---\n" + "\n" * 2_000_000, encoding="utf-8")
    (inbox / "posts" / "spaces.md").write_text("---\n" + " \n" * 1_000_000, encoding="utf-8")
    result = run_ingest(tmp_path, inbox, cpu_seconds=30)
    assert_valid_ones_landed(result)
    for name in ("blank.md", "spaces.md"):
        (reason,) = reasons_for(result, name)
        assert "front matter" in reason
        assert "EGREGORA_MAX_FRONT_MATTER_CHARS" in reason or "never closed" in reason


def test_unclosed_front_matter_says_it_is_never_closed(inbox: Path, tmp_path: Path) -> None:
    (inbox / "posts" / "open.md").write_text("---\ntitle: x\n\n\nbody\n", encoding="utf-8")
    result = run_ingest(tmp_path, inbox)
    assert_valid_ones_landed(result)
    (reason,) = reasons_for(result, "open.md")
    assert reason.startswith("the front matter opened by '---' on line 1 is never closed")


@pytest.mark.parametrize("name", ["x.txt", "x.jpg", "x.md", "x.zip"])
def test_a_named_pipe_given_as_input_is_rejected_by_type_without_blocking(
    inbox: Path, tmp_path: Path, name: str
) -> None:
    pipe = tmp_path / name
    os.mkfifo(pipe)
    result = run_ingest(tmp_path, inbox, pipe, timeout=60)
    assert_valid_ones_landed(result)
    (reason,) = reasons_for(result, name)
    assert "named pipe (FIFO), not a regular file" in reason


def test_pipes_and_devices_inside_a_folder_are_rejections_not_reads(
    inbox: Path, tmp_path: Path
) -> None:
    os.mkfifo(inbox / "posts" / "pipe.md")
    os.mkfifo(inbox / "stuck.txt")
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    result = run_ingest(tmp_path, inbox, tmp_path / "zero.md", timeout=60)
    assert_valid_ones_landed(result)
    assert "named pipe (FIFO)" in reasons_for(result, "pipe.md")[0]
    assert "named pipe (FIFO)" in reasons_for(result, "stuck.txt")[0]
    assert "character device, not a regular file" in reasons_for(result, "zero.md")[0]


# 2. Never a lost batch ---------------------------------------------------------------


def test_non_utf8_file_names_land_under_a_lossless_percent_encoded_name(
    inbox: Path, tmp_path: Path
) -> None:
    raw_folder = os.fsencode(inbox)
    photo = os.fsdecode(raw_folder + b"/caf\xe9 100%.png")
    Path(photo).write_bytes(png_bytes())
    chat = os.fsdecode(raw_folder + b"/WhatsApp Chat with Jos\xe9.txt")
    Path(chat).write_text("31/12/2019, 23:57 - Jos\u00e9: ol\u00e1\n", encoding="utf-8")
    result = run_ingest(tmp_path, inbox)
    assert result["messages"] == 3
    media = [d for d in result["documents"] if d["doc_type"] == "media"]
    assert [m["filename"] for m in media] == ["caf%E9 100%25.png"]
    from urllib.parse import unquote_to_bytes

    assert unquote_to_bytes(media[0]["filename"]) == b"caf\xe9 100%.png"
    assert json.loads(media[0]["extensions"])["origin"].endswith("/caf%E9 100%25.png")
    assert "Good post" in [d["title"] for d in result["documents"]]


def test_an_unreadable_subfolder_or_chat_is_a_rejection_and_the_rest_ingests(
    tmp_path: Path,
) -> None:
    """Root reads every folder, so as root the child drops to ``nobody`` first."""
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="hostile-")) if as_root else tmp_path
    try:
        os.chmod(base, 0o777)
        inbox = base / "inbox"
        (inbox / "posts").mkdir(parents=True)
        (inbox / "WhatsApp Chat with Ana.txt").write_text(CHAT, encoding="utf-8")
        (inbox / "posts" / "good.md").write_text(POST, encoding="utf-8")
        locked = inbox / "locked"
        locked.mkdir()
        (locked / "hidden.md").write_text(POST, encoding="utf-8")
        secret_chat = inbox / "WhatsApp Chat with Secret.txt"
        secret_chat.write_text(CHAT, encoding="utf-8")
        os.chmod(secret_chat, 0)
        for folder in (inbox, inbox / "posts"):
            os.chmod(folder, 0o755)
        os.chmod(locked, 0)
        warehouse = base / "warehouse"
        warehouse.mkdir(mode=0o777)
        os.chmod(warehouse, 0o777)
        result = run_ingest(
            tmp_path,
            inbox,
            database=warehouse / "w.duckdb",
            uid=65534 if as_root else None,
        )
        assert_valid_ones_landed(result)
        (reason,) = reasons_for(result, "locked")
        assert reason.endswith("cannot list folder: Permission denied")
        (reason,) = reasons_for(result, "Secret.txt")
        assert reason.endswith("cannot read: Permission denied")
    finally:
        os.chmod(base / "inbox" / "locked", 0o755)
        if as_root:
            shutil.rmtree(base)


def test_one_document_failing_its_write_does_not_cost_the_others_theirs(
    tmp_path: Path,
) -> None:
    """A group whose upsert fails is written again input by input."""
    import duckdb

    from egregora_pipeline.backends.duckdb.sink import DuckDBSink
    from egregora_pipeline.ingestion.documents import _Candidate, _write_documents
    from egregora_pipeline.ingestion.report import InputReport
    from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql

    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))

    def post(slug: str, extensions: str | None = None) -> _Candidate:
        record = {
            "id": slug,
            "doc_type": "post",
            "title": slug,
            "slug": slug,
            "status": "draft",
            "source_checksum": slug,
            "created_at": datetime.now(UTC),
            "extensions": extensions,
        }
        return _Candidate(InputReport(Path(f"{slug}.md"), "markdown"), record)

    group = [post("a"), post("b", extensions="{not json"), post("c")]
    _write_documents(DuckDBSink(conn), group)
    assert sorted(r[0] for r in conn.execute("SELECT slug FROM documents").fetchall()) == [
        "a",
        "c",
    ]
    assert group[1].entry.error is not None
    assert group[1].entry.error.startswith("could not write this document")
    assert [c.entry.documents_added for c in group] == [1, 0, 1]


def test_many_bad_files_are_all_recorded(inbox: Path, tmp_path: Path) -> None:
    bad = inbox / "bad"
    bad.mkdir()
    for number in range(1200):  # more than two document groups
        (bad / f"b{number:04}.png").write_bytes(b"not an image")
    result = run_ingest(tmp_path, inbox)
    assert_valid_ones_landed(result)
    # the same bytes are one stored file and one row, but each file name is told
    assert len([d for d in result["documents"] if d["doc_type"] == "media"]) == 1
    assert len([r for r in result["rejections"] if "could not be decoded" in r["reason"]]) == 1200


# 4. Memory bounds --------------------------------------------------------------------

ALIAS_BOMB = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
title: bomb
---
"""


def test_a_yaml_alias_bomb_is_refused_fast_and_small(inbox: Path, tmp_path: Path) -> None:
    (inbox / "posts" / "bomb.md").write_text(ALIAS_BOMB, encoding="utf-8")
    result = run_ingest(tmp_path, inbox, cpu_seconds=20, memory_bytes=2 * 1024**3)
    assert_valid_ones_landed(result)
    (reason,) = reasons_for(result, "bomb.md")
    assert "aliases" in reason
    assert "EGREGORA_MAX_YAML_ALIASES" in reason


def test_few_aliases_that_double_at_each_level_are_refused_by_expanded_size(
    inbox: Path, tmp_path: Path
) -> None:
    """30 aliases (under the alias limit) doubling a 2,000-item list 15 times."""
    lines = ["---", "title: t", "l0: &l0 [" + ",".join(["lol"] * 2000) + "]"]
    lines += [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, 16)]
    (inbox / "posts" / "doubling.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")
    result = run_ingest(tmp_path, inbox, cpu_seconds=20, memory_bytes=2 * 1024**3)
    assert_valid_ones_landed(result)
    (reason,) = reasons_for(result, "doubling.md")
    assert "expands through its aliases to more than 1,048,576 characters" in reason


def test_deep_nesting_and_self_reference_are_refused_with_words(
    inbox: Path, tmp_path: Path
) -> None:
    (inbox / "posts" / "deep.md").write_text(
        "---\ntitle: t\nx: " + "[" * 50_000 + "]" * 50_000 + "\n---\n", encoding="utf-8"
    )
    (inbox / "posts" / "loop.md").write_text("---\ntitle: t\nx: &a [*a]\n---\n", encoding="utf-8")
    result = run_ingest(tmp_path, inbox)
    assert_valid_ones_landed(result)
    (deep,) = reasons_for(result, "deep.md")
    assert "nests deeper" in deep
    assert "EGREGORA_MAX_YAML_DEPTH" in deep
    (loop,) = reasons_for(result, "loop.md")
    assert "refers to itself" in loop


def test_size_limits_name_the_limit_and_the_setting(inbox: Path, tmp_path: Path) -> None:
    (inbox / "posts" / "big.md").write_text(POST + "x" * 5000, encoding="utf-8")
    (inbox / "posts" / "fat-front.md").write_text(
        "---\ntitle: t\nnote: " + "y" * 3000 + "\n---\n", encoding="utf-8"
    )
    (inbox / "big.png").write_bytes(png_bytes(size=200) + b"\0" * 20_000)
    result = run_ingest(
        tmp_path,
        inbox,
        env={
            "EGREGORA_MAX_MARKDOWN_BYTES": "4000",
            "EGREGORA_MAX_FRONT_MATTER_CHARS": "2000",
            "EGREGORA_MAX_MEDIA_BYTES": "10000",
        },
    )
    assert_valid_ones_landed(result)
    assert "EGREGORA_MAX_MARKDOWN_BYTES" in reasons_for(result, "big.md")[0]
    assert "(4,000)" in reasons_for(result, "big.md")[0]
    assert "EGREGORA_MAX_FRONT_MATTER_CHARS" in reasons_for(result, "fat-front.md")[0]
    assert "EGREGORA_MAX_MEDIA_BYTES" in reasons_for(result, "big.png")[0]
    store = tmp_path / "warehouse" / "media"
    leftovers = [p for p in store.rglob("*") if p.is_file()] if store.exists() else []
    assert leftovers == []


def test_a_huge_value_is_shortened_in_the_reason(inbox: Path, tmp_path: Path) -> None:
    (inbox / "posts" / "status.md").write_text(
        "---\ntitle: t\nstatus: " + "z" * 10_000_000 + "\n---\n", encoding="utf-8"
    )
    result = run_ingest(tmp_path, inbox, env={"EGREGORA_MAX_FRONT_MATTER_CHARS": "20000000"})
    assert_valid_ones_landed(result)
    (reason,) = reasons_for(result, "status.md")
    assert len(reason) < 300
    assert "(10,000,000 characters)" in reason


# 5. Identity is not overwritable across kinds --------------------------------------


def test_an_id_or_slug_of_another_source_is_a_rejection_naming_both_files(
    inbox: Path, tmp_path: Path
) -> None:
    (inbox / "photo.png").write_bytes(png_bytes())
    first = run_ingest(tmp_path, inbox)
    photo_id_row = [d for d in first["documents"] if d["doc_type"] == "media"]
    assert len(photo_id_row) == 1
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse" / "w.duckdb"), read_only=True) as conn:
        (photo_id,) = conn.execute("SELECT id FROM documents WHERE doc_type = 'media'").fetchone()  # type: ignore[misc]
    later = tmp_path / "later"
    (later / "posts").mkdir(parents=True)
    (later / "thief.md").write_text(
        f"---\nid: {photo_id}\ntitle: Mine now\ndate: 2024-02-01\n---\n", encoding="utf-8"
    )
    (later / "posts" / "good.md").write_text(POST.replace("Good post", "Other"), encoding="utf-8")
    second = run_ingest(tmp_path, later)
    media = [d for d in second["documents"] if d["doc_type"] == "media"]
    assert len(media) == 1
    assert media[0]["filename"] == "photo.png"
    (thief,) = reasons_for(second, "thief.md")
    assert f"id '{photo_id}' already belongs to the media from " in thief
    assert str(inbox / "photo.png") in thief
    (copycat,) = reasons_for(second, "later/posts/good.md")
    assert "already belongs to the post from " + str(inbox / "posts" / "good.md") in copycat
    titles = [d["title"] for d in second["documents"] if d["doc_type"] == "post"]
    assert titles == ["Good post"]


def test_an_updated_or_moved_file_still_updates_its_own_row(inbox: Path, tmp_path: Path) -> None:
    run_ingest(tmp_path, inbox)
    post = inbox / "posts" / "good.md"
    post.write_text(POST.replace("Good post", "Better post"), encoding="utf-8")
    updated = run_ingest(tmp_path, inbox)
    (entry,) = [i for i in updated["inputs"] if i["path"].endswith("good.md")]
    assert entry["documents_updated"] == 1
    moved = inbox / "posts" / "2024" / "good.md"
    moved.parent.mkdir()
    post.rename(moved)
    moved.write_text(POST.replace("Good post", "Moved post"), encoding="utf-8")
    again = run_ingest(tmp_path, inbox)
    titles = [d["title"] for d in again["documents"] if d["doc_type"] == "post"]
    assert titles == ["Moved post"]


# 6. Time exact or flagged ------------------------------------------------------------


def test_nonexistent_and_repeated_local_times_follow_fold_0_and_are_flagged(
    inbox: Path, tmp_path: Path
) -> None:
    (inbox / "journal").mkdir()
    (inbox / "journal" / "gap.md").write_text(
        "---\ntitle: Gap\nwindow_start: 2023-03-26T02:30:00\nwindow_end: 2023-03-26T03:01:00\n"
        "---\n",
        encoding="utf-8",
    )
    (inbox / "journal" / "fold.md").write_text(
        "---\ntitle: Fold\nwindow_start: 2023-10-29T02:30:00\nwindow_end: 2023-10-29T05:00:00\n"
        "---\n",
        encoding="utf-8",
    )
    result = run_ingest(tmp_path, inbox, timezone="Europe/Berlin")
    assert_valid_ones_landed(result)
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse" / "w.duckdb"), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        found = {
            title: (str(start), str(end), json.loads(extensions))
            for title, start, end, extensions in conn.execute(
                "SELECT title, window_start, window_end, extensions FROM documents "
                "WHERE doc_type = 'journal'"
            ).fetchall()
        }
    start, end, extensions = found["Gap"]
    assert start == "2023-03-26 01:30:00+00:00"  # read with +01:00: after the 02:00 gap
    assert end == "2023-03-26 01:01:00+00:00"
    assert extensions["local_time"] == "nonexistent"
    assert extensions["local_time_fields"] == ["window_start"]
    start, _, extensions = found["Fold"]
    assert start == "2023-10-29 00:30:00+00:00"  # the earlier of the two 02:30s (+02:00)
    assert extensions["local_time"] == "ambiguous"


def test_years_outside_0001_to_9999_are_rejections_with_the_line(
    inbox: Path, tmp_path: Path
) -> None:
    (inbox / "posts" / "year0.md").write_text(
        "---\ntitle: t\ndate: 0000-01-01\n---\n", encoding="utf-8"
    )
    (inbox / "journal").mkdir()
    (inbox / "journal" / "late.md").write_text(
        "---\ntitle: t\nwindow_start: 2024-01-01T00:00:00\nwindow_end: 9999-12-31T23:00:00\n---\n",
        encoding="utf-8",
    )
    result = run_ingest(tmp_path, inbox, timezone="America/New_York")
    assert_valid_ones_landed(result)
    year0 = [r for r in result["rejections"] if r["source_path"].endswith("year0.md")]
    assert year0 == [
        {
            "source_path": year0[0]["source_path"],
            "line": 3,
            "reason": "date: year '0000-' is outside 0001-9999",
        }
    ]
    (late,) = [r for r in result["rejections"] if r["source_path"].endswith("late.md")]
    assert late["line"] == 4
    assert "falls outside the years 0001-9999 in UTC" in late["reason"]


# 7. Clear reasons --------------------------------------------------------------------


def test_reasons_say_what_is_wrong_in_words(inbox: Path, tmp_path: Path) -> None:
    posts = inbox / "posts"
    (posts / "content-key.md").write_text(
        "---\ntitle: Has content key\ncontent: hello\n---\nbody\n", encoding="utf-8"
    )
    (posts / "list.md").write_text("---\n- a\n- b\n---\n", encoding="utf-8")
    (posts / "utf16.md").write_bytes(POST.encode("utf-16-le"))
    (posts / "utf16bom.md").write_bytes(POST.replace("Good post", "UTF-16 post").encode("utf-16"))
    (posts / "nan.md").write_text("---\ntitle: t\nx: .nan\n---\n", encoding="utf-8")
    (posts / "surrogate.md").write_text('---\ntitle: "\\ud800"\n---\n', encoding="utf-8")
    result = run_ingest(tmp_path, inbox)
    assert_valid_ones_landed(result)
    titles = [d["title"] for d in result["documents"]]
    assert "Has content key" in titles
    assert "UTF-16 post" in titles
    assert reasons_for(result, "list.md") == [
        "the front matter is a list; expected a mapping of keys to values such as 'title: Hello'"
    ]
    assert "UTF-16 without a byte-order mark" in reasons_for(result, "utf16.md")[0]
    assert reasons_for(result, "nan.md") == []  # `.nan` is kept as the text written
    assert "t" in titles
    assert "lone UTF-16 surrogate" in reasons_for(result, "surrogate.md")[0]
    for reason in (r["reason"] for r in result["rejections"]):
        assert not reason.startswith(("TypeError", "RecursionError", "MemoryError", "Overflow"))


def test_an_attachment_present_as_a_link_or_pipe_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "WhatsApp Chat with Ana.txt").write_text(
        "31/12/2019, 23:58 - Ana: IMG-1.jpg (file attached)\n"
        "31/12/2019, 23:59 - Ana: IMG-2.jpg (file attached)\n",
        encoding="utf-8",
    )
    (folder / "IMG-1.jpg").symlink_to("/etc/hostname")
    os.mkfifo(folder / "IMG-2.jpg")
    post = tmp_path / "posts" / "good.md"
    post.parent.mkdir()
    post.write_text(POST, encoding="utf-8")
    result = run_ingest(tmp_path, folder / "WhatsApp Chat with Ana.txt", post, timeout=60)
    assert_valid_ones_landed(result)
    reasons = [r["reason"] for r in result["rejections"]]
    assert any("IMG-1.jpg" in r and "a symbolic link, not a regular file" in r for r in reasons)
    assert any("IMG-2.jpg" in r and "a named pipe (FIFO), not a regular file" in r for r in reasons)
    assert not any("missing from the export" in r for r in reasons)


def test_a_decompression_bomb_png_says_so(inbox: Path, tmp_path: Path) -> None:
    from PIL import Image

    bomb = inbox / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb, format="PNG")  # 400 Mpx, a few KB on disk
    result = run_ingest(tmp_path, inbox)
    assert_valid_ones_landed(result)
    (reason,) = reasons_for(result, "bomb.png")
    assert "is a decompression bomb" in reason


# 8. A post is a post -----------------------------------------------------------------


def test_documents_with_an_unmistakable_shape_land_wherever_they_lie(
    inbox: Path, tmp_path: Path
) -> None:
    (inbox / "dropped-post.md").write_text(
        "---\ntitle: Dropped\ndate: 2024-03-01\nslug: dropped\nstatus: published\n---\nHi\n",
        encoding="utf-8",
    )
    (inbox / "person.md").write_text(
        "---\ntitle: Ana\nsubject_uuid: 6f0f3c1e-7c39-5b7a-9a34-3d1c0e4b8a22\n---\n",
        encoding="utf-8",
    )
    (inbox / "week.md").write_text(
        "---\ntitle: W\nwindow_start: 2024-01-01T00:00:00Z\nwindow_end: 2024-01-07T00:00:00Z\n---\n",
        encoding="utf-8",
    )
    (inbox / "both.md").write_text(
        "---\ntitle: T\ndate: 2024-01-01\nsubject_uuid: 6f0f3c1e-7c39-5b7a-9a34-3d1c0e4b8a23\n---\n",
        encoding="utf-8",
    )
    (inbox / "shapeless.md").write_text("---\ntitle: only a title\n---\n", encoding="utf-8")
    (inbox / "notes").mkdir()
    (inbox / "notes" / "typed.md").write_text(
        "---\ndoc_type: journal\ntitle: T\ndate: 2024-01-01\n---\n", encoding="utf-8"
    )
    result = run_ingest(tmp_path, inbox)
    assert_valid_ones_landed(result)
    kinds = {d["title"]: d["doc_type"] for d in result["documents"]}
    assert kinds["Dropped"] == "post"
    assert kinds["Ana"] == "profile"
    assert kinds["W"] == "journal"
    (both,) = reasons_for(result, "both.md")
    assert "shape of a post (title + date) and of a profile (subject_uuid)" in both
    (shapeless,) = reasons_for(result, "shapeless.md")
    assert shapeless.startswith("cannot tell the doc_type")
    (typed,) = reasons_for(result, "typed.md")  # explicit doc_type wins over the shape
    assert "window_start is required" in typed


def test_a_killed_run_keeps_its_committed_groups_and_the_rerun_reuses_the_store(
    tmp_path: Path,
) -> None:
    """SIGKILL midway: groups already written stay, stored media are reused, none twice."""
    import io
    import signal
    import time

    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    count = 2500
    for number in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (number % 256, number // 256, 1)).save(buffer, format="PNG")
        (photos / f"p{number:05}.png").write_bytes(buffer.getvalue())
    database = tmp_path / "warehouse" / "w.duckdb"
    database.parent.mkdir()
    store = database.parent / "media"
    spec = tmp_path / "kill-spec.json"
    spec.write_text(json.dumps({"database": str(database), "paths": [str(photos)]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGREGORA_")}
    env["EGREGORA_MEDIA_DIR"] = str(store)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ingestion.hostile_child", str(spec)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and child.poll() is None:
            stored = sum(1 for p in store.rglob("*.png")) if store.exists() else 0
            if stored > 800:  # the first group of 500 is written before the next is read
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=60)

    result = run_ingest(tmp_path, photos, database=database)
    added = sum(i["documents_added"] for i in result["inputs"])
    assert 0 < added <= count - 500  # at least the first group survived the kill
    assert len([d for d in result["documents"] if d["doc_type"] == "media"]) == count
    assert len(list(store.rglob("*.png"))) == count  # nothing stored twice


def test_a_tree_thousands_of_folders_deep_and_a_symlink_loop_cost_nothing_else(
    tmp_path: Path,
) -> None:
    """No recursion limit in the walk; a looping symlink is one unreadable input."""
    from egregora_pipeline.ingestion.discovery import discover_inputs

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    deep = inbox
    for _ in range(1100):  # past the interpreter's recursion limit (1000), under PATH_MAX
        deep = deep / "a"
        deep.mkdir()  # one level at a time: mkdir(parents=True) itself recurses
    (deep / "bottom.md").write_text(POST, encoding="utf-8")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)

    try:
        found = discover_inputs([loop, inbox])
    finally:  # pytest's own clean-up (shutil.rmtree) recurses: take the tree down here
        (deep / "bottom.md").unlink()
        while deep != inbox:
            deep.rmdir()
            deep = deep.parent

    assert [(item.kind, item.path.name) for item in found] == [
        ("unreadable", "loop"),
        ("markdown", "bottom.md"),
    ]
    assert "symlink loop" in (found[0].reason or "")
