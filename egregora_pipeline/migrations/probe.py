"""Answer data questions (row and value counts) for guards and reconcile.

A real upgrade asks its own connection. A dry run executes the plan on an
empty in-memory *shadow* of the schema, but data questions ("how many values
would this drop lose?") must be answered by the real file, opened read-only;
objects that only exist in the shadow (created by an earlier step of the same
plan) hold no rows yet, so they count as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egregora_pipeline.backends import impl_for


@dataclass
class Probe:
    """Where the schema is (``catalog``) and where the rows are (``data``)."""

    catalog: Any
    """An open warehouse connection (``backends.migration_base.Connection``)."""
    data: Any
    dry_run: bool = False

    def count(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a single-value counting query against the data connection."""
        try:
            row = self.data.execute(sql, list(params) or None).fetchone()
        except impl_for(self.data).missing_object_errors:
            if not self.dry_run:
                raise
            return 0
        return int(row[0] or 0) if row else 0
