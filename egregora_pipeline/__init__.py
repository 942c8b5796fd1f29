"""egregora_pipeline: keep an Egregora DuckDB warehouse on the declared schema and ingest into it.

Layers (each knows only the ones above it): :mod:`egregora_pipeline.schema`
(declared tables) -> :mod:`egregora_pipeline.migrations` (the migration engine)
and :mod:`egregora_pipeline.ingestion` (readers and loader) -> the Dagster layer
(:mod:`egregora_pipeline.orchestration`, wired in :mod:`egregora_pipeline.definitions`)
-> the CLI (:mod:`egregora_pipeline.cli`).
"""

__version__ = "0.1.0"
