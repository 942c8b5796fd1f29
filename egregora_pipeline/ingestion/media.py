"""Media files (from folders and chat archives) -> content-addressed store + ``documents`` rows.

Bytes are streamed once: hashed (SHA-256, the ``source_checksum``) while being
copied into a temporary file inside the store, which is then renamed to
``<store>/<sha[:2]>/<sha>.<ext>``. The final path is built from the digest and
a sanitized extension only -- never from a name found in an archive -- so no
input can make us write outside the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from egregora_pipeline.ids import media_document_id
from egregora_pipeline.ingestion.errors import IngestionError
from egregora_pipeline.ingestion.limits import MAX_MEDIA_BYTES, over_limit
from egregora_pipeline.ingestion.report import canonical_name
from egregora_pipeline.ingestion.stable_read import check_unchanged, snapshot
from egregora_pipeline.ingestion.streams import ReadableBytes, open_regular
from egregora_pipeline.ingestion.whatsapp.content import MEDIA_TYPE_BY_EXTENSION, media_type_for
from egregora_pipeline.processes import left_by_a_dead_process, owned_prefix

_COPY_BYTES: Final = 1024 * 1024
_SAFE_EXT: Final = re.compile(r"^[a-z0-9]{1,10}$")
_EXTRA_MIME: Final = {
    "opus": "audio/ogg",
    "webp": "image/webp",
    "heic": "image/heic",
    "3gp": "video/3gpp",
    "amr": "audio/amr",
    "vcf": "text/vcard",
    "m4a": "audio/mp4",
}
MEDIA_EXTENSIONS: Final = frozenset(MEDIA_TYPE_BY_EXTENSION) - {"txt", "csv", "zip"}
"""Extensions that make a file found in a folder a media input (chat text and
archives are recognised separately)."""


class ByteLimitExceeded(Exception):
    """Raised by a copy when more bytes arrive than the caller allowed."""


@dataclass(frozen=True)
class StoredMedia:
    """A file now in the media store."""

    sha256: str
    size: int
    extension: str
    path: Path

    @property
    def key(self) -> str:
        """Path relative to the store; what ``messages.media_url`` holds."""
        return f"{self.sha256[:2]}/{self.sha256}" + (f".{self.extension}" if self.extension else "")


def safe_extension(filename: str) -> str:
    """Lower-case extension if it is short and alphanumeric, else empty (never a path piece)."""
    _, dot, ext = filename.rpartition(".")
    ext = ext.lower()
    return ext if dot and _SAFE_EXT.match(ext) else ""


def store_stream(
    stream: ReadableBytes, filename: str, store: Path, *, max_bytes: int | None = None
) -> StoredMedia:
    """Copy ``stream`` into the store under its SHA-256; existing content is not rewritten."""
    extension = safe_extension(filename)
    store.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temp_name = tempfile.mkstemp(prefix=_temp_prefix(), dir=store)
    try:
        with os.fdopen(handle, "wb") as out:
            while block := stream.read(_COPY_BYTES):
                size += len(block)
                if max_bytes is not None and size > max_bytes:
                    raise ByteLimitExceeded(size)
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())  # the bytes are on disk before any name promises them
        sha = digest.hexdigest()
        final = store / sha[:2] / (sha + (f".{extension}" if extension else ""))
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(temp_name)
        else:
            os.replace(temp_name, final)  # atomic: a final name never shows a partial file
            _fsync_dir(final.parent)
        return StoredMedia(sha256=sha, size=size, extension=extension, path=final)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


_TEMP_PREFIX: Final = ".incoming-"


def _temp_prefix() -> str:
    """``.incoming-HOST-PID-``: whose copy a temporary file is, so a later run can tell
    a copy in progress from one a killed process left behind."""
    return owned_prefix(_TEMP_PREFIX)


def sweep_abandoned_copies(store: Path) -> list[Path]:
    """Delete the temporary files that processes of this host died in the middle of.

    A SIGKILL between the first byte and the rename leaves ``.incoming-*`` in the
    store (never a final name). Only files of this host whose process no longer
    exists are removed: a copy another live process is making, or one from another
    machine sharing the folder, is left alone. Returns what was removed.
    """
    if not store.is_dir():
        return []
    removed = []
    for path in store.glob(f"{_TEMP_PREFIX}*"):
        if not left_by_a_dead_process(path.name, _TEMP_PREFIX):
            continue
        try:
            path.unlink()
        except FileNotFoundError:  # another run swept it first
            continue
        removed.append(path)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a crash after it keeps the new name)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def mime_type_for(filename: str) -> str:
    """MIME type from the extension (``application/octet-stream`` when unknown)."""
    ext = safe_extension(filename)
    if ext in _EXTRA_MIME:
        return _EXTRA_MIME[ext]
    guessed, _ = mimetypes.guess_type(f"file.{ext}" if ext else filename, strict=False)
    return guessed or "application/octet-stream"


LOG: Final = logging.getLogger(__name__)
"""Where library warnings raised while an image is read go (Pillow's "Corrupt EXIF
data", "Tag data larger than file"): the run's log, never the CLI summary."""


def perceptual_hash(path: Path, name: str | None = None) -> tuple[str | None, str | None]:
    """pHash of an image (hex) and, when there is none, why.

    Pillow's decompression-bomb guard is made strict: an image declaring more
    pixels than ``Image.MAX_IMAGE_PIXELS`` (a small PNG can claim gigapixels)
    is refused before it is decoded, instead of only warning up to twice the
    limit. ``imagehash`` is imported lazily: chat-only runs never pay for scipy.
    Any other warning Pillow raises (damaged EXIF metadata, which does not
    change the pixels hashed) is logged at WARNING on :data:`LOG` naming the
    file (``name``), instead of being printed by Python's warning machinery
    into the command's output.
    """
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                with Image.open(path) as image:
                    return str(imagehash.phash(image)), None
            finally:
                for warning in raised:
                    LOG.warning(
                        "%s: %s (%s, while reading the image)",
                        canonical_name(name or path.name),
                        warning.message,
                        warning.category.__name__,
                    )
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, (
            f"is a decompression bomb (it declares more than {Image.MAX_IMAGE_PIXELS:,} "
            "pixels); not decoded"
        )
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, MemoryError):
        return None, "could not be decoded"


