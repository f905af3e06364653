"""Building a fix's edits from syntax nodes, in the layout the code already has.

A fix never reformats: it replaces the text of the nodes it is about, or inserts an argument
in the style of the call it goes into (same line or own line, indentation, trailing comma,
line endings, quotes).

Every look at the text around a node is bounded by that node's own surroundings (a line's
indentation, the blanks after a comma), never by the length of its line: a fix for each of
thousands of calls on one long line costs no more than thousands of fixes on short lines.
"""

from __future__ import annotations

import ast
import re

from gradlint.diagnostics import Edit
from gradlint.graph.source import SourceText


def _edit(source: SourceText, start: int, end: int, content: str) -> Edit:
    return Edit(content, source.position(start), source.position(end))


def replace_node(source: SourceText, node: ast.AST, content: str) -> Edit:
    return _edit(source, source.start(node), source.end(node), content)


def replace_span(source: SourceText, start: int, end: int, content: str) -> Edit:
    return _edit(source, start, end, content)


def string_literal(value: str, like: ast.AST | None, source: SourceText) -> str:
    """`value` as a string literal quoted like `like` (an existing literal), else double."""
    quote = '"'
    if like is not None:
        text = source.segment(like).lstrip("rRuUbBfF")
        if text[:1] in ("'", '"'):
            quote = text[:3] if text[:3] in ("'''", '"""') else text[:1]
    return f"{quote}{value}{quote}"


def preferred_quote_node(call: ast.Call) -> ast.AST | None:
    """A string literal among a call's arguments, to copy its quote style."""
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg
    return None


def _skip_trivia(text: str, index: int, stop: int, closing: int) -> int:
    """First index at or after `index` that is not white space, a comment, a line
    continuation, or a ')' closing parentheses around the previous argument."""
    while index < stop:
        ch = text[index]
        if ch in " \t\r\n\f\\":
            index += 1
        elif ch == "#":
            while index < stop and text[index] not in "\r\n":
                index += 1
        elif ch == ")" and index != closing:
            index += 1
        else:
            return index
    return index


_BLANKS = re.compile(r"[ \t\f]*")


def _visual_indent(blanks: str) -> str:
    """The indentation that `blanks` (a line's leading white space) shows: a form feed resets
    the column, as in Python's tokenizer, and is a page break, not something to copy."""
    return blanks[blanks.rfind("\f") + 1:]


def _row_indent(source: SourceText, row: int) -> str:
    return _visual_indent(source.indentation(row))


def insert_argument(source: SourceText, call: ast.Call, text: str, after: ast.AST | None = None) -> tuple[Edit, ...]:
    """Insert the argument `text` (e.g. `kernel_initializer="he_normal"`) into `call`, after
    the argument `after` or else last, keeping the call's layout."""
    src = source.text
    call_end = source.end(call)
    closing = call_end - 1  # the call's own ')'
    arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    if not arguments:
        opening = src.index("(", source.end(call.func))
        return (_edit(source, opening + 1, opening + 1, text),)
    # A keyword's value stands for the whole `name=value` argument.
    after = next((k for k in call.keywords if k.value is after), after)
    # A keyword argument cannot precede a positional one: `Dense(64, "relu", True)`.
    if any(arg is after for arg in call.args[:-1]):
        after = call.args[-1]
    anchor = after if after is not None else max(arguments, key=lambda a: (a.end_lineno, a.end_col_offset))
    anchor_end = source.end(anchor)
    nxt = _skip_trivia(src, anchor_end, call_end, closing)
    # Extend the anchor over parentheses that wrap it: `activation=("relu")`.
    j = anchor_end
    while j < nxt and src[j] in " \t)":
        if src[j] == ")":
            anchor_end = j + 1
        j += 1
    anchor_row = source.position(anchor_end).row
    newline = source.newline_at(anchor_row)
    anchor_start = source.start(anchor)
    starts_line = source.starts_line(anchor_start)
    if nxt < call_end and src[nxt] == ",":
        if _code_follows(src, nxt + 1):
            return (_edit(source, anchor_end, anchor_end, f", {text}"),)
        # One argument per line: a new line after the comma's line.
        comma_row = source.position(nxt).row
        indent = _argument_indent(source, anchor_start, starts_line, comma_row)
        at = _line_end(source, comma_row)
        return (_edit(source, at, at, f"{indent}{text},{source.newline_at(comma_row)}"),)
    # The anchor is the last argument, without a trailing comma.
    if source.position(nxt).row == anchor_row:
        return (_edit(source, anchor_end, anchor_end, f", {text}"),)
    indent = _argument_indent(source, anchor_start, starts_line, anchor_row)
    at = _line_end(source, anchor_row)
    return (
        _edit(source, anchor_end, anchor_end, ","),
        _edit(source, at, at, f"{indent}{text}{newline}"),
    )


def _code_follows(text: str, index: int) -> bool:
    """Whether code follows `index` on its line (not only blanks or a comment)."""
    after = _BLANKS.match(text, index).end()  # type: ignore[union-attr]
    return after < len(text) and text[after] not in "\r\n#"


def _line_end(source: SourceText, row: int) -> int:
    """Offset just past row's line ending: where the next line starts."""
    starts = source.line_starts
    return starts[row] if row < len(starts) else len(source.text)


def _argument_indent(source: SourceText, anchor_start: int, starts_line: bool, row: int) -> str:
    anchor_row = source.position(anchor_start).row
    if starts_line:
        return _row_indent(source, anchor_row)
    if row < len(source.line_starts):  # there is a next line
        # The next line's first character, past its indentation: an argument, or the `)`?
        first = source.line_starts[row] + len(source.indentation(row + 1))
        if source.text[first:first + 1] not in ("", ")", "\r", "\n"):
            return _row_indent(source, row + 1)
    base = _row_indent(source, anchor_row)
    return base + ("\t" if base.startswith("\t") else "    ")


def insert_first_argument(source: SourceText, call: ast.Call, text: str) -> tuple[Edit, ...]:
    """Insert the keyword argument `text` before a call's other arguments, keeping its layout.
    A call with positional arguments gets it last instead (a keyword cannot precede them)."""
    arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    if not arguments or call.args:
        return insert_argument(source, call, text)
    first = min(arguments, key=lambda a: (a.lineno, a.col_offset))
    start = source.start(first)
    row = source.position(start).row
    line_start = source.line_starts[row - 1]
    if source.starts_line(start):  # one argument per line: a line of its own above the first
        indent = _visual_indent(source.text[line_start:start])
        return (_edit(source, line_start, line_start, f"{indent}{text},{source.newline_at(row)}"),)
    return (_edit(source, start, start, f"{text}, "),)


def insert_line_after(source: SourceText, statement: ast.stmt, text: str) -> Edit | None:
    """A new line `text` right after `statement`, indented like it. None where the statement
    shares its first or last line with other code (`if x: y = 1`, `a = 1; b = 2`)."""
    start, end = source.start(statement), source.end(statement)
    if not source.starts_line(start) or _code_follows(source.text, end):
        return None
    first = source.position(start).row
    indent = _visual_indent(source.text[source.line_starts[first - 1]:start])
    last = source.position(end).row
    newline = source.newline_at(last)
    at = _line_end(source, last)
    if at == len(source.text) and not source.text.endswith(("\n", "\r")):
        return _edit(source, at, at, f"{newline}{indent}{text}")
    return _edit(source, at, at, f"{indent}{text}{newline}")
