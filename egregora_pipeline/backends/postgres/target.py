"""A PostgreSQL warehouse as ``--database`` / ``EGREGORA_DATABASE`` names it: a libpq URL.

A PostgreSQL connection URI -- ``postgresql://user:pass@host:port/db``, ``postgres://...``,
or libpq's socket form ``postgresql://user@/db?host=/run/postgresql`` -- is
parsed by libpq itself (``psycopg.conninfo``), so every form libpq accepts is
accepted here with libpq's meaning, and the password is looked up as libpq does:
from the URL, else ``PGPASSWORD``, else the password file (``PGPASSFILE`` or
``~/.pgpass``). Above all, a password is never shown: the display form, ``str()``,
``repr()`` and every error message leave it out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, unquote

from egregora_pipeline.backends.target_base import WarehouseTarget
from egregora_pipeline.backends.urls import MASK as _MASK
from egregora_pipeline.backends.urls import redact_url
from egregora_pipeline.errors import WarehouseError

if TYPE_CHECKING:
    import ibis.backends.postgres
    import psycopg

# psycopg is imported where a URL is parsed or connected, not here: every command
# imports this module (to refuse or redact a URL) and DuckDB users never need libpq.

_POSTGRES_SCHEME: Final = re.compile(r"^(postgres(?:ql)?)(\+\w+)?:(/+)(.*)$", re.IGNORECASE | re.S)
"""``postgresql:`` / ``postgres:`` (a SQLAlchemy ``+driver`` suffix tolerated) and its
slashes. A single slash is accepted for recognising and redacting: ``pathlib.Path``
folds ``//`` into ``/``, and a URL that went through a ``Path`` must still never leak."""
DEFAULT_CONNECT_TIMEOUT_SECONDS: Final = 10
MAX_POSTGRES_LOCK_TIMEOUT_MS: Final = 2_147_483_647
"""The longest ``lock_timeout`` PostgreSQL accepts (an int of milliseconds, ~24.8 days)."""


def postgres_lock_timeout(seconds: float) -> str:
    """``EGREGORA_LOCK_TIMEOUT`` as a PostgreSQL ``lock_timeout`` value.

    At least 1 ms (PostgreSQL reads 0 as "wait forever", the opposite of a zero
    timeout) and at most :data:`MAX_POSTGRES_LOCK_TIMEOUT_MS`: a longer setting
    means "wait as long as it takes", which PostgreSQL would otherwise refuse.

    >>> postgres_lock_timeout(0), postgres_lock_timeout(1.5), postgres_lock_timeout(1e9)
    ('1ms', '1500ms', '2147483647ms')
    """
    return f"{min(MAX_POSTGRES_LOCK_TIMEOUT_MS, max(1, round(seconds * 1000)))}ms"


