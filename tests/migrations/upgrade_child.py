"""Child processes for the concurrency and crash tests.

``python upgrade_child.py DB VERSIONS [GO]`` (DB: a DuckDB path or a PostgreSQL URL): import everything, print
``ready``, wait for the file GO to exist (so several children start migrating
at the same moment), run ``upgrade``, print the applied revision ids as JSON.

``python upgrade_child.py --fork-server VERSIONS``: import everything once, then
for each database path read from stdin fork a process that upgrades it, print
that process's pid, wait for it to end (the test SIGKILLs it at a random
moment) and print ``done``. Forking after the imports keeps each crash
iteration fast; no DuckDB connection exists in the server when it forks.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

# The engine loads its modules lazily; the fork server must have them all loaded
# before it forks, or each child would spend the test's kill window importing.
import egregora_pipeline.migrations.drift
import egregora_pipeline.migrations.engine
import egregora_pipeline.migrations.safeguard  # noqa: F401
from egregora_pipeline.migrations import MigrationConfig, upgrade


def _warehouse(value: str) -> Path | str:
    """A DuckDB path, or a PostgreSQL URL kept as text (``Path`` would fold its ``//``)."""
    return value if value.startswith("postgresql:") else Path(value)


def _upgrade(database: Path | str, versions: Path) -> list[str]:
    result = upgrade(MigrationConfig(database, lock_timeout=60, versions_dir=versions))
    return [a.revision_id for a in result.applied]


def fork_server(versions: Path) -> int:
    print("ready", flush=True)
    for line in sys.stdin:
        database = _warehouse(line.strip())
        pid = os.fork()
        if pid == 0:
            try:
                _upgrade(database, versions)
            finally:
                os._exit(0)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("done", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "--fork-server":
        return fork_server(Path(argv[1]))
    database, versions = _warehouse(argv[0]), Path(argv[1])
    go = Path(argv[2]) if len(argv) > 2 else None
    print("ready", flush=True)
    while go is not None and not go.exists():
        time.sleep(0.005)
    print(json.dumps({"applied": _upgrade(database, versions)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
