"""The ``ingest`` summary never crashes on names: they are data, never markup or control codes.

Paths, attachment names and reasons come from hostile input. Printed as Rich
markup, ``[/x]`` in any of them raised ``MarkupError`` after the data was
committed; escape sequences and newlines in file names reached the terminal
raw. A real subprocess of the CLI, as a user runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

CLI = str(Path(sys.executable).parent / "egregora-pipeline")


def test_markup_escape_sequences_and_newlines_in_names_are_printed_as_text(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "posts" / "a[").mkdir(parents=True)  # so a path reads "a[/x].md"
    (inbox / "WhatsApp Chat with Ana.txt").write_text(
        "31/12/2019, 23:58 - Ana: hello [bold]\n"
        "31/12/2019, 23:59 - Ana: [/x].jpg (file attached)\n",
        encoding="utf-8",
    )
    (inbox / "posts" / "a[/x].md").write_text(
        "---\ntitle: Brackets [/]\nstatus: published\n---\n", encoding="utf-8"
    )
    (inbox / "posts" / "status.md").write_text(
        '---\ntitle: t\nstatus: "[/]"\n---\n', encoding="utf-8"
    )
    (inbox / "posts" / "evil\x1b[31m\nname.md").write_text("---\nslug: s\n---\n", encoding="utf-8")
    database = tmp_path / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}

    done = subprocess.run(
        [CLI, "ingest", "--database", str(database), str(inbox)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )

    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert "MarkupError" not in output
    assert done.returncode in (0, 1), output
    assert "inbox/posts/a[/x].md" in done.stdout
    assert "status: expected one of draft, published, archived, got '[/]'" in done.stdout
    assert "'[/x].jpg'" in done.stdout
    assert "evil\\x1b[31m\\nname.md" in done.stdout
    assert "\x1b" not in done.stdout
    with duckdb.connect(str(database), read_only=True) as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM documents").fetchall()]
        messages = conn.execute("SELECT count(*) FROM messages").fetchone()
    assert titles == ["Brackets [/]"]
    assert messages == (2,)


def test_thousands_of_rejections_print_a_bounded_summary(tmp_path: Path) -> None:
    posts = tmp_path / "inbox" / "posts"
    posts.mkdir(parents=True)
    for number in range(300):
        (posts / f"p{number:03}.md").write_text("---\nslug: s\n---\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))}

    done = subprocess.run(
        [CLI, "ingest", "--database", str(tmp_path / "w.duckdb"), str(tmp_path / "inbox")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )

    assert "Traceback" not in done.stderr
    assert done.stdout.count("title is required") == 200
    assert "the first 200 rejections are shown, of 300" in done.stdout
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM ingest_rejections").fetchone() == (300,)


def test_a_file_named_twice_is_listed_as_left_alone_with_the_file_it_repeats(
    tmp_path: Path,
) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    post = posts / "p.md"
    post.write_text("---\ntitle: A post\ndate: 2024-01-01\n---\nbody\n", encoding="utf-8")
    done = subprocess.run(
        [CLI, "ingest", "posts", "posts/p.md", "--ephemeral", "-d", "w.duckdb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            k: v for k, v in os.environ.items() if not k.startswith(("EGREGORA_", "DAGSTER_HOME"))
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "left alone: posts/p.md (the same file as posts/p.md, ingested once)" in done.stdout
    assert "not an ingestible file type" not in done.stdout
