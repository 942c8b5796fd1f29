"""Identity and de-duplication of messages: ``event_id`` and author pseudonyms.

A message's ``event_id`` is the MD5 of what makes it *this* message (tenant,
thread, timestamp, author, text; :func:`event_name`), with identical messages
told apart by their occurrence; the same message keeps its id in every export of
the chat, so re-ingesting adds nothing. Author names are cleaned once per
distinct name and pseudonymised (UUIDv5: :func:`.identity.author_uuid`). Each
id has a Python form and the SQL form the parser's compute engine (DuckDB)
computes vectorized; tests pin that both agree.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Final

from egregora_pipeline.ingestion import identity
from egregora_pipeline.ingestion.whatsapp.formats import INVISIBLE_MARKS
from egregora_pipeline.sql import quote_literal

SYSTEM_AUTHOR_KEY: Final = "\x00whatsapp-system"
"""Key whose UUIDv5 is the ``author_uuid`` of system lines; it cannot be a real
exported name (names never contain NUL)."""


EVENT_NAMESPACE: Final = uuid.UUID("b8d1c0a4-3f5e-5c2b-9e61-7a0f4d2c8e13")
"""Salt of ``event_id``: its hex form is the first field of the hashed name."""


EVENT_FIELD_SEPARATOR: Final = "\x1f"


NULL_AUTHOR_MARK: Final = "\x1e"


EVENT_NAME_SQL: Final = (
    f"concat_ws(chr(31), {quote_literal(EVENT_NAMESPACE.hex)}, $tenant, $thread, "
    "epoch_us(ts)::VARCHAR, coalesce(a.author, chr(30)), coalesce(t.text, ''))"
)


def event_name(
    tenant_id: str, thread_id: str, ts_epoch_us: int, author: str | None, text: str
) -> str:
    """The hashed name of a message: what makes it *this* message.

    Not its position in the file: WhatsApp caps how much history an export
    holds, so a later export of the same chat can start further on, and every
    ordinal shifts. The same message must keep its id in both exports.
    """
    return EVENT_FIELD_SEPARATOR.join(
        (
            EVENT_NAMESPACE.hex,
            tenant_id,
            thread_id,
            str(ts_epoch_us),
            author or NULL_AUTHOR_MARK,
            text,
        )
    )


def event_id(
    tenant_id: str,
    thread_id: str,
    ts_epoch_us: int,
    author: str | None,
    text: str,
    occurrence: int = 1,
) -> str:
    """``event_id`` of a message: MD5 of :func:`event_name`, written as a UUID (8-4-4-4-12).

    ``occurrence`` tells apart identical messages (same minute, author and text,
    e.g. two "ok"s): the n-th one in file order, n >= 2, hashes the first
    digest with ``␟n`` once more. 128 bits, deterministic, and what
    :func:`load_sql` computes in DuckDB (tests recompute it with this). MD5,
    not an RFC 4122 UUIDv5: SHA-1 plus setting the version/variant bits cost
    about 0.15 s per 500k messages, for no property the warehouse needs (the id
    is an opaque key; MD5 is not used for security here).
    """
    name = event_name(tenant_id, thread_id, ts_epoch_us, author, text)
    digest = hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()
    if occurrence > 1:
        again = f"{digest}{EVENT_FIELD_SEPARATOR}{occurrence}"
        digest = hashlib.md5(again.encode("utf-8"), usedforsecurity=False).hexdigest()
    return str(uuid.UUID(hex=digest))


def uuid_format_sql(digest: str) -> str:
    """SQL writing a 32-hex-digit column as ``8-4-4-4-12``, like ``str(uuid.UUID(hex=...))``.

    By plain concatenation: a round trip through DuckDB's UUID type costs
    several times as much. ``digest`` should be a column (it is used five times).
    """
    return (
        f"concat(left({digest}, 8), '-', substr({digest}, 9, 4), '-', substr({digest}, 13, 4), "
        f"'-', substr({digest}, 17, 4), '-', substr({digest}, 21, 12))"
    )


_MARKS_TABLE: Final = str.maketrans("", "", INVISIBLE_MARKS)


_CONTROLS: Final = {c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0))}


def clean_author(raw: str) -> str:
    """An exported name as stored: bidi marks removed (``\u202a+55 11 ...\u202c`` ->
    ``+55 11 ...``), then every control character (U+0000-U+001F, U+007F-U+009F)
    replaced by U+FFFD. Names stay distinct and readable, and no name can equal
    :data:`SYSTEM_AUTHOR_KEY` (it holds a NUL), so none gets the system pseudonym."""
    return raw.translate(_MARKS_TABLE).strip().translate(_CONTROLS)


def author_uuid(namespace: uuid.UUID | None, author: str) -> str:
    """The stable pseudonym of an exported author name (:func:`.identity.author_uuid`:
    upstream Egregora's by default, salted when ``namespace`` is set)."""
    return identity.author_uuid(author, namespace)
