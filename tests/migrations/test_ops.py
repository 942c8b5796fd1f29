"""Each operation renders to known SQL (identifiers quoted) and knows its reverse."""

from __future__ import annotations

from egregora_pipeline.migrations.ops import (
    AddColumn,
    AlterColumnType,
    Column,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropIndex,
    DropTable,
    Execute,
    FillNulls,
    Operations,
    RebuildTable,
    RenameColumn,
    SetNullable,
)


def test_identifiers_are_quoted_even_when_hostile() -> None:
    op = AddColumn('odd"table', Column('we"ird', "VARCHAR"))

    assert op.render() == ['ALTER TABLE "odd""table" ADD COLUMN "we""ird" VARCHAR']


def test_a_not_null_column_with_a_constant_backfill_is_filled_by_its_default() -> None:
    op = AddColumn("documents", Column("status", "VARCHAR", False, "'published'"), None, False)

    assert op.render() == [
        """ALTER TABLE "documents" ADD COLUMN "status" VARCHAR DEFAULT 'published'""",
        'ALTER TABLE "documents" ALTER COLUMN "status" SET NOT NULL',
        'ALTER TABLE "documents" ALTER COLUMN "status" DROP DEFAULT',
    ]


def test_a_per_row_backfill_runs_after_not_null_is_set() -> None:
    op = AddColumn("t", Column("c", "VARCHAR", False, "'x'"), "upper(id)", keep_default=False)

    assert op.render()[-1] == 'UPDATE "t" SET "c" = upper(id)'
    assert "SET NOT NULL" in op.render()[1]


def test_a_per_row_backfill_without_placeholder_fills_through_the_type() -> None:
    op = AddColumn("t", Column("c", "VARCHAR", nullable=False), "upper(id)")

    assert op.render() == [
        'ALTER TABLE "t" ADD COLUMN "c" VARCHAR',
        'ALTER TABLE "t" ALTER COLUMN "c" SET DATA TYPE VARCHAR USING COALESCE("c", upper(id))',
        'ALTER TABLE "t" ALTER COLUMN "c" SET NOT NULL',
    ]


def test_create_table_renders_columns_and_constraints() -> None:
    op = CreateTable(
        "tags",
        (Column("name", "VARCHAR", nullable=False), Column("w", "INTEGER")),
        ("CHECK (w > 0)",),
    )

    assert op.render() == [
        'CREATE TABLE "tags" (\n    "name" VARCHAR NOT NULL,\n    "w" INTEGER,\n    CHECK (w > 0)\n)'
    ]
    assert op.reverse() == DropTable("tags", op.columns, op.constraints)


def test_rebuild_table_is_create_copy_swap() -> None:
    op = RebuildTable("tags", (Column("name", "VARCHAR"),), copy={"name": "lower(name)"})

    assert op.render() == [
        'CREATE TABLE "__rebuild_tags" (\n    "name" VARCHAR\n)',
        'INSERT INTO "__rebuild_tags" ("name") SELECT lower(name) FROM "tags"',
        'DROP TABLE "tags"',
        'ALTER TABLE "__rebuild_tags" RENAME TO "tags"',
    ]


def test_reverses() -> None:
    assert RenameColumn("t", "a", "b").reverse() == RenameColumn("t", "b", "a")
    assert SetNullable("t", "a", nullable=False).reverse() == SetNullable("t", "a", nullable=True)
    assert AlterColumnType("t", "a", "BIGINT", old_type="INTEGER").reverse() == AlterColumnType(
        "t", "a", "INTEGER", old_type="BIGINT"
    )
    assert CreateIndex("i", "t", ("a",)).reverse() == DropIndex("i", "t", ("a",))
    assert DropColumn("t", "a").reverse() is None, "a bare drop cannot know what it dropped"
    assert Execute("SELECT 1").reverse() is None


def test_the_facade_records_without_running() -> None:
    op = Operations()

    op.add_column("t", "c", "INTEGER")
    op.fill_nulls("t", "c", "INTEGER", "0")
    op.set_not_null("t", "c")
    op.execute("SELECT 1")

    assert op.recorded == [
        AddColumn("t", Column("c", "INTEGER")),
        FillNulls("t", "c", "INTEGER", "0"),
        SetNullable("t", "c", nullable=False),
        Execute("SELECT 1"),
    ]
