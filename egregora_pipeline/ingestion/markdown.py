"""Markdown files with YAML front matter -> ``documents`` rows (posts, profiles, journal entries).

``doc_type`` comes from the front matter (``doc_type`` or ``type``), else
from the folder the file sits in (``posts/``, ``profiles/``, ``journal/``),
else from the front matter's unmistakable shape (a post has title and date).
Every file is hostile until read: only a regular file is opened, under the
size, alias and nesting limits of :class:`InputLimits`, and the front matter
is split in one linear pass. Front-matter keys that name a ``documents``
column go to that column; all other keys are kept in ``extensions`` (JSON),
so nothing the author wrote is lost. The per-``doc_type`` rules of
``schema.rules`` are checked before loading: a file that breaks them (or has
bad YAML, or a bad date) becomes a :class:`Rejection` naming the file, the
line and the reason -- it never stops the other files.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from egregora_pipeline.ids import document_id
from egregora_pipeline.ingestion.front_matter import (
    Rejected,
    decode,
    load_yaml,
    lone_cr_to_lf,
    split_front_matter,
)
from egregora_pipeline.ingestion.identity import author_uuid, post_id, upstream_slug
from egregora_pipeline.ingestion.limits import (
    MAX_MARKDOWN_BYTES,
    InputLimits,
    over_limit,
)
from egregora_pipeline.ingestion.markdown_values import (
    as_date,
    as_list,
    as_timestamp,
    is_unicode_text,
    json_default,
    key_line,
    local_time_kind,
)
from egregora_pipeline.ingestion.report import Rejection, canonical_name, shorten
from egregora_pipeline.ingestion.stable_read import FileChangedError
from egregora_pipeline.ingestion.streams import NotRegularFileError, read_regular
from egregora_pipeline.ingestion.whatsapp.messages import clean_author

__all__ = [
    "FOLDER_DOC_TYPES",
    "MARKDOWN_EXTENSIONS",
    "MarkdownResult",
    "local_time_kind",
    "parse_markdown",
    "split_front_matter",
]

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
_RESERVED_EXTENSIONS: Final = frozenset({"origin", "local_time", "local_time_fields"})
"""Keys this library writes into ``extensions``; a front-matter key of the same name is
kept as ``front_matter:<key>``."""
_DEFAULT_STATUS: Final[Mapping[str, str]] = {"post": "draft"}
"""A post without ``status`` is a draft (never published by accident); other
documents default to ``published``."""


@dataclass
class MarkdownResult:
    """A record ready to load, or the rejections that explain why there is none."""

    path: Path
    record: dict[str, Any] | None = None
    rejections: list[Rejection] = field(default_factory=list)


def _doc_type_from_folder(path: Path, root: Path | None) -> str | None:
    parts = path.relative_to(root).parts[:-1] if root and path.is_relative_to(root) else ()
    parts = parts or path.parts[:-1]
    for part in reversed(parts):
        if part.lower() in FOLDER_DOC_TYPES:
            return FOLDER_DOC_TYPES[part.lower()]
    return None


def parse_markdown(
    path: Path,
    *,
    root: Path | None = None,
    timezone: str = "UTC",
    author_namespace: uuid.UUID | None = None,
    now: datetime | None = None,
    limits: InputLimits | None = None,
) -> MarkdownResult:
    """Read one Markdown file into a ``documents`` record, or explain why not.

    Only a regular file is opened (a pipe or ``/dev/zero`` named ``x.md`` is
    refused by type), at most ``limits.max_markdown_bytes`` are read, and any
    failure becomes a rejection of this file alone.
    """
    limits = limits or InputLimits()
    source = canonical_name(path)
    result = MarkdownResult(path)
    try:
        raw = read_regular(path, limits.max_markdown_bytes)
        if raw is None:
            raise Rejected(
                over_limit(MAX_MARKDOWN_BYTES, limits.max_markdown_bytes, "the file is larger")
            )
        result.record = _build(
            raw, path, root, ZoneInfo(timezone), author_namespace, now or datetime.now(UTC), limits
        )
    except Rejected as rejected:
        result.rejections.append(Rejection(source, rejected.line, rejected.column, rejected.reason))
    except (NotRegularFileError, FileChangedError) as error:
        result.rejections.append(Rejection(source, None, None, str(error)))
    except OSError as error:
        result.rejections.append(
            Rejection(source, None, None, f"cannot read file: {error.strerror or error}")
        )
    except RecursionError:
        result.rejections.append(
            Rejection(source, None, None, "front matter is nested too deeply to read")
        )
    except MemoryError:
        result.rejections.append(
            Rejection(source, None, None, "front matter needs more memory than is available")
        )
    return result


def _canonical(path: Path) -> Path:
    """The file's own path (symlinks resolved), so that another path to the same file
    is recognised as the same source; the absolute path when it cannot be resolved."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # a loop, or a folder that vanished
        return path.absolute()


