"""Open WhatsApp export archives defensively, and name the chat they hold.

Exports arrive by e-mail, chat and shared drives, so an archive is treated as
hostile: it is refused (with :class:`UnsafeArchiveError` naming it) when it
has too many members, a member or a total larger than the limits, a member
whose compression ratio betrays a zip bomb, or a member name that tries to
leave its folder (zip slip: absolute, ``..``, drive letters). Symlink and
encrypted members are ignored and reported. Member names are never used as
paths: media bytes go to the content-addressed store (see ``media.py``).

Sizes declared in the zip directory can lie, so members are read by
:class:`~.zipmember.CheckedMember`, which compares the central directory, the
local header, the data descriptor and the bytes themselves.
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from egregora_pipeline.ingestion.errors import ChatNotFoundError, UnsafeArchiveError
from egregora_pipeline.ingestion.streams import bom_encoding
from egregora_pipeline.ingestion.whatsapp.formats import detect_shape, split_lines
from egregora_pipeline.ingestion.whatsapp.zipmember import CheckedMember, member_ends


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits applied to every archive (generous for real exports, fatal for bombs)."""

    max_members: int = 20_000
    max_member_bytes: int = 4 * 1024**3
    max_total_bytes: int = 8 * 1024**3
    max_ratio: float = 200.0
    """Uncompressed/compressed size above which a member, or the archive as a whole, is a
    bomb (text rarely beats 20; photos and videos are already compressed, about 1)."""
    ratio_floor_bytes: int = 64 * 1024
    """Members (and archives) smaller than this are not ratio-checked (tiny files
    compress oddly)."""


DEFAULT_LIMITS: Final = ArchiveLimits()

_CHAT_NAME: Final = re.compile(
    r"^(?:whatsapp[ _-]?chat(?: with| mit| met| con| avec| -)?|conversa do whatsapp com"
    r"|chat de whatsapp con|chat whatsapp con|chat whatsapp avec|discussion whatsapp avec"
    r"|whatsapp[ -]chat mit|czat whatsapp z|whatsapp sohbeti)\s*[-–]?\s*",
    re.IGNORECASE,
)
_SNIFF_BYTES: Final = 256 * 1024
_COPY_NUMBER: Final = re.compile(r" \(\d{1,3}\)$")


def thread_name(chat_file: str, archive: str | None = None) -> str:
    """The chat's name from its file name (``WhatsApp Chat with Ana.txt`` -> ``Ana``).

    iOS names every chat ``_chat.txt``; then the folder holding it is used, or
    else the archive's name (``WhatsApp Chat - Ana.zip`` -> ``Ana``). A copy
    number that browsers and file managers append to a second download
    (``... Ana (1).zip``) is dropped: the same chat must keep the same
    ``thread_id`` or its messages would be ingested again under a new one.
    For the same reason the name is returned composed (NFC): a title saved
    on macOS (decomposed, NFD) is the same chat as the one saved elsewhere.
    """
    path = PurePosixPath(chat_file.replace("\\", "/"))
    stem = path.stem
    if stem.lower() in {"_chat", "chat"}:
        if path.parent.name:
            stem = path.parent.name
        elif archive is not None:
            stem = PurePosixPath(archive.replace("\\", "/")).stem
    stem = _COPY_NUMBER.sub("", stem)
    name = _CHAT_NAME.sub("", stem).strip()
    return unicodedata.normalize("NFC", name or stem)


def _unsafe_name(name: str) -> bool:
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized) or "\x00" in name:
        return True
    return any(part == ".." for part in normalized.split("/"))


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


@dataclass
class ExportArchive:
    """A checked archive: the chat member, the media members, and what was ignored."""

    path: Path
    zip: zipfile.ZipFile
    chat: zipfile.ZipInfo
    media: list[zipfile.ZipInfo]
    ignored: list[tuple[str, str]] = field(default_factory=list)
    limits: ArchiveLimits = DEFAULT_LIMITS

    @property
    def thread_id(self) -> str:
        return thread_name(self.chat.filename, self.path.name)

    ends: dict[int, int] = field(default_factory=dict)

    def open_member(self, info: zipfile.ZipInfo) -> CheckedMember:
        """The member's bytes, its headers checked against each other and its content."""
        return open_checked(self.zip, self.path, info, self.limits, self.ends)

    def close(self) -> None:
        self.zip.close()


