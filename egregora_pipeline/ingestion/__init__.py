"""The ingestion library: WhatsApp exports, Markdown and media into the warehouse.

Dagster-free (the orchestration layer calls :func:`ingest`); see
``docs/ingestion.md`` for the supported formats and rules.
"""

from egregora_pipeline.ingestion.discovery import DiscoveredInput, discover_inputs
from egregora_pipeline.ingestion.errors import (
    ChatFormatError,
    ChatNotFoundError,
    DateOrderError,
    IngestionError,
    InvalidSettingError,
    UnsafeArchiveError,
    UnsupportedInputError,
)
from egregora_pipeline.ingestion.pipeline import DEFAULT_TARGETS, ingest
from egregora_pipeline.ingestion.report import IngestReport, InputReport, ProgressEvent, Rejection
from egregora_pipeline.ingestion.whatsapp.archive import ArchiveLimits
from egregora_pipeline.ingestion.whatsapp.formats import DateOrder

__all__ = [
    "DEFAULT_TARGETS",
    "ArchiveLimits",
    "ChatFormatError",
    "ChatNotFoundError",
    "DateOrder",
    "DateOrderError",
    "DiscoveredInput",
    "IngestReport",
    "IngestionError",
    "InputReport",
    "InvalidSettingError",
    "ProgressEvent",
    "Rejection",
    "UnsafeArchiveError",
    "UnsupportedInputError",
    "discover_inputs",
    "ingest",
]
