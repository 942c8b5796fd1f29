"""Schema operations as data, and the ``op`` facade revision files call.

A revision's ``upgrade(op)`` does not touch the database: each ``op.*`` call
appends an :class:`Operation` to a list. The engine then renders every
operation to SQL (for ``db plan`` / ``--sql``) and executes exactly that SQL
(for ``db upgrade``), so what a dry run prints is what a real run does.

Every identifier is quoted with :func:`~egregora_pipeline.sql.quote_ident`.
Types, defaults, expressions and raw SQL come from revision files, which are
code reviewed like any other code, never from user input.

``egregora_pipeline.migrations.ops`` is the import path of revision files and of
autogenerate; the code lives in one module per concern:

- :mod:`.base`: :class:`Column`, :class:`Risk` and the :class:`Operation` protocol;
- :mod:`.tables`: create, drop, rename and rebuild tables, create and drop indexes;
- :mod:`.columns`: add, drop, rename and retype columns, (un)set NOT NULL;
- :mod:`.data`: backfills, NULL fills, raw SQL and Python data steps;
- :mod:`.operations`: the :class:`Operations` facade (the ``op`` object).
"""

from egregora_pipeline.migrations.ops.base import Column, Operation, Risk, sql_type, type_python
from egregora_pipeline.migrations.ops.columns import (
    AddColumn,
    AlterColumnType,
    DropColumn,
    RenameColumn,
    SetNullable,
)
from egregora_pipeline.migrations.ops.data import (
    Backfill,
    DataStep,
    Execute,
    FillNulls,
    RunPython,
)
from egregora_pipeline.migrations.ops.operations import Operations
from egregora_pipeline.migrations.ops.tables import (
    CreateIndex,
    CreateTable,
    DropIndex,
    DropTable,
    RebuildTable,
    RenameTable,
)

__all__ = [
    "AddColumn",
    "AlterColumnType",
    "Backfill",
    "Column",
    "CreateIndex",
    "CreateTable",
    "DataStep",
    "DropColumn",
    "DropIndex",
    "DropTable",
    "Execute",
    "FillNulls",
    "Operation",
    "Operations",
    "RebuildTable",
    "RenameColumn",
    "RenameTable",
    "Risk",
    "RunPython",
    "SetNullable",
    "sql_type",
    "type_python",
]
