"""Read a zip member whose headers are checked against each other and against its bytes.

A zip states a member's name, method, sizes and CRC twice (central directory,
local header) and sometimes a third time (the data descriptor after the data,
flag bit 3). The standard library reads a member up to the *declared*
uncompressed size and checks the CRC of those bytes only, so a member whose
deflate stream holds more than it declares (sizes and CRC of a shorter prefix)
was cut mid-message with no error. :class:`CheckedMember` reads the raw
compressed bytes itself (``os.pread`` on the archive's descriptor, so several
members may be open at once) and refuses the member, with
:class:`UnsafeArchiveError` naming it, when:

* the local header disagrees with the central directory (name, method, flags'
  encryption bit, or CRC and sizes when no data descriptor follows);
* the data inflates past its declared size, ends before it, or its compressed
  stream does not end exactly at its declared compressed size;
* the CRC of every byte read differs from the declared one;
* the data descriptor disagrees with the central directory;
* bytes lie between the member's end and the next header (where a longer
  stored member's hidden rest would sit).

Stored (0), deflate (8) and bzip2 (12) members are read; others are refused
naming the method (WhatsApp writes deflate).
"""

from __future__ import annotations

import bz2
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Final, Protocol

from egregora_pipeline.ingestion.errors import UnsafeArchiveError

_LOCAL: Final = struct.Struct("<4sHHHHHLLLHH")
_LOCAL_MAGIC: Final = b"PK\x03\x04"
_DESCRIPTOR_MAGIC: Final = b"PK\x07\x08"
_ZIP64_MARK: Final = 0xFFFFFFFF
_CHUNK: Final = 1024 * 1024
_METHODS: Final = {0: "stored", 8: "deflate", 12: "bzip2"}


class _Codec(Protocol):
    """One method's decompressor, fed compressed bytes, never giving more than ``limit``."""

    @property
    def eof(self) -> bool: ...

    @property
    def wants_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def feed(self, data: bytes, limit: int) -> bytes: ...


class _Stored:
    """A stored member: its bytes as they are (its end is its declared size)."""

    eof = False
    wants_input = True
    unused_data = b""

    def feed(self, data: bytes, limit: int) -> bytes:
        return data


class _Deflate:
    def __init__(self) -> None:
        self._inner = zlib.decompressobj(-15)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._inner.eof

    @property
    def wants_input(self) -> bool:
        return not self._tail

    @property
    def unused_data(self) -> bytes:
        return self._inner.unused_data

    def feed(self, data: bytes, limit: int) -> bytes:
        out = self._inner.decompress(self._tail + data, limit)
        self._tail = self._inner.unconsumed_tail
        return out


class _Bzip2:
    def __init__(self) -> None:
        self._inner = bz2.BZ2Decompressor()

    @property
    def eof(self) -> bool:
        return self._inner.eof

    @property
    def wants_input(self) -> bool:
        return self._inner.needs_input

    @property
    def unused_data(self) -> bytes:
        return self._inner.unused_data

    def feed(self, data: bytes, limit: int) -> bytes:
        return self._inner.decompress(data, limit)