_SHAPES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("post", ("title", "date")),
    ("profile", ("subject_uuid",)),
    ("journal", ("window_start", "window_end")),
)
"""Front matter that has all of these columns can only be that doc_type (issue: "a post is a
post"); checked after an explicit ``doc_type`` and after the folder."""


def _doc_type_from_shape(known: Mapping[str, Any]) -> str | None:
    shapes = [doc for doc, columns in _SHAPES if all(known.get(c) is not None for c in columns)]
    if len(shapes) > 1:
        raise Rejected(
            "cannot tell the doc_type: the front matter has the shape of "
            + " and of ".join(
                f"a {doc} ({' + '.join(c for c in dict(_SHAPES)[doc])})" for doc in shapes
            )
            + "; set doc_type in the front matter or move the file under "
            "posts/, profiles/ or journal/",
        )
    return shapes[0] if shapes else None


def _build(
    raw: bytes,
    path: Path,
    root: Path | None,
    tz: ZoneInfo,
    author_namespace: uuid.UUID | None,
    now: datetime,
    limits: InputLimits,
) -> dict[str, Any]:
    text = lone_cr_to_lf(decode(raw))
    front, first_line, body = split_front_matter(text, limits.max_front_matter_chars)
    loaded: Any = {} if front is None else load_yaml(front, first_line, limits)
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, Mapping):
        kind = "a list" if isinstance(loaded, list) else f"a single value ({shorten(loaded)})"
        raise Rejected(
            f"the front matter is {kind}; expected a mapping of keys to values "
            "such as 'title: Hello'",
            first_line,
        )
    metadata: dict[str, Any] = {str(key): value for key, value in loaded.items()}
    front_text = front or ""

    known: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for key, value in metadata.items():
        column = _ALIASES.get(key, key)
        if column in _STRING_COLUMNS or column in _LIST_COLUMNS or column in _TIMESTAMP_COLUMNS:
            known[column] = value
        elif column == "date":
            known["date"] = value
        elif key in _RESERVED_EXTENSIONS:
            extensions[f"front_matter:{key}"] = value
        else:
            extensions[key] = value

    def line_of(column: str) -> int | None:
        for key, alias in [(column, column), *[(k, v) for k, v in _ALIASES.items()]]:
            if alias == column and key in metadata:
                return key_line(front_text, key, first_line)
        return None

    doc_type = known.get("doc_type")
    if doc_type is None:
        doc_type = _doc_type_from_folder(path, root)
    if doc_type is None:
        doc_type = _doc_type_from_shape(known)
    if doc_type is None:
        raise Rejected(
            "cannot tell the doc_type: put the file under posts/, profiles/ or journal/, "
            "set doc_type in the front matter, or give it a recognisable shape "
            "(a post has title and date; a profile subject_uuid; "
            "a journal window_start and window_end)",
            None,
        )
    if isinstance(doc_type, Mapping | list):
        raise Rejected(f"doc_type: expected text, got {shorten(doc_type)}", line_of("doc_type"))
    record: dict[str, Any] = {"doc_type": str(doc_type)}
    for column in _STRING_COLUMNS:
        if column in known and column != "doc_type" and known[column] is not None:
            value = known[column]
            if isinstance(value, Mapping | list):
                raise Rejected(f"{column}: expected text, got {shorten(value)}", line_of(column))
            record[column] = str(value)
    _refuse_empty_required(record, line_of)
    for column in _LIST_COLUMNS:
        if known.get(column) is not None:
            record[column] = as_list(known[column], column, line_of(column))
    if known.get("date") is not None:
        record["date"] = as_date(known["date"], "date", line_of("date"))
    local_times: dict[str, str] = {}
    for column in _TIMESTAMP_COLUMNS:
        if known.get(column) is not None:
            record[column], flag = as_timestamp(known[column], column, line_of(column), tz)
            if flag is not None:
                local_times[column] = flag
    if local_times:
        extensions["local_time"] = next(iter(local_times.values()))
        extensions["local_time_fields"] = sorted(local_times)

    doc = record["doc_type"]
    if "title" not in record and isinstance(metadata.get("name"), str) and doc == "profile":
        record["title"] = metadata["name"]
        extensions.pop("name", None)
    if doc == "post":
        # upstream's Document.slug / document_id clean the slug (identity.upstream_slug)
        record["slug"] = upstream_slug(record.get("slug") or canonical_name(path.stem))
    if doc == "profile" and "subject_uuid" not in record:
        author = metadata.get("author") or metadata.get("name")
        if isinstance(author, str) and author.strip():
            # the pseudonym the same person's chat messages get: profile and messages join
            record["subject_uuid"] = author_uuid(clean_author(author), author_namespace)
    record.setdefault("status", _DEFAULT_STATUS.get(doc, "published"))
    if "id" not in record:
        record["id"] = _document_id(record, path)
    # upstream's profile cache stores a profile's whole file and reads its metadata back
    # with frontmatter.loads(content) (database/profile_cache.py, 1123bf243)
    record["content"] = text if doc == "profile" else body
    record["source_checksum"] = hashlib.sha256(raw).hexdigest()
    record["created_at"] = now
    extensions["origin"] = canonical_name(_canonical(path))
    try:
        record["extensions"] = json.dumps(
            extensions, default=json_default, ensure_ascii=False, allow_nan=False
        )
    except TypeError:
        raise Rejected(
            "the front matter uses a list or mapping as a key; keys must be text", first_line
        ) from None
    except ValueError as error:
        if "Circular" not in str(error):
            raise Rejected(
                "the front matter holds .nan or .inf, which JSON cannot store; quote it "
                "to keep it as text",
                first_line,
            ) from None
        raise Rejected(
            "the front matter refers to itself (a YAML alias inside its own anchor); "
            "it cannot be stored as JSON",
            first_line,
        ) from None
    except RecursionError:
        raise Rejected(
            "the front matter refers to itself (a YAML alias inside its own anchor); "
            "it cannot be stored as JSON",
            first_line,
        ) from None
    for column, value in record.items():
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str) and not is_unicode_text(text):
                raise Rejected(
                    f"{column} holds a lone UTF-16 surrogate (an escape like \\ud800), "
                    "which is not text",
                    line_of(column) or first_line,
                )
    from egregora_pipeline.schema.rules import COLUMN_VALUE_SETS, record_violations

    for column, values in COLUMN_VALUE_SETS.items():
        value = record.get(column)
        if value is not None and value not in values:
            raise Rejected(
                f"{column}: expected one of {', '.join(values)}, got {shorten(value)}",
                line_of(column),
            )
    violations = record_violations(record)
    if violations:
        violated = _violated_column(violations[0])
        raise Rejected("; ".join(violations), line_of(violated) if violated else None)
    return record


