"""Expand the paths given to ``ingest`` into typed inputs.

Folders are walked (hidden entries skipped, sorted for a stable order); each
file is recognised by its type: a WhatsApp export (a ``.zip`` holding a chat
text, or a ``.txt`` whose first lines are WhatsApp headers), Markdown
(``.md``/``.markdown``) or media (image/video/audio/document extensions).
Anything else is reported: as an error when the user named the file, as a
quiet skip when it was merely found in a folder (READMEs, scripts).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from egregora_pipeline.ingestion.markdown import MARKDOWN_EXTENSIONS
from egregora_pipeline.ingestion.media import MEDIA_EXTENSIONS
from egregora_pipeline.ingestion.streams import is_utf16
from egregora_pipeline.ingestion.whatsapp.formats import detect_shape

InputKind = Literal["whatsapp", "markdown", "media", "unsupported", "missing"]

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
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    encoding = "utf-16" if is_utf16(head) else "utf-8"
    lines = head.decode(encoding, errors="replace").replace("\r\n", "\n").split("\n")
    return detect_shape(lines) is not None


def _zip_has_text(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.lower().endswith(".txt") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return True  # let the archive reader refuse it with a precise message


def classify(path: Path, *, root: Path | None = None, explicit: bool = True) -> DiscoveredInput:
    """Recognise one file by its type (content is sniffed for ``.txt`` and ``.zip``)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        if _zip_has_text(path):
            return DiscoveredInput(path, "whatsapp", root, explicit)
        return DiscoveredInput(path, "unsupported", root, explicit, "zip without a chat .txt")
    if suffix == ".txt":
        if _looks_like_chat(path):
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


def _walk(folder: Path) -> Iterator[Path]:
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.is_file():
            yield entry


def discover_inputs(paths: Sequence[Path]) -> list[DiscoveredInput]:
    """Every input under ``paths``, each file once, in a stable order."""
    found: list[DiscoveredInput] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            found.append(DiscoveredInput(path, "missing", None, True, "no such file or folder"))
            continue
        if path.is_dir():
            for file in _walk(path):
                resolved = file.resolve()
                if resolved not in seen:
                    seen.add(resolved)
                    found.append(classify(file, root=path, explicit=False))
        else:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(classify(path, root=path.parent, explicit=True))
    return found
