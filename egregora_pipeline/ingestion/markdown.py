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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from egregora_pipeline.ids import document_id
from egregora_pipeline.ingestion.identity import author_uuid, post_id, upstream_slug
from egregora_pipeline.ingestion.limits import (
    MAX_FRONT_MATTER_CHARS,
    MAX_MARKDOWN_BYTES,
    MAX_YAML_ALIASES,
    MAX_YAML_DEPTH,
    InputLimits,
    over_limit,
)
from egregora_pipeline.ingestion.report import Rejection, canonical_name, shorten
from egregora_pipeline.ingestion.stable_read import FileChangedError
from egregora_pipeline.ingestion.streams import NotRegularFileError, bom_encoding, read_regular
from egregora_pipeline.ingestion.whatsapp.messages import clean_author
from egregora_pipeline.ingestion.yaml_text import RefusedYaml, text_loader

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


class _Rejected(Exception):
    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


_YAML_LOADERS: dict[tuple[int, int, int], Any] = {}


def _yaml_loader(max_aliases: int, max_depth: int, max_expanded: int) -> Any:
    """A PyYAML loader that keeps scalars as written and refuses alias bombs and deep nesting.

    Every plain scalar stays the text written (no YAML 1.1 typing, explicit tags
    and duplicate keys refused: :mod:`.yaml_text`).
    Dates stay text so *we* parse them and can name the line of a bad one
    (PyYAML would raise a bare ``ValueError`` for ``2024-13-45``). Aliases
    (``*name``) are counted and nesting is measured while the document is
    *composed*, before any Python object exists: a 367-byte "billion laughs"
    front matter is refused after a few dozen events instead of expanding to
    gigabytes. Because even a few aliases can double a value at each level,
    the size of each node *with its aliases expanded* is also summed while
    composing (characters of scalars, plus one per node) and refused past
    ``max_expanded``. PyYAML is imported lazily (about 30 ms a chat-only
    ingest never needs).
    """
    cached = _YAML_LOADERS.get((max_aliases, max_depth, max_expanded))
    if cached is not None:
        return cached
    import yaml

    class LimitedLoader(text_loader()):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.aliases_seen = 0
            self.depth = 0
            self.expanded: dict[int, int] = {}

        def expanded_size(self, node: Any) -> int:
            if isinstance(node, yaml.ScalarNode):
                return len(node.value) + 1
            children = (
                [part for pair in node.value for part in pair]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            # a child still being composed (an alias to its own ancestor) counts 1
            return 1 + sum(self.expanded.get(id(child), 1) for child in children)

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases_seen += 1
                if self.aliases_seen > max_aliases:
                    mark = self.peek_event().start_mark
                    raise _Rejected(
                        over_limit(MAX_YAML_ALIASES, max_aliases, "front matter uses more aliases"),
                        mark.line + 2,
                        mark.column + 1,
                    )
                return super().compose_node(parent, index)
            self.depth += 1
            if self.depth > max_depth:
                mark = self.peek_event().start_mark
                raise _Rejected(
                    over_limit(MAX_YAML_DEPTH, max_depth, "front matter nests deeper"),
                    mark.line + 2,
                    mark.column + 1,
                )
            try:
                node = super().compose_node(parent, index)
            finally:
                self.depth -= 1
            size = self.expanded[id(node)] = self.expanded_size(node)
            if size > max_expanded:
                mark = node.start_mark
                raise _Rejected(
                    f"the front matter expands through its aliases to more than "
                    f"{max_expanded:,} characters (four times "
                    f"{MAX_FRONT_MATTER_CHARS.variable}); use fewer aliases",
                    mark.line + 2,
                    mark.column + 1,
                )
            return node

    _YAML_LOADERS[(max_aliases, max_depth, max_expanded)] = LimitedLoader
    return LimitedLoader


@dataclass
class MarkdownResult:
    """A record ready to load, or the rejections that explain why there is none."""

    path: Path
    record: dict[str, Any] | None = None
    rejections: list[Rejection] = field(default_factory=list)


def _key_line(front: str, key: str, first_line: int) -> int | None:
    """File line of a top-level front-matter key (``first_line`` is the front matter's first)."""
    for number, line in enumerate(front.split("\n"), start=first_line):
        if line.startswith(key) and line[len(key) :].lstrip(" \t").startswith(":"):
            return number
    return None


def _doc_type_from_folder(path: Path, root: Path | None) -> str | None:
    parts = path.relative_to(root).parts[:-1] if root and path.is_relative_to(root) else ()
    parts = parts or path.parts[:-1]
    for part in reversed(parts):
        if part.lower() in FOLDER_DOC_TYPES:
            return FOLDER_DOC_TYPES[part.lower()]
    return None


def _is_unicode_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _year_problem(text: str) -> str | None:
    """Why an ISO date's year cannot be stored (DuckDB's clients read years 0001-9999)."""
    head = text.strip()
    digits = head[1:] if head[:1] in "+-" else head
    year = digits.split("-", 1)[0]
    if head[:1] == "-" or (year.isdigit() and (len(year) > 4 or int(year) == 0)):
        return f"year {shorten(head[: len(year) + 1])} is outside 0001-9999"
    return None


def _as_date(value: Any, key: str, line: int | None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        problem = _year_problem(value)
        if problem:
            raise _Rejected(f"{key}: {problem}", line)
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Rejected(f"{key}: expected a date like 2024-01-31, got {shorten(value)}", line)


def local_time_kind(naive: datetime, tz: ZoneInfo) -> str | None:
    """``"nonexistent"`` (in a spring-forward gap), ``"ambiguous"`` (a repeated hour) or None.

    The rule shared with the chat reader is Python's ``fold=0``: a time in a
    gap is read with the offset before the transition (so it lands after the
    gap, shifted forward by its length); a repeated time is its first, earlier
    occurrence. The caller flags either in ``extensions.local_time``.
    """
    early = naive.replace(tzinfo=tz, fold=0)
    late = naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return None
    back = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return "nonexistent" if back != naive else "ambiguous"


def _as_timestamp(
    value: Any, key: str, line: int | None, tz: ZoneInfo
) -> tuple[datetime, str | None]:
    """The UTC instant of ``value`` and its local-time flag (naive values are read in ``tz``)."""
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        problem = _year_problem(value)
        if problem:
            raise _Rejected(f"{key}: {problem}", line)
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise _Rejected(
            f"{key}: expected a timestamp like 2024-01-31T09:00:00Z, got {shorten(value)}", line
        )
    flag: str | None = None
    if parsed.tzinfo is None:
        flag = local_time_kind(parsed, tz)
        parsed = parsed.replace(tzinfo=tz, fold=0)
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or not 1 <= instant.year <= 9999:
        raise _Rejected(
            f"{key}: {parsed.isoformat()} falls outside the years 0001-9999 in UTC", line
        )
    return instant, flag


def _as_list(value: Any, key: str, line: int | None) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return [str(item) for item in value]
    raise _Rejected(f"{key}: expected a list of strings, got {shorten(value)}", line)


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
            raise _Rejected(
                over_limit(MAX_MARKDOWN_BYTES, limits.max_markdown_bytes, "the file is larger")
            )
        result.record = _build(
            raw, path, root, ZoneInfo(timezone), author_namespace, now or datetime.now(UTC), limits
        )
    except _Rejected as rejected:
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


def _is_fence(line: str) -> bool:
    """``---`` (three or more dashes), optionally followed by spaces: a front-matter fence."""
    stripped = line.rstrip(" \t\r")
    return len(stripped) >= 3 and not stripped.strip("-")


def split_front_matter(text: str, max_front_chars: int) -> tuple[str | None, int, str]:
    """``(front matter, its first line, body)`` of ``text``; ``None`` when there is none.

    One pass over the lines with ``str.find`` -- linear in the size of the
    text whatever it holds (a regular expression here once took minutes on
    ``---`` followed by blank lines). Leading blank lines are skipped; the
    front matter opens with a ``---`` line and closes with the next one.
    """
    position = 0
    line_number = 1
    length = len(text)
    while position < length:  # skip leading blank lines
        end = text.find("\n", position)
        end = length if end < 0 else end
        if text[position:end].strip():
            break
        position = end + 1
        line_number += 1
    first = text.find("\n", position)
    first = length if first < 0 else first
    if position >= length or not _is_fence(text[position:first]):
        return None, 0, text.strip()
    opened_at = line_number
    start = first + 1
    cursor = start
    line_number += 1
    while cursor <= length:
        if cursor - start > max_front_chars:
            raise _Rejected(
                over_limit(
                    MAX_FRONT_MATTER_CHARS,
                    max_front_chars,
                    f"the front matter opened on line {opened_at} is longer",
                ),
                opened_at,
            )
        end = text.find("\n", cursor)
        end = length if end < 0 else end
        if _is_fence(text[cursor:end]):
            return text[start:cursor], opened_at + 1, text[end + 1 :].strip()
        cursor = end + 1
        line_number += 1
    raise _Rejected(
        f"the front matter opened by '---' on line {opened_at} is never closed: "
        "expected a '---' line after the last key",
        opened_at,
    )


_UTF16_HINT: Final = (
    "it looks like UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with a BOM)"
)


def _decode(raw: bytes) -> str:
    """UTF-8 text (a UTF-16 file with a byte-order mark is read as UTF-16), or a rejection.

    UTF-16 without a mark is valid UTF-8 when the text is ASCII (every other
    byte is NUL), so it is recognised by its NULs rather than by a decoding error.
    """
    encoding = bom_encoding(raw[:4])
    if encoding is not None:  # strict, like UTF-8: an unpaired surrogate is not text
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as error:
            line = raw[: error.start].decode(encoding, errors="replace").count("\n") + 1
            raise _Rejected(
                f"not valid {encoding.upper()} (byte {error.start}: {error.reason})", line
            ) from None
    head = raw[:512]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):
        raise _Rejected(f"not text: {_UTF16_HINT}", 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _Rejected(f"not valid UTF-8 (byte {error.start})", line) from None


_LONE_CR: Final = re.compile(r"\r(?!\n)")


def _lone_cr_to_lf(text: str) -> str:
    """A file whose lines end in a lone CR (old Mac editors) gets LF endings, so its
    fences and keys are lines; CRLF and LF files are left exactly as written."""
    if "\r" not in text or not _LONE_CR.search(text):
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _canonical(path: Path) -> Path:
    """The file's own path (symlinks resolved), so that another path to the same file
    is recognised as the same source; the absolute path when it cannot be resolved."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # a loop, or a folder that vanished
        return path.absolute()


def _load_yaml(front: str, first_line: int, limits: InputLimits) -> Any:
    import yaml

    try:  # the reader checks every character when the loader is built
        loader = _yaml_loader(
            limits.max_yaml_aliases, limits.max_yaml_depth, 4 * limits.max_front_matter_chars
        )(front)
    except yaml.reader.ReaderError as error:
        line = front[: error.position].count("\n") + first_line
        column = error.position - (front.rfind("\n", 0, error.position) + 1) + 1
        problem = str(error).splitlines()[0]
        raise _Rejected(f"front matter is not valid YAML: {problem}", line, column) from None
    loader.line_offset = first_line
    try:
        return loader.get_single_data()
    except RefusedYaml as refused:
        raise _Rejected(refused.reason, refused.line, refused.column) from None
    except _Rejected as rejected:
        if rejected.line is not None:
            rejected.line += first_line - 2
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + first_line if mark is not None else first_line
        column = mark.column + 1 if mark is not None else None
        raise _Rejected(f"front matter is not valid YAML: {problem}", line, column) from None
    except (ValueError, OverflowError) as error:
        # PyYAML's own conversions: e.g. an integer with thousands of digits
        raise _Rejected(
            f"front matter holds a value that cannot be read: {shorten(str(error))}", first_line
        ) from None
    finally:
        loader.dispose()


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
        raise _Rejected(
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
    text = _lone_cr_to_lf(_decode(raw))
    front, first_line, body = split_front_matter(text, limits.max_front_matter_chars)
    loaded: Any = {} if front is None else _load_yaml(front, first_line, limits)
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, Mapping):
        kind = "a list" if isinstance(loaded, list) else f"a single value ({shorten(loaded)})"
        raise _Rejected(
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
                return _key_line(front_text, key, first_line)
        return None

    doc_type = known.get("doc_type")
    if doc_type is None:
        doc_type = _doc_type_from_folder(path, root)
    if doc_type is None:
        doc_type = _doc_type_from_shape(known)
    if doc_type is None:
        raise _Rejected(
            "cannot tell the doc_type: put the file under posts/, profiles/ or journal/, "
            "set doc_type in the front matter, or give it a recognisable shape "
            "(a post has title and date; a profile subject_uuid; "
            "a journal window_start and window_end)",
            None,
        )
    if isinstance(doc_type, Mapping | list):
        raise _Rejected(f"doc_type: expected text, got {shorten(doc_type)}", line_of("doc_type"))
    record: dict[str, Any] = {"doc_type": str(doc_type)}
    for column in _STRING_COLUMNS:
        if column in known and column != "doc_type" and known[column] is not None:
            value = known[column]
            if isinstance(value, Mapping | list):
                raise _Rejected(f"{column}: expected text, got {shorten(value)}", line_of(column))
            record[column] = str(value)
    _refuse_empty_required(record, line_of)
    for column in _LIST_COLUMNS:
        if known.get(column) is not None:
            record[column] = _as_list(known[column], column, line_of(column))
    if known.get("date") is not None:
        record["date"] = _as_date(known["date"], "date", line_of("date"))
    local_times: dict[str, str] = {}
    for column in _TIMESTAMP_COLUMNS:
        if known.get(column) is not None:
            record[column], flag = _as_timestamp(known[column], column, line_of(column), tz)
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
            extensions, default=_json_default, ensure_ascii=False, allow_nan=False
        )
    except TypeError:
        raise _Rejected(
            "the front matter uses a list or mapping as a key; keys must be text", first_line
        ) from None
    except ValueError as error:
        if "Circular" not in str(error):
            raise _Rejected(
                "the front matter holds .nan or .inf, which JSON cannot store; quote it "
                "to keep it as text",
                first_line,
            ) from None
        raise _Rejected(
            "the front matter refers to itself (a YAML alias inside its own anchor); "
            "it cannot be stored as JSON",
            first_line,
        ) from None
    except RecursionError:
        raise _Rejected(
            "the front matter refers to itself (a YAML alias inside its own anchor); "
            "it cannot be stored as JSON",
            first_line,
        ) from None
    for column, value in record.items():
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str) and not _is_unicode_text(text):
                raise _Rejected(
                    f"{column} holds a lone UTF-16 surrogate (an escape like \\ud800), "
                    "which is not text",
                    line_of(column) or first_line,
                )
    from egregora_pipeline.schema.rules import COLUMN_VALUE_SETS, record_violations

    for column, values in COLUMN_VALUE_SETS.items():
        value = record.get(column)
        if value is not None and value not in values:
            raise _Rejected(
                f"{column}: expected one of {', '.join(values)}, got {shorten(value)}",
                line_of(column),
            )
    violations = record_violations(record)
    if violations:
        violated = _violated_column(violations[0])
        raise _Rejected("; ".join(violations), line_of(violated) if violated else None)
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
            raise _Rejected(
                f"{column} is empty; a {record['doc_type']} needs a {column}{hint}",
                line_of(column),
            )


def _violated_column(reason: str) -> str | None:
    match = re.match(r"^(\w+)", reason)
    return match.group(1) if match else None
