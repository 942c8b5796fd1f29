"""Database URLs as every backend meets them: recognised, and never shown with a password.

A warehouse is a file path or a server's URL. A file backend must refuse a URL
given where it expects a file (DuckDB would read ``postgresql://...`` as a
relative file name, or attach it through an auto-installed extension), and the
message must not quote the URL's password. Both rules are the same for every
scheme, so they live here, beside the interface, and a backend package never
reads another backend's URL rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from egregora_pipeline.errors import UnsupportedBackendError

_URL: Final = re.compile(r"^([A-Za-z][A-Za-z0-9.-]+)(\+\w+)?:(/+)(.*)$", re.S)
"""A scheme (a SQLAlchemy ``+driver`` suffix tolerated) and at least one slash. One slash
counts: ``pathlib.Path`` folds ``//`` into ``/``, and a URL that went through a ``Path``
must still never leak. A one-letter scheme would be a Windows drive, so it is not one."""
_QUERY_PASSWORD: Final = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
MASK: Final = "***"


def is_url(value: str | Path) -> bool:
    """True when ``value`` is (or was, before a ``Path`` folded it) a URL, not a file path."""
    return _URL.match(str(value)) is not None


def redact_url(value: str | Path) -> str:
    """``value`` with any password replaced by ``***``; other text is returned unchanged.

    Tolerant on purpose: it works on URLs a driver would reject and on ``Path``-folded
    ones, so it can go into the message that reports them. The userinfo runs to
    the *last* ``@`` (libpq stops at the first, so a password with a raw ``@`` is
    still masked whole: over-masking a host beats leaking a password's tail).
    """
    text = str(value)
    match = _URL.match(text)
    if match is None:
        return text
    scheme, driver, slashes, rest = match.groups()
    at = rest.rfind("@")
    if at >= 0:
        userinfo, after = rest[:at], rest[at + 1 :]
        if ":" in userinfo:
            rest = f"{userinfo.split(':', 1)[0]}:{MASK}@{after}"
    rest = _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", rest)
    return f"{scheme}{driver or ''}:{slashes}{rest}"


URL_ADVICE: Final = (
    "a backup is a file, not a database URL: give --to a folder or file path and `db "
    "restore` a backup file. To back up a PostgreSQL warehouse, pass its URL as --database: "
    "`db backup` then runs pg_dump (see docs/migrations.md); base backups with WAL archiving "
    "remain the tool for point-in-time recovery."
)


def refuse_non_file(database: str | Path) -> None:
    """A database URL where a file is expected (a DuckDB warehouse, ``--to``, a backup
    file) is refused with what to do instead, never half-used."""
    if is_url(database):
        raise UnsupportedBackendError(redact_url(database), URL_ADVICE)
