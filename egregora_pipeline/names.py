"""Names as stored: file names and paths turned into text every UTF-8 store accepts.

Foundation-level (it imports nothing of the package): the ingestion library
names its inputs with it, and :class:`~egregora_pipeline.backends.sink_base.Rejection`,
which the backends' sinks store, cleans its fields with it.
"""

from __future__ import annotations

import os
import unicodedata


def storable_name(path: str | os.PathLike[str]) -> str:
    """``path`` as text that any UTF-8 store accepts, losslessly.

    POSIX names are bytes; Python reads the bytes that are not UTF-8 as lone
    surrogates (``surrogateescape``), which DuckDB, JSON and terminals refuse.
    The rule (documented in docs/ingestion.md): a name that is valid UTF-8 is
    kept as is; otherwise each byte that is not valid UTF-8 is written
    ``%XX`` and each literal ``%`` as ``%25``, so
    ``urllib.parse.unquote_to_bytes`` gives back the exact bytes.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    parts: list[str] = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape could not decode
            parts.append(f"%{code - 0xDC00:02X}")
        elif 0xD800 <= code <= 0xDFFF:  # any other lone surrogate: its code point
            parts.append(f"%u{code:04X}")
        elif char == "%":
            parts.append("%25")
        else:
            parts.append(char)
    return "".join(parts)


def canonical_name(path: str | os.PathLike[str]) -> str:
    """``path`` as stored text (:func:`storable_name`) in Unicode's composed form, NFC.

    macOS writes names decomposed (NFD: ``e`` + U+0301), Linux and Windows keep
    what they were given (usually composed): the same export title reaches us
    spelled two ways that print alike. Every *name* that becomes a thread, a
    slug, an id, an origin or a rejection's ``source_path`` goes through this,
    so the two spellings are one input (docs/ingestion.md, "Names and Unicode
    normalization"). Only the canonical form (NFC), never the compatibility one
    (NFKC): ``ﬁ``, ``Ａｎａ``, ``x²`` are other names, not other spellings.
    Content (message text, author names inside a chat, front matter) is not
    touched here.
    """
    return unicodedata.normalize("NFC", storable_name(path))
