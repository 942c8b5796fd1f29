"""The ``egregora-pipeline`` command line (see :mod:`egregora_pipeline.cli.main`)."""
