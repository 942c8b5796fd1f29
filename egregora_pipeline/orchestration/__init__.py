"""The Dagster layer: resources, the schema op/asset and its checks, the
ingestion assets and their checks, jobs, schedule and sensor.

Thin by design (docs/architecture.md): every decision about the schema is the
migration engine's, every decision about inputs is the ingestion library's;
this package only turns their results into Dagster events and metadata.
"""
