"""What the engine's commands return: plain dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from egregora_pipeline.backends.backup_base import BackupInfo

StepKind = Literal["revision", "adopt", "reconcile", "downgrade", "stamp"]


@dataclass(frozen=True)
class AppliedRevision:
    """One revision that ran (upgrade) or was reverted (downgrade)."""

    revision_id: str
    message: str
    duration_seconds: float


@dataclass
class PlanStep:
    """One transaction of a plan: a revision, an adoption, or the reconcile."""

    kind: StepKind
    revision_id: str | None
    description: str
    statements: list[str] = field(default_factory=list)


@dataclass
class UpgradeResult:
    """What ``upgrade`` / ``downgrade`` did."""

    from_revision: str | None
    to_revision: str | None
    applied: list[AppliedRevision] = field(default_factory=list)
    reconcile_actions: list[str] = field(default_factory=list)
    """One sentence per reconcile repair, e.g. ``add column documents.slug VARCHAR``."""
    statements: list[str] = field(default_factory=list)
    """Every SQL statement executed, in order (bookkeeping rows shown with their values)."""
    adopted_layout: str | None = None
    """The docs/schema.md layout adopted (``empty``, ``legacy_v2``, ``partial_unified``,
    ``unversioned_current``), or None when the warehouse already had bookkeeping."""
    duration_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    """Drift reconcile left alone (type changes, NOT NULL without backfill), and
    destructive operations a dry run would need ``--allow-destructive`` for."""
    steps: list[PlanStep] = field(default_factory=list)
    backup: BackupInfo | None = None
    """The automatic backup taken before a step that drops or rewrites data, if any."""

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.reconcile_actions or self.adopted_layout)


@dataclass
class MigrationPlan:
    """What ``upgrade`` (or ``downgrade``) would run, computed without changing anything."""

    from_revision: str | None
    to_revision: str | None
    steps: list[PlanStep]
    statements: list[str]
    adopted_layout: str | None = None
    reconcile_actions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when upgrading would change nothing."""
        return not self.steps

    def sql(self) -> str:
        """The plan as one SQL script, a comment before each step."""
        if self.is_empty:
            return (
                "-- nothing to do: the warehouse is at the target and matches the declared schema\n"
            )
        out: list[str] = []
        for warning in self.warnings:
            out.append(f"-- WARNING: {warning}")
        for step in self.steps:
            label = f" {step.revision_id}" if step.revision_id else ""
            out.append(f"\n-- {step.kind}{label}: {step.description}")
            out.extend(s if s.startswith("--") else f"{s};" for s in step.statements)
        return "\n".join(out).lstrip("\n") + "\n"


@dataclass(frozen=True)
class ColumnMismatch:
    """A declared column whose live type or nullability differs."""

    column: str
    expected_type: str
    actual_type: str
    expected_nullable: bool
    actual_nullable: bool

    def describe(self) -> str:
        parts: list[str] = []
        if self.expected_type != self.actual_type:
            parts.append(f"type {self.actual_type}, declared {self.expected_type}")
        if self.expected_nullable != self.actual_nullable:
            have = "nullable" if self.actual_nullable else "NOT NULL"
            want = "nullable" if self.expected_nullable else "NOT NULL"
            parts.append(f"{have}, declared {want}")
        return f"{self.column}: " + "; ".join(parts)


@dataclass(frozen=True)
class TableDrift:
    """How one live table differs from its declaration."""

    table: str
    exists: bool
    missing: list[str] = field(default_factory=list)
    mismatched: list[ColumnMismatch] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    """Live columns the declaration does not have (informational; not a failure)."""

    @property
    def ok(self) -> bool:
        return self.exists and not self.missing and not self.mismatched


@dataclass
class CheckReport:
    """``db check``: history intact, at head, and every declared column as declared."""

    current: str | None
    head: str
    at_head: bool
    history_ok: bool
    history_problems: list[str]
    tables: dict[str, TableDrift]
    database: str | None = None

    @property
    def ok(self) -> bool:
        return self.at_head and self.history_ok and all(t.ok for t in self.tables.values())

    def problems(self) -> list[str]:
        """Every reason the check fails, one readable sentence each."""
        out: list[str] = list(self.history_problems)
        if not self.at_head:
            out.append(
                f"the warehouse is at revision {self.current or 'base (none applied)'}, "
                f"not at head {self.head}: run `egregora-pipeline db upgrade`"
            )
        for drift in self.tables.values():
            if not drift.exists:
                out.append(f"table {drift.table} does not exist")
                continue
            out.extend(f"{drift.table}.{c} is missing" for c in drift.missing)
            out.extend(f"{drift.table}.{m.describe()}" for m in drift.mismatched)
        return out

    def render(self) -> str:
        """A plain-text report, suitable for logs and Dagster metadata."""
        where = f" ({self.database})" if self.database else ""
        lines = [
            f"schema check{where}: {'OK' if self.ok else 'FAILED'}",
            f"  revision: {self.current or 'base'} (head {self.head})"
            + ("" if self.at_head else " -- not at head"),
            f"  history: {'intact' if self.history_ok else 'PROBLEMS'}",
        ]
        lines.extend(f"    - {p}" for p in self.history_problems)
        for drift in self.tables.values():
            status = "ok" if drift.ok else ("MISSING TABLE" if not drift.exists else "DRIFT")
            lines.append(f"  table {drift.table}: {status}")
            lines.extend(f"    - missing column {c}" for c in drift.missing)
            lines.extend(f"    - {m.describe()}" for m in drift.mismatched)
            if drift.extra:
                lines.append(f"    (undeclared columns, ignored: {', '.join(drift.extra)})")
        return "\n".join(lines)


@dataclass(frozen=True)
class HistoryEntry:
    """One revision in ``db history``."""

    revision_id: str
    parent_id: str | None
    message: str
    path: Path
    applied: bool
    applied_at: str | None = None
    applied_by: str | None = None
    note: str | None = None
    is_head: bool = False
    is_current: bool = False
