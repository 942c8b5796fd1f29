# SHIM(issue 21): remove after merge
"""Old home of the time-zone check: now :mod:`.whatsapp.timezone_check` (the chat parser's)."""

from egregora_pipeline.ingestion.whatsapp.timezone_check import check_timezone

__all__ = ["check_timezone"]
