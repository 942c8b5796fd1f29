"""A sensor that starts ``ingest_job`` for each new or changed file in the inbox.

Run keys are the SHA-256 of the file's bytes: Dagster never launches two runs
with the same key from one sensor, so a file that is seen again -- on the next
tick, after a restart, or copied back under another name -- never triggers a
second run, while an edited file (new bytes) does. The cursor remembers which
hashes were requested (so a backlog larger than one tick's cap drains over the
next ticks) and caches hashes by (size, mtime) so a large, unchanged export is
not re-read on every tick. A file is only requested once its size and mtime
are the same on two consecutive ticks, so a chat still being copied into the
inbox is not ingested half-written. Paths that disappeared, and hashes of
content no longer in the inbox, are pruned from the cursor.
"""

# No ``from __future__ import annotations``: Dagster reads the annotations of
# decorated functions (context and resource types) at definition time.

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from egregora_pipeline.ingestion import discover_inputs
from egregora_pipeline.orchestration.ingestion_assets import INGEST_OP
from egregora_pipeline.orchestration.jobs import ingest_job
from egregora_pipeline.orchestration.resources import EgregoraSettingsResource, warehouse_display
from egregora_pipeline.orchestration.warehouse import WAREHOUSE_TAG

INGESTIBLE_KINDS = frozenset({"whatsapp", "markdown", "media"})
"""What :func:`discover_inputs` recognises; anything else in the inbox is left alone."""

MAX_RUNS_PER_TICK = 25
"""Cap on run requests per evaluation; the rest are picked up on the next tick."""


@dataclass(frozen=True)
class InboxFile:
    """An inbox file and the hash of its content."""

    path: Path
    sha256: str
    settled: bool
    """Same size and mtime as on the previous tick: not being written any more."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scan_inbox(inbox: Path, cache: dict[str, list[object]]) -> Iterator[InboxFile]:
    """Every ingestible file under ``inbox``, hashed (reusing ``cache`` when unchanged).

    ``cache`` maps a path to ``[size, mtime_ns, sha256]`` and is updated in place.
    """
    if not inbox.is_dir():
        return
    for found in discover_inputs([inbox]):
        path = Path(found.path)
        if found.kind not in INGESTIBLE_KINDS or not path.is_file():
            continue
        stat = path.stat()
        cached = cache.get(str(path)) or [None, None, None]
        settled = cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns
        if settled:
            digest = str(cached[2])
        else:
            digest = _sha256(path)
            cache[str(path)] = [stat.st_size, stat.st_mtime_ns, digest]
        yield InboxFile(path=path, sha256=digest, settled=settled)


@dg.sensor(
    name="inbox_sensor",
    job=ingest_job,
    minimum_interval_seconds=30,
    description="Ingest each new or changed export/content file that lands in EGREGORA_INBOX.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, egregora: EgregoraSettingsResource
) -> dg.SensorResult:
    """Request one ``ingest_job`` run per inbox file, keyed by its content."""
    inbox = egregora.settings().inbox
    state = json.loads(context.cursor) if context.cursor else {}
    cache: dict[str, list[object]] = state.get("files", {})
    requested: set[str] = set(state.get("requested", []))
    seen = list(scan_inbox(inbox, cache))
    fresh = [item for item in seen if item.settled and item.sha256 not in requested]
    settling = [item for item in seen if not item.settled]
    # Forget vanished paths, and the hashes of content no longer in the inbox, so the
    # cursor stays the size of the inbox (the same bytes dropped in again re-ingest
    # idempotently: nothing is added twice).
    cache = {path: entry for path, entry in cache.items() if Path(path).exists()}
    requested &= {str(entry[2]) for entry in cache.values()}
    if not fresh:
        cursor = json.dumps({"files": cache, "requested": sorted(requested)}, sort_keys=True)
        waiting = f"; {len(settling)} file(s) still changing" if settling else ""
        return dg.SensorResult(
            skip_reason=f"no new or changed file ready in {inbox}{waiting}", cursor=cursor
        )
    batch = fresh[:MAX_RUNS_PER_TICK]
    requested.update(item.sha256 for item in batch)
    warehouse = warehouse_display(egregora)  # a path, or a URL without its password
    requests = [
        dg.RunRequest(
            run_key=item.sha256,
            run_config={"ops": {INGEST_OP: {"config": {"paths": [str(item.path)]}}}},
            tags={"egregora/input": item.path.name, WAREHOUSE_TAG: warehouse},
        )
        for item in batch
    ]
    cursor = json.dumps({"files": cache, "requested": sorted(requested)}, sort_keys=True)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
