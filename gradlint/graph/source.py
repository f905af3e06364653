"""A source text with the position arithmetic that reporting and fixing need.

The parser counts columns in UTF-8 bytes; users, editors and JSON output count characters.
Positions are converted only for what is reported or edited, never for the whole file.

Every lookup costs the same however long the line is: line starts are found once, and what a
row needs (its text, its byte-to-character map) is built the first time the row is asked for
and kept. One 300 KB line with thousands of findings costs a pass over that line, not one per
finding.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left, bisect_right
from functools import cached_property

from gradlint.diagnostics import Position

_NEWLINE = re.compile(r"\r\n|\r|\n")
_BLANKS = re.compile(r"[ \t\f]*")  # what Python takes as white space between tokens
# Runs of non-ASCII characters that take the same number of UTF-8 bytes each: 2, 3 or 4.
_WIDE_RUN = re.compile("[\x80-\u07ff]+|[\u0800-\uffff]+|[\U00010000-\U0010ffff]+")


def _utf8_width(char: str) -> int:
    code = ord(char)
    return 2 if code < 0x800 else 3 if code < 0x10000 else 4


class ByteColumns:
    """UTF-8 byte column → character column within one line that is not pure ASCII.

    Only the runs of non-ASCII characters are recorded (where each starts, in bytes and in
    characters, and how wide its characters are), so a conversion is a binary search, not a
    re-encoding of the line.
    """

    def __init__(self, line: str) -> None:
        self.byte_starts: list[int] = []
        self.byte_ends: list[int] = []
        self.char_starts: list[int] = []
        self.widths: list[int] = []  # UTF-8 bytes per character in the run
        extra = 0  # bytes beyond one per character, before the run
        for match in _WIDE_RUN.finditer(line):
            width = _utf8_width(match.group()[0])
            start = match.start() + extra
            self.byte_starts.append(start)
            self.byte_ends.append(start + width * len(match.group()))
            self.char_starts.append(match.start())
            self.widths.append(width)
            extra += (width - 1) * len(match.group())

    def char_column(self, byte_col: int) -> int:
        """What `len(line.encode()[:byte_col].decode(errors="ignore"))` gives: a character
        cut by `byte_col` is not counted."""
        k = bisect_left(self.byte_starts, byte_col) - 1  # the last run starting before byte_col
        if k < 0:
            return byte_col
        if byte_col >= self.byte_ends[k]:
            run_length = (self.byte_ends[k] - self.byte_starts[k]) // self.widths[k]
            return self.char_starts[k] + run_length + byte_col - self.byte_ends[k]
        return self.char_starts[k] + (byte_col - self.byte_starts[k]) // self.widths[k]


class SourceText:
    """The text of one module; offsets are character indexes into `text`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: dict[int, str] = {}
        self._columns: dict[int, ByteColumns | None] = {}
        self._indents: dict[int, str] = {}

    @cached_property
    def line_starts(self) -> list[int]:
        starts = [0]
        starts.extend(m.end() for m in _NEWLINE.finditer(self.text))
        return starts

    def line(self, row: int) -> str:
        """Row `row` (1-based) without its line ending; the same string object every time."""
        line = self._lines.get(row)
        if line is None:
            line = self._lines[row] = self._read_line(row)
        return line

    def _read_line(self, row: int) -> str:
        starts = self.line_starts
        if row < 1 or row > len(starts):
            return ""
        start = starts[row - 1]
        end = starts[row] if row < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    @cached_property
    def first_newline(self) -> str:
        """The file's first line ending, or "\\n" for a file of one line."""
        starts = self.line_starts
        return self._ending(1) if len(starts) > 1 else "\n"

    def _ending(self, row: int) -> str:
        """The line ending of a row that has one (row < len(line_starts))."""
        end = self.line_starts[row]
        return "\r\n" if self.text.startswith("\r\n", end - 2) else self.text[end - 1]

    def newline_at(self, row: int) -> str:
        """The line ending used by row `row`, or the file's first one, or "\\n"."""
        if 1 <= row < len(self.line_starts):
            return self._ending(row)
        return self.first_newline

    def indentation(self, row: int) -> str:
        """The blanks (spaces, tabs, form feeds) that start row `row`."""
        indent = self._indents.get(row)
        if indent is None:
            indent = self._indents[row] = _BLANKS.match(self.line(row)).group()  # type: ignore[union-attr]
        return indent

    def starts_line(self, offset: int) -> bool:
        """Whether only blanks precede `offset` on its line."""
        row = self.position(offset).row
        return offset - self.line_starts[row - 1] <= len(self.indentation(row))

    def offset(self, row: int, byte_col: int) -> int:
        """Character offset of a parser position (1-based row, UTF-8 byte column)."""
        columns = self._byte_columns(row)
        col = byte_col if columns is None else columns.char_column(byte_col)
        return self.line_starts[row - 1] + col

    def _byte_columns(self, row: int) -> ByteColumns | None:
        """The row's byte-to-character map; None where bytes and characters are the same."""
        if row in self._columns:
            return self._columns[row]
        line = self.line(row)
        columns = self._columns[row] = None if line.isascii() else ByteColumns(line)
        return columns

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
