"""The migration engine's typed errors.

Each error carries the facts a caller needs as attributes (file, revision,
table, column, counts) and says in its message what to do next. Only the CLI
turns them into exit codes; the Dagster layer turns them into failed steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# defined below the engine, where the backends' impls raise them too
from egregora_pipeline.backends.migration_base import MigrationError as MigrationError
from egregora_pipeline.backends.migration_base import (
    MigrationLockedError as MigrationLockedError,
)

# --- the revision scripts on disk -------------------------------------------------


class RevisionScriptError(MigrationError):
    """The folder of revision files does not describe one valid linear chain."""


class RevisionFileError(RevisionScriptError):
    """One revision file cannot be loaded or lacks a required attribute."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"revision file {path}: {problem}")
        self.path = path
        self.problem = problem


class DuplicateRevisionError(RevisionScriptError):
    """Two files declare the same revision id."""

    def __init__(self, revision: str, paths: Sequence[Path]) -> None:
        names = ", ".join(str(p) for p in paths)
        super().__init__(
            f"revision id {revision!r} is declared by more than one file: {names}. "
            "Give each file its own `revision` id (and fix the `down_revision` that pointed to it)."
        )
        self.revision = revision
        self.paths = list(paths)


class MissingParentError(RevisionScriptError):
    """A file's ``down_revision`` names a revision no file declares: a gap in the chain."""

    def __init__(self, path: Path, revision: str, parent: str) -> None:
        super().__init__(
            f"gap in the revision chain: {path} (revision {revision!r}) has "
            f"down_revision={parent!r}, but no file declares revision {parent!r}. "
            "Restore the missing file or point down_revision at an existing revision."
        )
        self.path = path
        self.revision = revision
        self.parent = parent


class MultipleHeadsError(RevisionScriptError):
    """The chain forks: two revisions share a parent, or there are two bases."""

    def __init__(self, parent: str | None, paths: Sequence[Path]) -> None:
        names = ", ".join(str(p) for p in paths)
        where = "no parent (two bases)" if parent is None else f"the same parent {parent!r}"
        super().__init__(
            f"the revision chain has two heads: {names} both have {where}. "
            "Revisions form one linear chain: set the later file's down_revision to the "
            "other file's revision id."
        )
        self.parent = parent
        self.paths = list(paths)


