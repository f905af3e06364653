"""A cell's new `source` as JSON text, written in the style its notebook already uses.

Jupyter writes a source as a list of lines, one per JSON line, indented one step deeper than
the key; other tools write one string, or indent by two, or write everything on one line. The
new value copies the original's layout (whitespace around and between items, escaping of
non-ASCII) and reuses the exact text of every line that did not change.
"""

from __future__ import annotations

import difflib
import json
import re

from gradlint.jsonspans import Node

_LINE_INDENT = re.compile(r"[ \t]*")


def serialize_source(text: str, node: Node, source: str) -> str:
    """JSON for `source` to replace `node` (the cell's current "source" value) in `text`."""
    ascii_only = text.isascii()
    if node.kind == "string":
        return json.dumps(source, ensure_ascii=ascii_only)
    old_tokens = [text[item.start:item.end] for item in node.items]
    old_lines = [json.loads(token) for token in old_tokens]
    new_lines = source.splitlines(keepends=True)  # how nbformat splits a source into lines
    tokens: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            tokens.extend(old_tokens[a1:a2])
        else:
            tokens.extend(json.dumps(line, ensure_ascii=ascii_only) for line in new_lines[b1:b2])
    if not tokens:
        return "[]"
    prefix, separator, suffix = _list_layout(text, node)
    return "[" + prefix + separator.join(tokens) + suffix + "]"


def _list_layout(text: str, node: Node) -> tuple[str, str, str]:
    """Whitespace after '[', between items (with the comma) and before ']'."""
    items = node.items
    if items:
        prefix = text[node.start + 1:items[0].start]
        suffix = text[items[-1].end:node.end - 1]
        if len(items) > 1:
            separator = text[items[0].end:items[1].start]
        elif prefix:
            separator = "," + prefix
        else:
            separator = ", " if '", "' in text else ","
        return prefix, separator, suffix
    # An empty list: indent one step deeper than the line the key is on.
    if "\n" not in text:
        separator = ", " if '", "' in text else ","
        return "", separator, ""
    newline = "\r\n" if "\r\n" in text else "\n"
    line_start = text.rfind("\n", 0, node.start) + 1
    indent = _LINE_INDENT.match(text, line_start).group()  # type: ignore[union-attr]
    second_line = text.find("\n") + 1
    step = _LINE_INDENT.match(text, second_line).group() or " "  # type: ignore[union-attr]
    return newline + indent + step, "," + newline + indent + step, newline + indent
