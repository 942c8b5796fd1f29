"""Copy one file durably and print its SHA-256: run as a separate process by :mod:`.backup`.

Why a separate process: DuckDB's single-writer lock is a POSIX ``fcntl`` lock,
which belongs to the *process*, and POSIX drops every lock a process holds on a
file as soon as that process closes *any* descriptor of the file. Reading the
warehouse from the process that holds the DuckDB connection would therefore
silently release the lock in the middle of a backup. A child process reads the
file without touching the parent's lock.

Stdlib only, and run with ``python -I -S`` so it starts in milliseconds. The
copy (``os.copy_file_range``/``sendfile`` in the kernel) and the hash (a second
read of the same, page-cached bytes) run in two threads; both release the GIL.

Usage: ``python -I -S copy_file.py SOURCE DESTINATION`` -> prints
``<sha256> <size>``; the destination must not exist (it is created exclusively)
and is fsynced before the process exits 0, only once it holds exactly the source's
size in bytes. Exit 28 (ENOSPC) when the disk is full.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import threading

_CHUNK = 8 * 1024 * 1024


def _hash(path: str, out: list[str]) -> None:
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
    out.append(digest.hexdigest())


def _copy_rest(src: int, dst: int, copied: int, size: int) -> int:
    """Copy bytes ``copied..size`` with ``pread``/``pwrite``; stop early only at end of file."""
    while copied < size:
        chunk = os.pread(src, min(_CHUNK, size - copied), copied)
        if not chunk:
            break
        view = memoryview(chunk)
        while view:
            wrote = os.pwrite(dst, view, copied)
            copied += wrote
            view = view[wrote:]
    return copied


def _copy(source: str, destination: str) -> int:
    size = os.stat(source).st_size
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            copied = 0
            while copied < size:
                try:
                    sent = os.copy_file_range(src, dst, size - copied)
                except OSError as error:
                    if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL):
                        raise
                    sent = os.sendfile(dst, src, copied, size - copied)
                if sent == 0:
                    # The kernel copied nothing before the end (some filesystems
                    # answer 0 instead of an error): finish with plain reads and
                    # writes rather than stop short of the source's size.
                    copied = _copy_rest(src, dst, copied, size)
                    break
                copied += sent
            os.fsync(dst)
            written = os.fstat(dst).st_size
            if copied != size or written != size:
                raise OSError(
                    errno.EIO,
                    f"copied {written} of the {size} bytes of {source} (did it shrink?)",
                )
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return copied


def main(argv: list[str]) -> int:
    source, destination = argv
    hashes: list[str] = []
    hasher = threading.Thread(target=_hash, args=(source, hashes))
    hasher.start()
    try:
        size = _copy(source, destination)
    except OSError as error:
        hasher.join()
        print(f"{error.strerror or error}", file=sys.stderr)
        return errno.ENOSPC if error.errno == errno.ENOSPC else 1
    hasher.join()
    if not hashes:
        print("could not read the source to hash it", file=sys.stderr)
        return 1
    print(f"{hashes[0]} {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