class WarehouseURLError(WarehouseError):
    """A PostgreSQL URL that libpq cannot parse, or a server that refused the connection.

    ``url`` is the redacted display form; the password never reaches the message.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"PostgreSQL warehouse {url}: {reason}")
        self.url = url
        self.reason = reason


def is_postgres_url(value: str | Path) -> bool:
    """True when ``value`` is (or was, before a ``Path`` folded it) a PostgreSQL URL."""
    return bool(_POSTGRES_SCHEME.match(str(value)))


def _secrets_in(text: str) -> list[str]:
    """Every string in ``text`` that could be a password (raw and percent-decoded)."""
    found: list[str] = []
    match = _POSTGRES_SCHEME.match(text)
    if match is not None:
        rest = match.group(4)
        at = rest.rfind("@")
        if at >= 0 and ":" in rest[:at]:
            found.append(rest[:at].split(":", 1)[1])
    found += re.findall(r"[?&]password=([^&#]*)", text, flags=re.IGNORECASE)
    found += [unquote(secret) for secret in found]
    return [secret for secret in found if secret]


def _scrub(message: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        message = message.replace(secret, _MASK)
    return message


@dataclass(frozen=True)
class PostgresTarget(WarehouseTarget):
    """A PostgreSQL warehouse, as libpq understood its URL.

    ``params`` are libpq's connection parameters *without* the password;
    the password given in the URL, if any, is kept apart and shown nowhere
    (``repr`` included). Without one, libpq looks it up at connect time in
    ``PGPASSWORD``, then ``PGPASSFILE`` / ``~/.pgpass``.
    """

    params: dict[str, str]
    _password: str | None = field(default=None, repr=False, compare=False)

    @property
    def display(self) -> str:
        """``postgresql://user@host:port/dbname?...``, never with a password."""
        params = dict(self.params)
        user = params.pop("user", "")
        host = params.pop("host", "")
        port = params.pop("port", "")
        dbname = params.pop("dbname", "")
        if "," in host or "," in port:  # several hosts: libpq's query form says it plainly
            params = {"host": host, **({"port": port} if port else {}), **params}
            host = port = ""
        elif host.startswith("/"):  # a socket directory
            params = {"host": host, **params}
            host = ""
        netloc = (f"{quote(user, safe='')}@" if user else "") + quote(host, safe="")
        if port:
            netloc += f":{port}"
        query = "&".join(f"{key}={quote(value, safe='/,')}" for key, value in params.items())
        return f"postgresql://{netloc}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")

    @property
    def password_in_url(self) -> bool:
        return self._password is not None

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"PostgresTarget({self.display!r}, password_in_url={self.password_in_url})"

    def conninfo(self) -> str:
        """The libpq connection string, password included: pass it to a driver, never print it."""
        from psycopg import conninfo as libpq_conninfo

        secret = {} if self._password is None else {"password": self._password}
        return libpq_conninfo.make_conninfo("", **self.params, **secret)

    def connect(
        self, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_SECONDS, autocommit: bool = True
    ) -> psycopg.Connection[tuple[object, ...]]:
        """A psycopg connection; a refusal is a :class:`WarehouseURLError` without the password.

        ``connect_timeout`` bounds the wait for an unreachable server (libpq's own
        default is to wait forever).
        """
        import psycopg

        try:
            return psycopg.connect(
                self.conninfo(), connect_timeout=connect_timeout, autocommit=autocommit
            )
        except psycopg.Error as error:
            secrets = [self._password] if self._password else []
            raise WarehouseURLError(
                self.display, f"cannot connect: {_scrub(str(error).strip(), secrets)}"
            ) from None

    def connect_ibis(
        self, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_SECONDS
    ) -> ibis.backends.postgres.Backend:
        """An Ibis PostgreSQL backend over :meth:`connect` (autocommit, as Ibis's own default)."""
        import ibis

        return ibis.postgres.from_connection(self.connect(connect_timeout=connect_timeout))


def parse_postgres_url(value: str | Path) -> PostgresTarget | None:
    """``value`` as a PostgreSQL target, or None when it is not a PostgreSQL URL.

    A PostgreSQL URL is parsed by libpq; one it rejects raises
    :class:`WarehouseURLError` naming the redacted URL and libpq's reason (with
    anything that could be the password masked -- libpq quotes bad tokens).

    >>> parse_postgres_url("postgresql://bob:s3cret@db.example:5433/egregora").display
    'postgresql://bob@db.example:5433/egregora'
    >>> parse_postgres_url("postgresql://bob@/egregora?host=/run/postgresql").display
    'postgresql://bob@/egregora?host=/run/postgresql'
    >>> parse_postgres_url("data/egregora.duckdb") is None
    True
    """
    text = str(value)
    match = _POSTGRES_SCHEME.match(text)
    if match is None:
        return None
    import psycopg
    from psycopg import conninfo as libpq_conninfo

    slashes, rest = match.group(3), match.group(4)
    display = redact_url(text)
    if len(slashes) < 2:
        raise WarehouseURLError(
            display, "is not a URL libpq reads: write postgresql://[user[:password]@]host/dbname"
        )
    try:
        params = libpq_conninfo.conninfo_to_dict(f"postgresql:{slashes}{rest}")
    except psycopg.Error as error:
        raise WarehouseURLError(
            display,
            f"is not a valid PostgreSQL URL: {_scrub(str(error).strip(), _secrets_in(text))}",
        ) from None
    password = params.pop("password", None)
    return PostgresTarget(
        params={key: str(item) for key, item in params.items() if item is not None},
        _password=None if password is None else str(password),
    )
