"""Expand the paths given to ``ingest`` into typed inputs.

Folders are walked (hidden entries skipped, sorted for a stable order); each
file is recognised by its type: a WhatsApp export (a ``.zip`` holding a chat
text, or a ``.txt`` whose first lines are WhatsApp headers), Markdown
(``.md``/``.markdown``) or media (image/video/audio/document extensions).
Anything else is reported: as an error when the user named the file, as a
quiet skip when it was merely found in a folder (READMEs, scripts).

Only regular files are ever opened. A pipe, device or socket (named or found
in a folder) and a folder that cannot be listed are ``unreadable`` inputs:
each becomes a rejection, and the walk goes on with the rest.
"""

from __future__ import annotations

import os
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from egregora_pipeline.ingestion.markdown import MARKDOWN_EXTENSIONS
from egregora_pipeline.ingestion.media import MEDIA_EXTENSIONS
from egregora_pipeline.ingestion.report import storable_name
from egregora_pipeline.ingestion.streams import bom_encoding, file_type_name, open_regular
from egregora_pipeline.ingestion.whatsapp.formats import detect_shape, split_lines

InputKind = Literal["whatsapp", "markdown", "media", "unsupported", "missing", "unreadable"]

_SNIFF_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class DiscoveredInput:
    """One file to ingest, what it is, and the folder it was found under (if any)."""

    path: Path
    kind: InputKind
    root: Path | None = None
    explicit: bool = True
    reason: str | None = None


def _looks_like_chat(path: Path) -> bool:
    with open_regular(path) as handle:
        head = handle.read(_SNIFF_BYTES)
    encoding = bom_encoding(head) or "utf-8"
    lines = split_lines(head.decode(encoding, errors="replace"))
    return detect_shape(lines) is not None


