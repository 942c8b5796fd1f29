"""A bundled revision, once released, never changes by a byte.

``db check`` compares each applied revision's file with the checksum recorded when
it ran, and refuses a warehouse whose file changed ("file changed ... run db stamp").
Editing a bundled revision would therefore fail every warehouse that applied it, so
a change to one must be a new revision. The pins below are the released bytes; the
modules a revision imports are frozen with it (``egregora_pipeline.references``).
"""

from __future__ import annotations

import hashlib

from egregora_pipeline.migrations.script import file_checksum
from tests.conftest import REPO_ROOT

VERSIONS = REPO_ROOT / "egregora_pipeline" / "migrations" / "versions"
RELEASED = {
    "0001_initial_schema.py": "0b942c38c5c32e39f8340297bd4a0f8820857e5db0333cb7bb02751633f2fc64",
    "0002_egregora_identity.py": "87ba217055d5752884da65d7aaea5181f9d9927a2fe0b166f1f18356f7f2d542",
}


def test_every_released_revision_keeps_its_bytes() -> None:
    now = {name: file_checksum(VERSIONS / name) for name in RELEASED}
    assert now == RELEASED, "a released revision changed: put the change in a new revision"


def test_the_checksum_is_the_sha256_of_the_file() -> None:
    path = VERSIONS / "0001_initial_schema.py"
    assert file_checksum(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_bundled_revision_is_pinned() -> None:
    bundled = {path.name for path in VERSIONS.glob("[0-9]*.py")}
    assert bundled == set(RELEASED), "pin a new revision's checksum here once it is released"