class CheckedMember:
    """A member's uncompressed bytes, ``read(size)`` like a file; see the module docstring.

    ``next_offset`` is where the next local header (or the central directory)
    starts: the member's data and descriptor must end exactly there.
    """

    def __init__(
        self, fd: int, path: Path, info: zipfile.ZipInfo, next_offset: int, max_bytes: int
    ) -> None:
        self._fd = fd
        self._path = path
        self._info = info
        self._next = next_offset
        self._allowed = min(info.file_size, max_bytes)
        self._crc = 0
        self._out = 0
        self._pending = bytearray()
        self._done = False
        start, self._descriptor = self._check_local_header()
        self._position = start
        self._end = start + info.compress_size
        if self._end > next_offset:
            self._fail(
                f"its declared compressed size ({info.compress_size} bytes) runs past the "
                "next header"
            )
        method = info.compress_type
        self._codec: _Codec
        if method == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                self._fail(
                    f"a stored member declares {info.compress_size} bytes stored but "
                    f"{info.file_size} bytes of content"
                )
            self._codec = _Stored()
        elif method == zipfile.ZIP_DEFLATED:
            self._codec = _Deflate()
        elif method == zipfile.ZIP_BZIP2:
            self._codec = _Bzip2()
        else:
            self._fail(
                f"compression method {method} is not read (only stored, deflate and bzip2); "
                "extract the archive and zip it again"
            )

    def _fail(self, reason: str) -> None:
        raise UnsafeArchiveError(self._path, f"member headers lie: {reason}", self._info.filename)

    def _pread(self, size: int, offset: int) -> bytes:
        data = os.pread(self._fd, size, offset)
        if len(data) < size:
            self._fail(f"the archive ends inside this member (at byte {offset + len(data)})")
        return data

    def _check_local_header(self) -> tuple[int, bool]:
        info = self._info
        fields = _LOCAL.unpack(self._pread(_LOCAL.size, info.header_offset))
        magic, _, flags, method, _, _, crc, packed, size, name_len, extra_len = fields
        if magic != _LOCAL_MAGIC:
            self._fail(f"no local header at offset {info.header_offset}")
        raw_name = self._pread(name_len, info.header_offset + _LOCAL.size)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        if name != info.orig_filename:
            self._fail(f"the local header names it {name!r}, the central directory otherwise")
        if method != info.compress_type:
            self._fail(
                f"the local header says method {method}, the central directory {info.compress_type}"
            )
        if (flags ^ info.flag_bits) & 0x1:
            self._fail("the local header and the central directory disagree on encryption")
        descriptor = bool(flags & 0x8)
        if not descriptor:
            for what, local, central in (
                ("CRC", crc, info.CRC),
                ("compressed size", packed, info.compress_size),
                ("size", size, info.file_size),
            ):
                if local != central and local != _ZIP64_MARK:
                    self._fail(
                        f"its {what} is {local} in the local header but {central} in the "
                        "central directory"
                    )
        self._zip64 = _ZIP64_MARK in (packed, size)
        return info.header_offset + _LOCAL.size + name_len + extra_len, descriptor

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); ``b""`` at the end."""
        while not self._done and (size < 0 or len(self._pending) < size):
            self._step()
        take = len(self._pending) if size < 0 else size
        out = bytes(self._pending[:take])
        del self._pending[:take]
        return out

    def _step(self) -> None:
        codec = self._codec
        if codec.eof:
            if self._position < self._end or codec.unused_data:
                self._fail(
                    "its compressed stream ends before its declared compressed size "
                    f"({self._info.compress_size} bytes)"
                )
            self._finish()
            return
        packed = b""
        if codec.wants_input:
            left = self._end - self._position
            if left <= 0:
                self._finish()
                return
            packed = self._pread(min(_CHUNK, left), self._position)
            self._position += len(packed)
        block = codec.feed(packed, self._allowed - self._out + 1)
        self._out += len(block)
        if self._out > self._allowed:
            self._fail(
                f"it inflates past its declared/allowed size of {self._allowed} bytes "
                f"(declared {self._info.file_size}): it is longer than its headers say"
            )
        self._crc = zlib.crc32(block, self._crc)
        self._pending += block

    def _finish(self) -> None:
        self._done = True
        info = self._info
        if not isinstance(self._codec, _Stored) and not self._codec.eof:
            self._fail(
                "its compressed stream does not end at its declared compressed size "
                f"({info.compress_size} bytes): the member is longer, or cut"
            )
        if self._out != info.file_size:
            self._fail(f"it holds {self._out} bytes but declares {info.file_size}")
        if self._crc != info.CRC:
            self._fail(f"its CRC is {self._crc:08x} but its headers declare {info.CRC:08x}")
        end = self._end
        if self._descriptor:
            end = self._check_descriptor(end)
        if end != self._next:
            self._fail(
                f"{self._next - end} bytes lie between its end and the next header "
                "(a member longer than it declares?)"
            )

    def _check_descriptor(self, at: int) -> int:
        info = self._info
        head = os.pread(self._fd, 4, at)
        if head == _DESCRIPTOR_MAGIC:
            at += 4
        wide = self._zip64 or info.file_size >= _ZIP64_MARK or info.compress_size >= _ZIP64_MARK
        layout = struct.Struct("<LQQ" if wide else "<LLL")
        crc, packed, size = layout.unpack(self._pread(layout.size, at))
        if (crc, packed, size) != (info.CRC, info.compress_size, info.file_size):
            self._fail(
                f"its data descriptor says CRC {crc:08x}, {packed} bytes compressed, {size} "
                f"bytes; the central directory {info.CRC:08x}, {info.compress_size}, "
                f"{info.file_size}"
            )
        return at + layout.size

    def close(self) -> None:
        """Nothing to release: the archive owns the descriptor."""

    def __enter__(self) -> CheckedMember:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def member_ends(archive: zipfile.ZipFile) -> dict[int, int]:
    """For each member's header offset, where the next local header (or the central
    directory) starts: the member's data and descriptor must end exactly there."""
    offsets = sorted({info.header_offset for info in archive.infolist()})
    start_dir = int(getattr(archive, "start_dir", offsets[-1] if offsets else 0))
    return dict(zip(offsets, [*offsets[1:], start_dir], strict=True))


__all__ = ["CheckedMember", "member_ends"]