def _zip_has_text(path: Path) -> bool:
    try:
        with open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
            return any(name.lower().endswith(".txt") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return True  # let the archive reader refuse it with a precise message


def classify(path: Path, *, root: Path | None = None, explicit: bool = True) -> DiscoveredInput:
    """Recognise one file by its type (content is sniffed for ``.txt`` and ``.zip``).

    The file's type is checked first (following a symlink the user named): a
    pipe, device or socket is ``unreadable`` before anything is opened.
    """
    try:
        what = file_type_name(os.stat(path).st_mode)
    except OSError as error:
        return DiscoveredInput(path, "unreadable", root, explicit, _os_reason("cannot read", error))
    if what is not None:
        return DiscoveredInput(
            path,
            "unreadable",
            root,
            explicit,
            f"{what}, not a regular file; only regular files are read",
        )
    suffix = path.suffix.lower()
    if suffix == ".zip":
        if _zip_has_text(path):
            return DiscoveredInput(path, "whatsapp", root, explicit)
        return DiscoveredInput(path, "unsupported", root, explicit, "zip without a chat .txt")
    if suffix == ".txt":
        try:
            chat = _looks_like_chat(path)
        except OSError as error:
            return DiscoveredInput(
                path, "unreadable", root, explicit, _os_reason("cannot read", error)
            )
        if chat:
            return DiscoveredInput(path, "whatsapp", root, explicit)
        return DiscoveredInput(
            path, "unsupported", root, explicit, "text file without WhatsApp message headers"
        )
    if suffix in MARKDOWN_EXTENSIONS:
        return DiscoveredInput(path, "markdown", root, explicit)
    if suffix.lstrip(".") in MEDIA_EXTENSIONS:
        return DiscoveredInput(path, "media", root, explicit)
    return DiscoveredInput(
        path, "unsupported", root, explicit, f"unsupported file type {suffix or '(none)'}"
    )


def _os_reason(doing: str, error: OSError) -> str:
    return f"{doing}: {error.strerror or type(error).__name__}"


def _walk(folder: Path, root: Path) -> Iterator[DiscoveredInput]:
    """Every input below ``folder``, depth first in name order; a folder that cannot be
    listed is one ``unreadable`` input. An explicit stack, not recursion: a tree
    thousands of folders deep is walked like any other."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            yield DiscoveredInput(
                current, "unreadable", root, False, _os_reason("cannot list folder", error)
            )
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(path)
                    continue
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as error:
                yield DiscoveredInput(
                    path, "unreadable", root, False, _os_reason("cannot read", error)
                )
                continue
            what = file_type_name(mode)
            if what is None:
                yield classify(path, root=root, explicit=False)
            else:
                yield DiscoveredInput(
                    path,
                    "unreadable",
                    root,
                    False,
                    f"{what}, not a regular file; only regular files are read",
                )
        pending.extend(reversed(subfolders))


def _resolved(path: Path) -> Path | None:
    """The file's own path, or None when it cannot be resolved (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


_READABLE: Final = frozenset({"whatsapp", "markdown", "media"})
_COMPARE_BLOCK: Final = 1024 * 1024


def _same_bytes(first: Path, second: Path) -> bool:
    """Whether two regular files hold the same bytes (False if either cannot be read)."""
    try:
        with open_regular(first) as a, open_regular(second) as b:
            if os.fstat(a.fileno()).st_size != os.fstat(b.fileno()).st_size:
                return False
            while True:
                block = a.read(_COMPARE_BLOCK)
                if block != b.read(_COMPARE_BLOCK):
                    return False
                if not block:
                    return True
    except OSError:
        return False


def _spelling(path: Path) -> str:
    name = os.fsdecode(path)
    if unicodedata.is_normalized("NFC", name):
        return "composed (NFC)"
    if unicodedata.is_normalized("NFD", name):
        return "decomposed (NFD, as macOS writes names)"
    return "partly decomposed"


class _SpellingTwins:
    """Files whose paths differ only in Unicode normalization (NFC vs NFD).

    macOS stores names decomposed, so an export copied from a Mac beside the
    same export saved on Linux is two files that print alike. Their names give
    one thread, slug and id (``report.canonical_name``); when their bytes are
    the same too, the second is the same source and is left alone, saying so.
    Twins whose bytes differ are both read (a later export of the same chat
    adds its new messages; a second post with the slug is refused by name).
    """

    def __init__(self) -> None:
        self._first: dict[str, Path] = {}

    def twin_of(self, item: DiscoveredInput, resolved: Path) -> DiscoveredInput | None:
        """``item`` as a skipped twin of a file found earlier, or None to read it."""
        if item.kind not in _READABLE:
            return None
        key = unicodedata.normalize("NFC", os.fsdecode(resolved))
        first = self._first.setdefault(key, item.path)
        if first is item.path or not _same_bytes(first, item.path):
            return None
        return DiscoveredInput(
            item.path,
            "unsupported",
            item.root,
            False,
            f"the same source as {storable_name(first)}: this name is spelled "
            f"{_spelling(item.path)}, that one {_spelling(first)}, and the bytes are "
            "identical; ingested once",
        )


def discover_inputs(paths: Sequence[Path]) -> list[DiscoveredInput]:
    """Every input under ``paths``, each file once, in a stable order.

    A path naming a file already found (the same file twice, or a file inside
    a folder also given), or a copy of one under a name spelled in another
    Unicode normalization (:class:`_SpellingTwins`), is listed once more as
    ``unsupported`` (a quiet skip) saying so, never dropped without a word.
    """
    found: list[DiscoveredInput] = []
    seen: dict[Path, Path] = {}
    twins = _SpellingTwins()
    for given in paths:
        path = Path(given)
        if not path.exists() and not path.is_symlink():
            found.append(DiscoveredInput(path, "missing", None, True, "no such file or folder"))
            continue
        if path.is_dir():
            for item in _walk(path, path):
                resolved = _resolved(item.path) or item.path
                if resolved not in seen:
                    seen[resolved] = item.path
                    found.append(twins.twin_of(item, resolved) or item)
        else:
            own = _resolved(path)
            if own is None:
                found.append(
                    DiscoveredInput(
                        path, "unreadable", path.parent, True, "a symlink loop: it names no file"
                    )
                )
                continue
            resolved = own
            if resolved in seen:
                found.append(
                    DiscoveredInput(
                        path,
                        "unsupported",
                        path.parent,
                        False,
                        f"the same file as {storable_name(seen[resolved])}, ingested once",
                    )
                )
                continue
            seen[resolved] = path
            item = classify(path, root=path.parent, explicit=True)
            found.append(twins.twin_of(item, resolved) or item)
    return found