def _document_id(record: Mapping[str, Any], path: Path) -> str:
    """``documents.id`` when the front matter gives none: upstream Egregora's key.

    A post is keyed by its cleaned slug (``Document.document_id``) and a profile
    by its ``subject_uuid`` (``database/profile_cache.py``), as upstream keys
    them, so the row upstream writes for the same post or person is this row.
    Journals keep this project's ``uuid5`` of their file name: upstream keys a
    journal by a hash of its rendered content, which a file cannot reproduce
    (and which would make every edit a new row).
    """
    doc = str(record["doc_type"])
    if doc == "post":
        return post_id(str(record["slug"]))
    if doc == "profile" and record.get("subject_uuid"):
        return str(record["subject_uuid"])
    key = record.get("slug") or record.get("subject_uuid") or canonical_name(path.stem)
    return document_id(doc, str(key))


def _refuse_empty_required(record: Mapping[str, Any], line_of: Callable[[str], int | None]) -> None:
    """A required column written as empty text (``slug: ""``) is refused like a missing one,
    never stored empty (a post's empty slug once became its id's key)."""
    from egregora_pipeline.schema.rules import DOC_TYPE_RULES

    rule = DOC_TYPE_RULES.get(str(record["doc_type"]))
    for column in rule.required if rule is not None else ():
        value = record.get(column)
        if isinstance(value, str) and not value.strip():
            hint = " (remove the key to use the file name)" if column == "slug" else ""
            raise Rejected(
                f"{column} is empty; a {record['doc_type']} needs a {column}{hint}",
                line_of(column),
            )


def _violated_column(reason: str) -> str | None:
    match = re.match(r"^(\w+)", reason)
    return match.group(1) if match else None