def media_record(
    stored: StoredMedia, filename: str, *, origin: str, now: datetime | None = None
) -> tuple[dict[str, Any], str | None]:
    """The ``documents`` row of a stored file, and a problem note (undecodable image) if any."""
    filename = canonical_name(filename)  # NFC: one name for a macOS and a Linux copy
    media_type = media_type_for(filename)
    phash, problem = (None, None)
    if media_type == "image":
        phash, problem = perceptual_hash(stored.path, filename)
    note = (
        f"image {filename!r} {problem}; stored without a perceptual hash"
        if problem is not None
        else None
    )
    record: dict[str, Any] = {
        "id": media_document_id(stored.sha256),
        "created_at": now or datetime.now(UTC),
        "source_checksum": stored.sha256,
        "status": "published",
        "filename": Path(filename).name,
        "mime_type": mime_type_for(filename),
        "media_type": media_type,
        "phash": phash,
        "doc_type": "media",
        "extensions": json.dumps(
            {"store_key": stored.key, "size": stored.size, "origin": canonical_name(origin)},
            ensure_ascii=False,
        ),
    }
    return record, note


class MediaTooLargeError(IngestionError):
    """A media file is larger than ``EGREGORA_MAX_MEDIA_BYTES``."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(over_limit(MAX_MEDIA_BYTES, limit, "the file is larger"))
        self.path = path
        self.limit = limit


def read_media_file(
    path: Path, store: Path, *, max_bytes: int | None = None
) -> tuple[dict[str, Any], str | None]:
    """Store one media file found in a folder (a regular file, at most ``max_bytes``)."""
    with open_regular(path) as stream:
        before = snapshot(stream.fileno())
        try:
            stored = store_stream(stream, path.name, store, max_bytes=max_bytes)
        except ByteLimitExceeded:
            raise MediaTooLargeError(path, max_bytes or 0) from None
        check_unchanged(stream.fileno(), before, path)
    return media_record(stored, path.name, origin=str(path.absolute()))
