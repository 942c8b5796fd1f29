"""Revision files on disk and the one linear chain they must form.

A revision file is a Python module named ``NNNN_slug.py`` with ``revision``,
``down_revision``, ``message``, ``upgrade(op)`` and ``downgrade(op)``. Its
checksum is the SHA-256 of the file's bytes: the bookkeeping table records it
when the revision is applied, and every later command compares, so editing an
applied revision is caught instead of silently diverging.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Final

from egregora_pipeline.migrations.errors import (
    DuplicateRevisionError,
    MissingParentError,
    MultipleHeadsError,
    RevisionFileError,
    RevisionScriptError,
    TargetOutOfRangeError,
    UnknownTargetError,
)
from egregora_pipeline.migrations.ops import Operation, Operations

BUNDLED_VERSIONS_DIR: Final = Path(__file__).resolve().parent / "versions"
_FILE_NAME = re.compile(r"^(\d+)_[A-Za-z0-9_]+\.py$")


@dataclass(frozen=True)
class Revision:
    """One loaded revision file."""

    revision: str
    down_revision: str | None
    message: str
    path: Path
    checksum: str
    upgrade_fn: Callable[[Operations], None]
    downgrade_fn: Callable[[Operations], None]

    def upgrade_ops(self) -> list[Operation]:
        """Record what ``upgrade(op)`` asks for, without running anything."""
        op = Operations()
        self.upgrade_fn(op)
        return op.recorded

    def downgrade_ops(self) -> list[Operation]:
        """Record what ``downgrade(op)`` asks for, without running anything."""
        op = Operations()
        self.downgrade_fn(op)
        return op.recorded


def file_checksum(path: Path) -> str:
    """SHA-256 of the file's bytes, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_module(path: Path) -> ModuleType:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"_egregora_revision_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RevisionFileError(path, "cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(name, None)
        raise RevisionFileError(
            path, f"fails to import: {type(error).__name__}: {error}"
        ) from error
    return module


def load_revision(path: Path) -> Revision:
    """Load and validate one revision file."""
    module = _load_module(path)
    missing = [
        attr
        for attr in ("revision", "down_revision", "message", "upgrade", "downgrade")
        if not hasattr(module, attr)
    ]
    if missing:
        raise RevisionFileError(path, f"does not define {', '.join(missing)}")
    revision, parent = module.revision, module.down_revision
    if not isinstance(revision, str) or not revision:
        raise RevisionFileError(path, "`revision` must be a non-empty string")
    if parent is not None and not isinstance(parent, str):
        raise RevisionFileError(path, "`down_revision` must be a string or None")
    if not callable(module.upgrade) or not callable(module.downgrade):
        raise RevisionFileError(path, "`upgrade` and `downgrade` must be functions taking `op`")
    return Revision(
        revision=revision,
        down_revision=parent,
        message=str(module.message),
        path=path,
        checksum=file_checksum(path),
        upgrade_fn=module.upgrade,
        downgrade_fn=module.downgrade,
    )


class ScriptDirectory:
    """The revision files of one folder, validated into a single ordered chain."""

    def __init__(self, directory: Path, revisions: list[Revision]) -> None:
        self.directory = directory
        self.chain = revisions
        self._by_id = {r.revision: r for r in revisions}

    @classmethod
    def load(cls, directory: Path | None = None) -> ScriptDirectory:
        """Load every ``NNNN_slug.py`` in ``directory`` (default: the bundled versions)."""
        folder = (directory or BUNDLED_VERSIONS_DIR).resolve()
        if not folder.is_dir():
            return cls(folder, [])
        paths = sorted(p for p in folder.glob("*.py") if _FILE_NAME.match(p.name))
        return cls(folder, _order([load_revision(p) for p in paths]))

    def __iter__(self) -> Iterator[Revision]:
        return iter(self.chain)

    def __len__(self) -> int:
        return len(self.chain)

    def __contains__(self, revision: object) -> bool:
        return revision in self._by_id

    def get(self, revision: str) -> Revision:
        try:
            return self._by_id[revision]
        except KeyError:
            raise UnknownTargetError(revision, self.ids) from None

    @property
    def ids(self) -> list[str]:
        return [r.revision for r in self.chain]

    @property
    def head(self) -> str | None:
        return self.chain[-1].revision if self.chain else None

    @property
    def base(self) -> Revision | None:
        return self.chain[0] if self.chain else None

    def position(self, revision: str | None) -> int:
        """Number of revisions applied when ``revision`` is current (0 for base/None)."""
        if revision is None:
            return 0
        return self.ids.index(self.get(revision).revision) + 1

    def resolve(self, target: str, current: str | None) -> int:
        """Turn ``head``/``base``/``-N``/``+N``/an id into a chain position."""
        here = self.position(current)
        if target == "head":
            return len(self.chain)
        if target == "base":
            return 0
        if re.fullmatch(r"[+-]\d+", target):
            position = here + int(target)
            if not 0 <= position <= len(self.chain):
                raise TargetOutOfRangeError(target, here, len(self.chain))
            return position
        return self.position(target)

    def next_number(self) -> int:
        """The numeric prefix the next revision file should use."""
        numbers = [int(m.group(1)) for r in self.chain if (m := _FILE_NAME.match(r.path.name))]
        return max(numbers, default=0) + 1


def _order(revisions: list[Revision]) -> list[Revision]:
    """Order revisions parent-first, or raise naming the files that break the chain."""
    by_id: dict[str, Revision] = {}
    for rev in revisions:
        if rev.revision in by_id:
            raise DuplicateRevisionError(rev.revision, [by_id[rev.revision].path, rev.path])
        by_id[rev.revision] = rev
    children: dict[str | None, list[Revision]] = {}
    for rev in revisions:
        if rev.down_revision is not None and rev.down_revision not in by_id:
            raise MissingParentError(rev.path, rev.revision, rev.down_revision)
        children.setdefault(rev.down_revision, []).append(rev)
    for parent, kids in children.items():
        if len(kids) > 1:
            raise MultipleHeadsError(parent, [k.path for k in kids])
    chain: list[Revision] = []
    tip: str | None = None
    while tip in children:
        (nxt,) = children[tip]
        chain.append(nxt)
        tip = nxt.revision
    if len(chain) != len(revisions):
        # every revision has a known parent and no fork exists, so the rest is a cycle
        stray = ", ".join(str(r.path) for r in revisions if r not in chain)
        raise RevisionScriptError(
            f"revisions in {stray} form a cycle (each one's down_revision leads back to "
            "itself); the chain must start at a revision with down_revision = None"
        )
    return chain