class UnknownTargetError(MigrationError):
    """A command named a revision (or relative step) that does not exist."""

    def __init__(self, target: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "(no revisions)"
        super().__init__(
            f"unknown revision target {target!r}; known revisions: {listed} "
            "(also accepted: head, base, -N, +N)"
        )
        self.target = target


class TargetOutOfRangeError(MigrationError):
    """A relative target (``-N``/``+N``) steps past base or head."""

    def __init__(self, target: str, applied: int, available: int) -> None:
        super().__init__(
            f"cannot move {target} revisions: {applied} applied, {available - applied} "
            f"more available (use base or head to go all the way)"
        )
        self.target = target


class VersionsDirError(MigrationError):
    """``--versions-dir`` names a folder that does not exist."""

    def __init__(self, folder: Path) -> None:
        super().__init__(
            f"versions dir {folder} does not exist; create it, or drop --versions-dir to use "
            "the bundled revisions"
        )
        self.folder = folder


class NotAtHeadError(MigrationError):
    """``revision --autogenerate`` needs the warehouse at head to compare with."""

    def __init__(
        self, database: str, current: str | None, head: str | None, *, exists: bool = True
    ) -> None:
        where = f"at {current}" if current else "at base" if exists else "missing"
        super().__init__(
            f"warehouse {database} is {where} but the revisions' head is {head}: autogenerate "
            "compares the declared schema with the live warehouse, so it would repeat what "
            f"the pending revisions do. Run `egregora-pipeline db upgrade --database {database}` "
            "first"
        )
        self.database = database


# --- the bookkeeping table ---------------------------------------------------------


class HistoryError(MigrationError):
    """The warehouse's applied-revision history disagrees with the revision files."""

    def __init__(self, database: str, problems: Sequence[str]) -> None:
        listed = "\n  - ".join(problems)
        super().__init__(
            f"refusing to migrate {database}: its migration history does not match the "
            f"revision files:\n  - {listed}"
        )
        self.database = database
        self.problems = list(problems)


# --- running operations --------------------------------------------------------------


class DestructiveOperationError(MigrationError):
    """An operation would lose data and ``allow_destructive`` was not given."""

    def __init__(self, revision: str | None, description: str, values_lost: int) -> None:
        where = f"revision {revision}: " if revision else ""
        super().__init__(
            f"{where}{description} would lose {values_lost} non-null value(s). "
            "Back up the warehouse, then re-run with --allow-destructive "
            "(MigrationConfig(allow_destructive=True)) if that is intended."
        )
        self.revision = revision
        self.description = description
        self.values_lost = values_lost


class RevisionFailedError(MigrationError):
    """A revision's SQL failed; its transaction was rolled back."""

    def __init__(self, revision: str, path: Path | None, statement: str, cause: str) -> None:
        super().__init__(
            f"revision {revision} ({path}) failed and was rolled back; the warehouse is still "
            f"at the revision before it.\n  statement: {statement}\n  error: {cause}"
        )
        self.revision = revision
        self.path = path
        self.statement = statement
        self.cause = cause


class ReconcileError(MigrationError):
    """Reconcile ran but the catalog does not show the expected result afterwards."""

    def __init__(self, problems: Sequence[str]) -> None:
        listed = "\n  - ".join(problems)
        super().__init__(
            f"reconcile did not leave the warehouse as declared (rolled back):\n  - {listed}"
        )
        self.problems = list(problems)


class AdoptionError(MigrationError):
    """A legacy layout could not be folded into the current schema without loss."""

    def __init__(self, layout: str, table: str, statement: str, cause: str) -> None:
        super().__init__(
            f"adopting the {layout} layout failed while copying table {table!r} (nothing was "
            f"changed; the transaction was rolled back).\n  statement: {statement}\n"
            f"  error: {cause}\nFix or convert the offending values in {table!r}, then re-run."
        )
        self.layout = layout
        self.table = table
        self.statement = statement
        self.cause = cause


class RevisionExistsError(MigrationError):
    """``db revision`` would overwrite an existing file."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists; choose another message or remove the file")
        self.path = path


class BatchVerificationError(MigrationError):
    """A batch rebuild did not end with the rows it started with; the step was rolled back."""

    def __init__(self, table: str, problem: str) -> None:
        super().__init__(
            f"batch rebuild of {table} did not keep every row ({problem}); the step was rolled "
            "back and the warehouse is unchanged"
        )
        self.table = table
        self.problem = problem


class StrictAdoptionError(MigrationError):
    """Strict adoption refuses to widen a CHECK that contradicts the declared rules."""

    def __init__(self, table: str, check: str, reason: str) -> None:
        super().__init__(
            f"strict adoption: {table} has {check}, which contradicts the declared rules "
            f"({reason}). Without --strict-adoption the upgrade widens it to the declared rule "
            "and keeps the old definition in egregora_widened_checks; nothing was changed"
        )
        self.table = table
        self.check = check
        self.reason = reason


class UnwidenableCheckError(MigrationError):
    """A CHECK rejects rows this project writes and no declared rule can widen it."""

    def __init__(self, table: str, check: str, sample: str) -> None:
        super().__init__(
            f"{table} has {check}, which rejects rows this project writes ({sample}) and cannot "
            "be widened automatically; rebuild the table without it in a revision "
            "(op.rebuild_table) and run the upgrade again. Nothing was changed"
        )
        self.table = table
        self.check = check


class DryRunFailedError(MigrationError):
    """A dry run (``db plan``, ``--sql``) found a step that would fail.

    Nothing was attempted on the warehouse: the file was opened read-only and the
    plan ran on an in-memory copy of its schema, so the message says what *would*
    fail and why, never that something was rolled back.
    """

    def __init__(self, step: str, statement: str, cause: str) -> None:
        super().__init__(
            f"dry run: {step} would fail.\n  statement: {statement}\n  error: {cause}\n"
            "The warehouse was only read; nothing was attempted on it. "
            "`db upgrade` would stop at this step and leave the warehouse as it is."
        )
        self.step = step
        self.statement = statement
        self.cause = cause


# --- backends ---------------------------------------------------------------------


class BackendNotSupportedError(MigrationError):
    """Something only DuckDB warehouses have (legacy layouts, raw SQL of another dialect)."""

    def __init__(self, backend: str, what: str, advice: str) -> None:
        super().__init__(f"{what} is not supported on {backend}: {advice}")
        self.backend = backend
        self.what = what
        self.advice = advice
