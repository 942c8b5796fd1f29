# SHIM(issue 21): remove after merge
"""Old home of the sink protocol: now :mod:`egregora_pipeline.backends.sink_base`."""

from egregora_pipeline.backends.sink_base import ChatParse, MessageWriter, Sink

__all__ = ["ChatParse", "MessageWriter", "Sink"]
