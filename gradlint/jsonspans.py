"""Where each value of a JSON text is, so that one value can be replaced without touching the rest.

The json module gives content but no positions. Writing a notebook back with json.dumps would
reorder keys, re-indent and re-escape what the user's tool wrote; instead the changed values
are located here and spliced into the original text, every other byte kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: fast on long base64 strings
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


class JsonSpanError(ValueError):
    """The text is not the JSON it was expected to be."""


@dataclass
class Node:
    """A JSON value and its span `[start, end)` in the text."""

    kind: str  # "object" | "array" | "string" | "scalar"
    start: int
    end: int
    items: list[Node] = field(default_factory=list)  # array elements
    members: dict[str, Node] = field(default_factory=dict)  # object values; the last key wins, as in json

    def get(self, key: str) -> Node | None:
        return self.members.get(key)


def scan(text: str) -> Node:
    """The span tree of a JSON text (which json.loads has already accepted)."""
    node, end = _value(text, _skip(text, 0))
    if _skip(text, end) != len(text):
        raise JsonSpanError(f"extra data at offset {end}")
    return node


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _value(text: str, pos: int) -> tuple[Node, int]:
    char = text[pos:pos + 1]
    if char == "{":
        return _object(text, pos)
    if char == "[":
        return _array(text, pos)
    if char == '"':
        match = _STRING.match(text, pos)
        if match is None:
            raise JsonSpanError(f"unterminated string at offset {pos}")
        return Node("string", pos, match.end()), match.end()
    match = _SCALAR.match(text, pos)
    if match is None:
        raise JsonSpanError(f"unexpected {char!r} at offset {pos}")
    return Node("scalar", pos, match.end()), match.end()


def _object(text: str, start: int) -> tuple[Node, int]:
    node = Node("object", start, start)
    pos = _skip(text, start + 1)
    if text.startswith("}", pos):
        node.end = pos + 1
        return node, node.end
    while True:
        key = _STRING.match(text, pos)
        if key is None:
            raise JsonSpanError(f"expected a key at offset {pos}")
        pos = _skip(text, key.end())
        if not text.startswith(":", pos):
            raise JsonSpanError(f"expected ':' at offset {pos}")
        value, pos = _value(text, _skip(text, pos + 1))
        node.members[json.loads(key.group())] = value
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
            continue
        if text.startswith("}", pos):
            node.end = pos + 1
            return node, node.end
        raise JsonSpanError(f"expected ',' or '}}' at offset {pos}")


def _array(text: str, start: int) -> tuple[Node, int]:
    node = Node("array", start, start)
    pos = _skip(text, start + 1)
    if text.startswith("]", pos):
        node.end = pos + 1
        return node, node.end
    while True:
        item, pos = _value(text, pos)
        node.items.append(item)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
            continue
        if text.startswith("]", pos):
            node.end = pos + 1
            return node, node.end
        raise JsonSpanError(f"expected ',' or ']' at offset {pos}")


def string_offsets(token: str) -> list[int]:
    """For a JSON string token (quotes included): the offset in `token` where each decoded
    character starts, plus one entry for the closing quote. A surrogate pair escape is one
    character, as json.loads decodes it."""
    offsets: list[int] = []
    pos, end = 1, len(token) - 1
    while pos < end:
        if token[pos] != "\\":
            offsets.append(pos)
            pos += 1
            continue
        match = _ESCAPE.match(token, pos)
        assert match is not None
        offsets.append(pos)
        pos = match.end()
        code = match.group(1)
        if code and 0xD800 <= int(code, 16) < 0xDC00 and token.startswith("\\u", pos):
            low = _ESCAPE.match(token, pos)
            if low and low.group(1) and 0xDC00 <= int(low.group(1), 16) < 0xE000:
                pos = low.end()
    offsets.append(end)
    return offsets
