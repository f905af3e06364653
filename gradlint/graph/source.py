"""A source text with the position arithmetic that reporting and fixing need.

The parser counts columns in UTF-8 bytes; users, editors and JSON output count characters.
Positions are converted only for what is reported or edited, never for the whole file.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from functools import cached_property

from gradlint.diagnostics import Position

_NEWLINE = re.compile(r"\r\n|\r|\n")


class SourceText:
    """The text of one module; offsets are character indexes into `text`."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def line_starts(self) -> list[int]:
        starts = [0]
        starts.extend(m.end() for m in _NEWLINE.finditer(self.text))
        return starts

    def line(self, row: int) -> str:
        """Row `row` (1-based) without its line ending."""
        starts = self.line_starts
        if row < 1 or row > len(starts):
            return ""
        start = starts[row - 1]
        end = starts[row] if row < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def newline_at(self, row: int) -> str:
        """The line ending used by row `row`, or the file's first one, or "\\n"."""
        starts = self.line_starts
        if row < len(starts):
            segment = self.text[starts[row - 1]:starts[row]]
            m = _NEWLINE.search(segment)
            if m:
                return m.group()
        m = _NEWLINE.search(self.text)
        return m.group() if m else "\n"

    def offset(self, row: int, byte_col: int) -> int:
        """Character offset of a parser position (1-based row, UTF-8 byte column)."""
        line = self.line(row)
        if line.isascii():
            col = byte_col
        else:
            col = len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
        return self.line_starts[row - 1] + col

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def position(self, offset: int) -> Position:
        """1-based row and column of a character offset."""
        index = bisect_right(self.line_starts, offset) - 1
        return Position(index + 1, offset - self.line_starts[index] + 1)

    def to_offset(self, position: Position) -> int:
        return self.line_starts[position.row - 1] + position.column - 1

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start(node):self.end(node)]
