"""Markdown files with YAML front matter -> ``documents`` rows (posts, profiles, journal entries).

``doc_type`` comes from the front matter (``doc_type`` or ``type``) or else
from the folder the file sits in (``posts/``, ``profiles/``, ``journal/``).
Front-matter keys that name a ``documents`` column go to that column; all
other keys are kept in ``extensions`` (JSON), so nothing the author wrote is
lost. The per-``doc_type`` rules of ``schema.rules`` are checked before
loading: a file that breaks them (or has bad YAML, or a bad date) becomes a
:class:`Rejection` naming the file, the line and the reason -- it never
stops the other files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from egregora_pipeline.ingestion.ids import document_id
from egregora_pipeline.ingestion.report import Rejection

FOLDER_DOC_TYPES: Final[Mapping[str, str]] = {
    "posts": "post",
    "post": "post",
    "profiles": "profile",
    "profile": "profile",
    "journal": "journal",
    "journals": "journal",
}
MARKDOWN_EXTENSIONS: Final = frozenset({".md", ".markdown"})

_ALIASES: Final[Mapping[str, str]] = {
    "type": "doc_type",
    "avatar": "avatar_url",
    "subject": "subject_uuid",
    "description": "summary",
    "bio": "summary",
}
_STRING_COLUMNS: Final = (
    "id",
    "title",
    "slug",
    "summary",
    "status",
    "subject_uuid",
    "alias",
    "avatar_url",
    "doc_type",
)
_LIST_COLUMNS: Final = ("authors", "tags", "interests")
_TIMESTAMP_COLUMNS: Final = ("window_start", "window_end")
_DEFAULT_STATUS: Final[Mapping[str, str]] = {"post": "draft"}
"""A post without ``status`` is a draft (never published by accident); other
documents default to ``published``."""


@functools.cache
def _front_matter_handler() -> Any:
    """The front-matter handler, built on first use.

    ``frontmatter`` and PyYAML cost about 30 ms to import, which a chat-only
    ingest (the benchmark in ``benchmarks/``) never needs.

    The YAML loader is a SafeLoader that leaves dates as text, so *we* parse
    them and can name the line of a bad one (PyYAML would raise a bare
    ``ValueError`` for ``2024-13-45``).
    """
    import frontmatter
    import yaml

    class TextDatesLoader(yaml.SafeLoader):
        pass

    TextDatesLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    class FrontMatterHandler(frontmatter.YAMLHandler):
        def load(self, fm: str, **kwargs: object) -> Any:
            return yaml.load(fm, Loader=TextDatesLoader)  # noqa: S506 (a SafeLoader subclass)

    return FrontMatterHandler()


class _Rejected(Exception):
    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


@dataclass
class MarkdownResult:
    """A record ready to load, or the rejections that explain why there is none."""

    path: Path
    record: dict[str, Any] | None = None
    rejections: list[Rejection] = field(default_factory=list)


def _slugify(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return slug or "untitled"


def _key_line(front: str, key: str) -> int | None:
    """1-based file line of a top-level front-matter key (the opening ``---`` is line 1)."""
    for number, line in enumerate(front.split("\n"), start=2):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return None


def _doc_type_from_folder(path: Path, root: Path | None) -> str | None:
    parts = path.relative_to(root).parts[:-1] if root and path.is_relative_to(root) else ()
    parts = parts or path.parts[:-1]
    for part in reversed(parts):
        if part.lower() in FOLDER_DOC_TYPES:
            return FOLDER_DOC_TYPES[part.lower()]
    return None


def _as_date(value: Any, key: str, line: int | None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Rejected(f"{key}: expected a date like 2024-01-31, got {value!r}", line)


def _as_timestamp(value: Any, key: str, line: int | None, tz: ZoneInfo) -> datetime:
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise _Rejected(
            f"{key}: expected a timestamp like 2024-01-31T09:00:00Z, got {value!r}", line
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _as_list(value: Any, key: str, line: int | None) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return [str(item) for item in value]
    raise _Rejected(f"{key}: expected a list of strings, got {value!r}", line)


def _json_default(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def parse_markdown(
    path: Path,
    *,
    root: Path | None = None,
    timezone: str = "UTC",
    author_namespace: uuid.UUID | None = None,
    now: datetime | None = None,
) -> MarkdownResult:
    """Read one Markdown file into a ``documents`` record, or explain why not."""
    source = str(path)
    result = MarkdownResult(path)
    try:
        raw = path.read_bytes()
        result.record = _build(
            raw, path, root, ZoneInfo(timezone), author_namespace, now or datetime.now(UTC)
        )
    except _Rejected as rejected:
        result.rejections.append(Rejection(source, rejected.line, rejected.column, rejected.reason))
    except OSError as error:
        result.rejections.append(Rejection(source, None, None, f"cannot read file: {error}"))
    return result


def _front_text(text: str) -> str:
    """The raw front-matter text, to find the line of a key."""
    match = re.match(r"^---\s*\n(.*?)\n---\s*(?:\n|$)", text, re.DOTALL)
    return match.group(1) if match else ""


def _build(
    raw: bytes,
    path: Path,
    root: Path | None,
    tz: ZoneInfo,
    author_namespace: uuid.UUID | None,
    now: datetime,
) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _Rejected(f"not valid UTF-8 (byte {error.start})", line) from None
    front = _front_text(text)
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(text, handler=_front_matter_handler())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + 2 if mark is not None else 2
        column = mark.column + 1 if mark is not None else None
        raise _Rejected(f"front matter is not valid YAML: {problem}", line, column) from None
    except ValueError as error:
        raise _Rejected(f"front matter cannot be read: {error}", 1) from None
    metadata: dict[str, Any] = dict(post.metadata)
    if not isinstance(post.metadata, Mapping):
        raise _Rejected("front matter must be a mapping of keys to values", 2)

    known: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for key, value in metadata.items():
        column = _ALIASES.get(str(key), str(key))
        if column in _STRING_COLUMNS or column in _LIST_COLUMNS or column in _TIMESTAMP_COLUMNS:
            known[column] = value
        elif column == "date":
            known["date"] = value
        else:
            extensions[str(key)] = value

    def line_of(column: str) -> int | None:
        for key, alias in [(column, column), *[(k, v) for k, v in _ALIASES.items()]]:
            if alias == column and key in metadata:
                return _key_line(front, key)
        return None

    doc_type = known.get("doc_type")
    if doc_type is None:
        doc_type = _doc_type_from_folder(path, root)
    if doc_type is None:
        raise _Rejected(
            "cannot tell the doc_type: put the file under posts/, profiles/ or journal/, "
            "or set doc_type in the front matter",
            None,
        )
    record: dict[str, Any] = {"doc_type": str(doc_type)}
    for column in _STRING_COLUMNS:
        if column in known and column != "doc_type" and known[column] is not None:
            value = known[column]
            if isinstance(value, Mapping | list):
                raise _Rejected(f"{column}: expected text, got {value!r}", line_of(column))
            record[column] = str(value)
    for column in _LIST_COLUMNS:
        if known.get(column) is not None:
            record[column] = _as_list(known[column], column, line_of(column))
    if known.get("date") is not None:
        record["date"] = _as_date(known["date"], "date", line_of("date"))
    for column in _TIMESTAMP_COLUMNS:
        if known.get(column) is not None:
            record[column] = _as_timestamp(known[column], column, line_of(column), tz)

    doc = record["doc_type"]
    if "title" not in record and isinstance(metadata.get("name"), str) and doc == "profile":
        record["title"] = metadata["name"]
        extensions.pop("name", None)
    if doc == "post" and "slug" not in record:
        record["slug"] = _slugify(path.stem)
    if doc == "profile" and "subject_uuid" not in record and author_namespace is not None:
        author = metadata.get("author") or metadata.get("name")
        if isinstance(author, str) and author.strip():
            record["subject_uuid"] = str(uuid.uuid5(author_namespace, author.strip()))
    record.setdefault("status", _DEFAULT_STATUS.get(doc, "published"))
    if "id" not in record:
        key = record.get("slug") or record.get("subject_uuid") or path.stem
        record["id"] = document_id(doc, str(key))
    record["content"] = post.content
    record["source_checksum"] = hashlib.sha256(raw).hexdigest()
    record["created_at"] = now
    record["extensions"] = (
        json.dumps(extensions, default=_json_default, ensure_ascii=False) if extensions else None
    )
    from egregora_pipeline.schema.rules import record_violations

    violations = record_violations(record)
    if violations:
        column = _violated_column(violations[0])
        raise _Rejected("; ".join(violations), line_of(column) if column else None)
    return record


def _violated_column(reason: str) -> str | None:
    match = re.match(r"^(\w+)", reason)
    return match.group(1) if match else None
