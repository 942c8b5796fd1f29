"""Front matter, read safely: the file decoded, the YAML block split off and loaded.

Every Markdown file is hostile until read: the front matter is split in one
linear pass (:func:`split_front_matter`), and loaded by a YAML loader that
keeps scalars as written and refuses alias bombs and deep nesting while it
composes (:func:`_yaml_loader`), under the limits of :class:`.limits.InputLimits`.
A problem is a :class:`Rejected` naming the line (and column) of the file.
"""

from __future__ import annotations

import re
from typing import Any, Final

from egregora_pipeline.ingestion.limits import (
    MAX_FRONT_MATTER_CHARS,
    MAX_YAML_ALIASES,
    MAX_YAML_DEPTH,
    InputLimits,
    over_limit,
)
from egregora_pipeline.ingestion.report import shorten
from egregora_pipeline.ingestion.streams import bom_encoding
from egregora_pipeline.ingestion.yaml_text import RefusedYaml, text_loader


class Rejected(Exception):
    """A file refused, with the reason and where in it (1-based line and column)."""

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
                    raise Rejected(
                        over_limit(MAX_YAML_ALIASES, max_aliases, "front matter uses more aliases"),
                        mark.line + 2,
                        mark.column + 1,
                    )
                return super().compose_node(parent, index)
            self.depth += 1
            if self.depth > max_depth:
                mark = self.peek_event().start_mark
                raise Rejected(
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
                raise Rejected(
                    f"the front matter expands through its aliases to more than "
                    f"{max_expanded:,} characters (four times "
                    f"{MAX_FRONT_MATTER_CHARS.variable}); use fewer aliases",
                    mark.line + 2,
                    mark.column + 1,
                )
            return node

    _YAML_LOADERS[(max_aliases, max_depth, max_expanded)] = LimitedLoader
    return LimitedLoader


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
            raise Rejected(
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
    raise Rejected(
        f"the front matter opened by '---' on line {opened_at} is never closed: "
        "expected a '---' line after the last key",
        opened_at,
    )


_UTF16_HINT: Final = (
    "it looks like UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with a BOM)"
)


def decode(raw: bytes) -> str:
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
            raise Rejected(
                f"not valid {encoding.upper()} (byte {error.start}: {error.reason})", line
            ) from None
    head = raw[:512]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):
        raise Rejected(f"not text: {_UTF16_HINT}", 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise Rejected(f"not valid UTF-8 (byte {error.start})", line) from None


_LONE_CR: Final = re.compile(r"\r(?!\n)")


def lone_cr_to_lf(text: str) -> str:
    """A file whose lines end in a lone CR (old Mac editors) gets LF endings, so its
    fences and keys are lines; CRLF and LF files are left exactly as written."""
    if "\r" not in text or not _LONE_CR.search(text):
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_yaml(front: str, first_line: int, limits: InputLimits) -> Any:
    import yaml

    try:  # the reader checks every character when the loader is built
        loader = _yaml_loader(
            limits.max_yaml_aliases, limits.max_yaml_depth, 4 * limits.max_front_matter_chars
        )(front)
    except yaml.reader.ReaderError as error:
        line = front[: error.position].count("\n") + first_line
        column = error.position - (front.rfind("\n", 0, error.position) + 1) + 1
        problem = str(error).splitlines()[0]
        raise Rejected(f"front matter is not valid YAML: {problem}", line, column) from None
    loader.line_offset = first_line
    try:
        return loader.get_single_data()
    except RefusedYaml as refused:
        raise Rejected(refused.reason, refused.line, refused.column) from None
    except Rejected as rejected:
        if rejected.line is not None:
            rejected.line += first_line - 2
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + first_line if mark is not None else first_line
        column = mark.column + 1 if mark is not None else None
        raise Rejected(f"front matter is not valid YAML: {problem}", line, column) from None
    except (ValueError, OverflowError) as error:
        # PyYAML's own conversions: e.g. an integer with thousands of digits
        raise Rejected(
            f"front matter holds a value that cannot be read: {shorten(str(error))}", first_line
        ) from None
    finally:
        loader.dispose()
