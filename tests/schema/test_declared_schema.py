"""The declared schema is the one docs/schema.md documents, column by column."""

from __future__ import annotations

import re

import duckdb
import ibis.expr.datatypes as dt
import pytest

from egregora_pipeline.schema import (
    DECLARED_TABLES,
    STAGING_MESSAGES_SCHEMA,
    UNIFIED_SCHEMA,
    create_table_sql,
    duckdb_type,
    normalize_type,
)
from tests.conftest import DOCS_DIR

_IBIS_NAMES = {
    "string": dt.String,
    "date": dt.Date,
    "json": dt.JSON,
    "timestamp (UTC)": dt.Timestamp,
    "array<string>": dt.Array,
}


def _spec_table(schema_md: str, heading: str) -> list[tuple[str, str, bool]]:
    section = schema_md.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] in {"column", ""} or set(cells[0]) <= {"-"}:
            continue
        rows.append((cells[0], cells[1], cells[2] == "yes"))
    return rows


@pytest.mark.parametrize(
    ("heading", "schema"),
    [
        ("## `documents`", UNIFIED_SCHEMA),
        ("## `messages`", STAGING_MESSAGES_SCHEMA),
    ],
)
def test_declared_schema_matches_the_documented_schema(heading: str, schema: object) -> None:
    spec = _spec_table((DOCS_DIR / "schema.md").read_text(), heading)
    assert [name for name, _, _ in spec] == list(schema.names)  # type: ignore[attr-defined]
    for name, ibis_name, nullable in spec:
        declared = schema[name]  # type: ignore[index]
        assert isinstance(declared, _IBIS_NAMES[ibis_name]), name
        assert declared.nullable is nullable, name
        if ibis_name == "timestamp (UTC)":
            assert declared.timezone == "UTC", name
        if ibis_name == "array<string>":
            assert declared.value_type.is_string(), name


def test_created_tables_report_declared_types_and_nullability() -> None:
    con = duckdb.connect()
    for table in DECLARED_TABLES.values():
        con.execute(create_table_sql(table.name, table.schema))
        live = {
            name: (normalize_type(kind), nullable)
            for name, kind, nullable in con.execute(
                "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                "WHERE table_name = ?",
                [table.name],
            ).fetchall()
        }
        assert live == {
            name: (duckdb_type(dtype), dtype.nullable) for name, dtype in table.schema.items()
        }


@pytest.mark.parametrize(
    ("spelling", "normal"),
    [
        ("TEXT", "VARCHAR"),
        ("varchar(255)", "VARCHAR"),
        ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"),
        ("timestamp  with time zone", "TIMESTAMP WITH TIME ZONE"),
        ("STRING[]", "VARCHAR[]"),
        ("INT8", "BIGINT"),
        ("TIMESTAMP", "TIMESTAMP"),
    ],
)
def test_type_spellings_normalize_to_the_catalog_name(spelling: str, normal: str) -> None:
    assert normalize_type(spelling) == normal


def test_every_declared_identifier_is_quoted_in_ddl() -> None:
    ddl = create_table_sql("documents", UNIFIED_SCHEMA)
    for name in UNIFIED_SCHEMA.names:
        assert re.search(rf'^\s+"{name}" ', ddl, re.MULTILINE), name
