"""Front matter YAML read as the text the author wrote (no YAML 1.1 implicit typing).

PyYAML implements YAML 1.1, whose implicit types rewrite what people type:
``010`` becomes 8 (octal), ``1:30`` 90 (sexagesimal), ``NO``/``on``/``yes``
booleans, ``0x1F`` 31, ``0.10`` 0.1, ``1_000`` 1000, ``.inf`` infinity. Every
``documents`` column a front matter fills is text (a date is parsed by us, with
its line), so :class:`TextLoader` resolves every plain scalar to the string
written, except the null forms YAML 1.1 and 1.2 agree on (empty, ``~``,
``null``, ``Null``, ``NULL``). Explicit tags (``!!binary``, ``!!int``,
``!!python/...``, ``!custom``) are refused with their line rather than turned
into a bytes repr or a number: only ``!!str``, ``!!map``, ``!!seq`` and ``!``
are accepted, since they change nothing. A key given twice is refused naming
both lines (PyYAML keeps the last one silently). PyYAML is imported lazily, as
in ``markdown.py``: a chat-only ingest never needs it.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

_KEPT_RESOLVERS: Final = frozenset({"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"})
_HARMLESS_TAGS: Final = frozenset(
    {"!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
)


class RefusedYaml(Exception):
    """A front matter that is valid YAML but would not keep what the author wrote."""

    def __init__(self, reason: str, line: int, column: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


@cache
def text_loader() -> Any:
    """The ``SafeLoader`` subclass described in the module docstring (built once)."""
    import yaml

    class TextLoader(yaml.SafeLoader):
        line_offset: int = 1
        """File line of the front matter's first line (set by the caller)."""

        def _line(self, mark: Any) -> int:
            return int(mark.line) + self.line_offset

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in _HARMLESS_TAGS:
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise RefusedYaml(
                    f"the explicit YAML tag {shown!r} is not accepted in front matter: "
                    "values are stored as the text written; remove the tag "
                    "(quote the value if it must stay exactly as typed)",
                    self._line(event.start_mark),
                    int(event.start_mark.column) + 1,
                )
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[str, int] = {}
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                        continue
                    line = self._line(key_node.start_mark)
                    first = seen.get(key_node.value)
                    if first is None:
                        seen[key_node.value] = line
                    else:
                        raise RefusedYaml(
                            f"the key {key_node.value!r} is given twice (lines {first} and "
                            f"{line}); keep one of them",
                            line,
                            int(key_node.start_mark.column) + 1,
                        )
            return super().construct_mapping(node, deep=deep)

    TextLoader.yaml_implicit_resolvers = {
        first: kept
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        if (kept := [(tag, rx) for tag, rx in resolvers if tag in _KEPT_RESOLVERS])
    }
    return TextLoader


__all__ = ["RefusedYaml", "text_loader"]