def _check(path: Path, infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_members:
        raise UnsafeArchiveError(
            path, f"{len(infos)} members exceed the limit of {limits.max_members}"
        )
    total = packed = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise UnsafeArchiveError(
                path, "member name escapes the archive folder (zip slip)", info.filename
            )
        if info.file_size > limits.max_member_bytes:
            raise UnsafeArchiveError(
                path,
                f"member of {info.file_size} bytes exceeds the limit of {limits.max_member_bytes}",
                info.filename,
            )
        if info.file_size >= limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise UnsafeArchiveError(
                path,
                f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 exceeds "
                f"{limits.max_ratio:.0f}:1 (zip bomb?)",
                info.filename,
            )
        total += info.file_size
        packed += info.compress_size
    if total > limits.max_total_bytes:
        raise UnsafeArchiveError(
            path, f"{total} bytes uncompressed exceed the limit of {limits.max_total_bytes}"
        )
    # Many members each just under the per-member floor add up: judge the whole archive too.
    if total >= limits.ratio_floor_bytes and total > limits.max_ratio * max(packed, 1):
        raise UnsafeArchiveError(
            path,
            f"whole-archive compression ratio {total / max(packed, 1):.0f}:1 exceeds "
            f"{limits.max_ratio:.0f}:1 (zip bomb?)",
        )


def _looks_like_chat_name(name: str) -> bool:
    base = PurePosixPath(name).name
    return base.lower() == "_chat.txt" or (
        base.lower().endswith(".txt") and "whatsapp" in base.lower()
    )


def open_export(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> ExportArchive:
    """Open and check ``path``; find its chat by name (any language), else the one that parses."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise UnsafeArchiveError(path, f"not a readable zip file ({error})") from error
    try:
        infos = archive.infolist()
        _check(path, infos, limits)
        ends = member_ends(archive)
        ignored: list[tuple[str, str]] = []
        usable: list[zipfile.ZipInfo] = []
        for info in infos:
            if info.is_dir():
                continue
            if _is_symlink(info):
                ignored.append((info.filename, "symlink member ignored"))
            elif info.flag_bits & 0x1:
                ignored.append((info.filename, "encrypted member ignored"))
            else:
                usable.append(info)
        texts = [i for i in usable if i.filename.lower().endswith(".txt")]
        named = [i for i in texts if _looks_like_chat_name(i.filename)]
        locked = [i for i in infos if i.flag_bits & 0x1 and i.filename.lower().endswith(".txt")]
        if not named and any(_looks_like_chat_name(i.filename) for i in locked):
            _refuse_encrypted_chat(path, [i for i in locked if _looks_like_chat_name(i.filename)])
        if len(named) == 1:
            chat = named[0]
        else:
            pool = named or texts
            parsing = [i for i in pool if _parses(archive, i, path, limits, ends)]
            if len(parsing) > 1:  # e.g. a chat export forwarded into this chat
                own = thread_name("_chat.txt", path.name)
                parsing = [i for i in parsing if thread_name(i.filename, path.name) == own] or (
                    parsing
                )
            if len(parsing) > 1:
                raise ChatNotFoundError(path, [i.filename for i in parsing], several=True)
            if not parsing and locked:
                _refuse_encrypted_chat(path, locked)
            if not parsing:
                raise ChatNotFoundError(path, [i.filename for i in pool])
            chat = parsing[0]
        media = [i for i in usable if i is not chat]
        return ExportArchive(path, archive, chat, media, ignored, limits, ends)
    except BaseException:
        archive.close()
        raise


def _refuse_encrypted_chat(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """The chat is an encrypted member: say so, naming it (never "no chat found")."""
    names = ", ".join(repr(i.filename) for i in members)
    raise UnsafeArchiveError(
        path,
        f"the chat member is encrypted (a password-protected zip: {names}), so it cannot be "
        "read; extract it with its password and ingest the .txt, or zip the export again "
        "without a password",
        members[0].filename,
    )


def open_checked(
    archive: zipfile.ZipFile,
    path: Path,
    info: zipfile.ZipInfo,
    limits: ArchiveLimits,
    ends: dict[int, int],
) -> CheckedMember:
    """A :class:`CheckedMember` of ``archive``, read through the archive's own descriptor."""
    if archive.fp is None:
        raise UnsafeArchiveError(path, "the archive is closed", info.filename)
    return CheckedMember(
        archive.fp.fileno(), path, info, ends[info.header_offset], limits.max_member_bytes
    )


def _parses(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: Path,
    limits: ArchiveLimits,
    ends: dict[int, int],
) -> bool:
    with open_checked(archive, path, info, limits, ends) as reader:
        head = reader.read(_SNIFF_BYTES)
    lines = split_lines(head.decode(bom_encoding(head) or "utf-8", errors="replace"))
    return detect_shape(lines) is not None


__all__ = [
    "DEFAULT_LIMITS",
    "ArchiveLimits",
    "ExportArchive",
    "open_export",
    "thread_name",
]
