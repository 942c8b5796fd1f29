"""Run one real ingest in a child process under CPU-time and memory limits; print JSON.

The hostile-input tests run the library here, not in the pytest process: a
regression to a quadratic regex, a blocking read of a pipe or an alias bomb
then ends as a killed child (a failing test) instead of a hung CI job.

Usage: ``python -m tests.ingestion.hostile_child SPEC.json`` where the spec
names ``database``, ``paths`` and optionally ``cpu_seconds``, ``memory_bytes``,
``uid`` (drop to this user first, to make a folder unreadable even for root),
``duckdb_memory_limit`` (the connection's ``memory_limit``, so that DuckDB spills
and what a test measures is the memory outside it) and ``list_rejections``
(``false``: only count the rejection rows, for runs that reject hundreds of
thousands). The JSON also holds the child's peak RSS in MB right after the
ingest (``peak_rss_mb``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path
from typing import Any


def _limit(cpu_seconds: int, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def main(spec_path: str) -> None:
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    import duckdb

    from egregora_pipeline.ingestion import ingest
    from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql
    from egregora_pipeline.settings import Settings

    database = Path(spec["database"])
    conn = duckdb.connect(str(database))
    existing = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for name, table in DECLARED_TABLES.items():
        if name not in existing:
            conn.execute(create_table_sql(name, table.schema))
    if spec.get("uid") is not None:
        # Whatever the run imports lazily must be loaded before the stdlib and the
        # virtualenv become unreadable to the unprivileged user.
        import importlib
        import pkgutil

        import imagehash  # noqa: F401
        import yaml  # noqa: F401
        from PIL import Image, PngImagePlugin  # noqa: F401

        import egregora_pipeline.ingestion
        import egregora_pipeline.schema

        # The schema package exports its names lazily: load every module of the
        # library the ingest can reach while the files are still readable.
        for package in (egregora_pipeline.schema, egregora_pipeline.ingestion):
            for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
                importlib.import_module(module.name)

        for codec in ("utf-8-sig", "utf-16", "unicode_escape"):
            "".encode(codec)
        conn.close()
        os.chmod(database, 0o666)
        os.setgid(spec["uid"])
        os.setuid(spec["uid"])
        conn = duckdb.connect(str(database))
    _limit(spec.get("cpu_seconds", 60), spec.get("memory_bytes", 3 * 1024**3))
    settings = Settings.from_env(database=database, timezone=spec.get("timezone", "UTC"))
    paths = [Path(p) for p in spec["paths"]]
    if spec.get("duckdb_memory_limit"):
        conn.execute("SET memory_limit = $1", [spec["duckdb_memory_limit"]])
    report = ingest(conn, paths, settings=settings, run_id="hostile")
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    listed = spec.get("list_rejections", True)
    result = {
        "inputs": [
            {
                "path": item.source,
                "kind": item.kind,
                "error": item.error,
                "messages_added": item.messages_added,
                "documents_added": item.documents_added,
                "documents_updated": item.documents_updated,
                "rejected": item.rejected,
                "rejections": [
                    {"line": r.line_number, "reason": r.reason, "source_path": r.source_path}
                    for r in item.rejections
                ],
            }
            for item in report.inputs
        ],
        "documents": [
            dict(zip(("doc_type", "title", "slug", "filename", "extensions"), row, strict=True))
            for row in conn.execute(
                "SELECT doc_type, title, slug, filename, extensions FROM documents ORDER BY id"
            ).fetchall()
        ],
        "messages": conn.execute("SELECT count(*) FROM messages").fetchone()[0],  # type: ignore[index]
        "rejections": [
            dict(zip(("source_path", "line", "reason"), row, strict=True))
            for row in conn.execute(
                "SELECT source_path, line_number, reason FROM ingest_rejections ORDER BY 1, 2"
            ).fetchall()
        ]
        if listed
        else [],
        "rejection_rows": conn.execute("SELECT count(*) FROM ingest_rejections").fetchone()[0],  # type: ignore[index]
        "peak_rss_mb": peak_rss_mb,
    }
    conn.close()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
