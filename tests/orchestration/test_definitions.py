"""The code location's shape: what the UI, schedules, sensors and CI rely on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from egregora_pipeline.definitions import defs
from egregora_pipeline.orchestration.resources import WAREHOUSE_POOL
from egregora_pipeline.schema import DECLARED_TABLES

REPO = Path(__file__).resolve().parents[2]


def test_the_schema_asset_is_computed_by_the_migrate_schema_op() -> None:
    graph = defs.resolve_asset_graph()
    schema = graph.get(dg.AssetKey("egregora_schema"))
    assert schema.assets_def.op.name == "migrate_schema"
    assert schema.group_name == "schema"


def test_ingestion_assets_are_downstream_of_the_schema_asset() -> None:
    graph = defs.resolve_asset_graph()
    for name in ("messages", "documents"):
        node = graph.get(dg.AssetKey(name))
        assert node.group_name == "ingestion"
        assert dg.AssetKey("egregora_schema") in node.parent_keys


def test_every_declared_table_and_the_history_have_a_blocking_check() -> None:
    graph = defs.resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    expected = {f"{t}_columns_match_declared" for t in DECLARED_TABLES} | {
        "migration_history_intact"
    }
    for name in expected:
        assert checks[name].blocking, name
        assert checks[name].asset_key == dg.AssetKey("egregora_schema")


def test_every_step_that_opens_the_warehouse_is_in_the_single_writer_pool() -> None:
    graph = defs.resolve_asset_graph()
    pools = {node.assets_def.op.name: node.assets_def.op.pool for node in graph.asset_nodes}
    assert pools == {"migrate_schema": WAREHOUSE_POOL, "ingest_inputs": WAREHOUSE_POOL}
    for checks_def in defs.asset_checks or []:
        assert checks_def.op.pool == WAREHOUSE_POOL


def test_the_instance_config_limits_the_pool_to_one(tmp_path: Path) -> None:
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    finally:
        instance.dispose()


def test_dagster_definitions_validate_accepts_the_workspace(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "EGREGORA_DATABASE": str(tmp_path / "w.duckdb"),
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "w.duckdb").exists()  # loading the code location touches no warehouse
