"""The repository stands alone: nothing it ships reads or links outside its own root.

A person who clones the project with nothing beside it must be able to run the
tests and follow every link in the docs. These tests read every tracked text file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# Spelled in parts so that this rule, which lives in a tracked file, is not itself a hit
# for a plain grep of the repository.
_SHARED = "sha" + "red"
_OUTSIDE = re.compile(rf"\.\./{_SHARED}\b|EGREGORA_{_SHARED.upper()}_DIR|/work/{_SHARED}\b")
_MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = []
    for name in filter(None, listed):
        path = REPO_ROOT / name.decode()
        if (
            path.suffix in {".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ".txt", ""}
            and path.is_file()
        ):
            files.append(path)
    return files


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "document",
    [p for p in _tracked_text_files() if p.suffix == ".md"],
    ids=lambda p: str(p.relative_to(REPO_ROOT)),
)
def test_every_relative_link_in_the_docs_resolves_inside_the_repository(document: Path) -> None:
    for target in _MARKDOWN_LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):  # http(s)://, mailto: — not a file of ours
            continue
        resolved = (document.parent / target).resolve()
        assert resolved.is_relative_to(REPO_ROOT), f"{document.name} links outside: {target}"
        assert resolved.exists(), f"{document.name} links to a missing file: {target}"
