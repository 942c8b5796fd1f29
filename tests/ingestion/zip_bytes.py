"""Zips written byte by byte, so a test can make every header say what it likes.

``zipfile`` always writes honest headers; a hostile archive does not. Each
:class:`Entry` holds the bytes stored for a member and, separately, what its
local header, central-directory record and data descriptor declare.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path


def deflate(data: bytes) -> bytes:
    """Raw deflate (no zlib header), as zip method 8 stores it."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


@dataclass
class Declared:
    """What one header says about a member."""

    crc: int
    packed: int
    size: int
    name: str | None = None
    method: int | None = None


@dataclass
class Entry:
    name: str
    stored: bytes
    """The bytes between the local header and the next record, as written."""
    method: int
    local: Declared
    central: Declared
    descriptor: Declared | None = None
    flags: int = 0
    after: bytes = b""
    """Bytes written after the member (and its descriptor), before the next header."""


def honest(name: str, content: bytes, *, method: int = 8) -> Entry:
    """A member whose headers all tell the truth."""
    stored = deflate(content) if method == 8 else content
    declared = Declared(zlib.crc32(content), len(stored), len(content))
    return Entry(name, stored, method, declared, Declared(**vars(declared)))


@dataclass
class ZipBytes:
    entries: list[Entry] = field(default_factory=list)

    def write(self, path: Path) -> Path:
        out = bytearray()
        central = bytearray()
        for entry in self.entries:
            offset = len(out)
            flags = entry.flags | (0x8 if entry.descriptor is not None else 0)
            local_name = (entry.local.name or entry.name).encode()
            out += struct.pack(
                "<4sHHHHHLLLHH",
                b"PK\x03\x04",
                20,
                flags,
                entry.local.method if entry.local.method is not None else entry.method,
                0,
                0x21,
                entry.local.crc,
                entry.local.packed,
                entry.local.size,
                len(local_name),
                0,
            )
            out += local_name + entry.stored
            if entry.descriptor is not None:
                d = entry.descriptor
                out += struct.pack("<4sLLL", b"PK\x07\x08", d.crc, d.packed, d.size)
            out += entry.after
            name = (entry.central.name or entry.name).encode()
            central += struct.pack(
                "<4sHHHHHHLLLHHHHHLL",
                b"PK\x01\x02",
                20,
                20,
                flags,
                entry.central.method if entry.central.method is not None else entry.method,
                0,
                0x21,
                entry.central.crc,
                entry.central.packed,
                entry.central.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            central += name
        start = len(out)
        out += central
        count = len(self.entries)
        out += struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, len(central), start, 0)
        path.write_bytes(bytes(out))
        return path
