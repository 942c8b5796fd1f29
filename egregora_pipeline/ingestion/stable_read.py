"""A file must be the same at the end of its read as when it was opened.

A chat or post rewritten in place while it is read (an editor saving, a sync
client writing a newer export) was loaded as a mix of the old and the new
content, matching neither. Each regular file is therefore ``fstat``-ed on its
open descriptor when opened and again once read: a different size, mtime or
inode means it changed, and the input is refused (its transaction rolled back)
with :class:`FileChangedError` saying to ingest it again once it is written.
Replacing a file by a rename is not a change of the open file: the descriptor
keeps reading the old, whole content.
"""

from __future__ import annotations

import os
from pathlib import Path


class FileChangedError(OSError):
    """The file's size or modification time changed between its open and the end of its read."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(
            f"the file changed while it was read ({what}); nothing of it was stored: ingest "
            "it again once whatever writes it has finished"
        )
        self.path = path
        self.what = what


def snapshot(fd: int) -> os.stat_result:
    """What the open file is now (size, mtime, inode), to compare after the read."""
    return os.fstat(fd)


def check_unchanged(fd: int, before: os.stat_result, path: Path) -> None:
    """Raise :class:`FileChangedError` unless the file behind ``fd`` is as ``before``."""
    after = os.fstat(fd)
    if after.st_size != before.st_size:
        raise FileChangedError(path, f"{before.st_size:,} bytes, then {after.st_size:,}")
    if after.st_mtime_ns != before.st_mtime_ns or after.st_ino != before.st_ino:
        raise FileChangedError(path, "it was written to during the read")


__all__ = ["FileChangedError", "check_unchanged", "snapshot"]
