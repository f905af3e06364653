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
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from gradlint.diagnostics import Diagnostic, Edit
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
    opening_row = source.position(_call_opening(src, source.end(call.func)) or source.end(call.func)).row
    newline = source.newline_at(anchor_row)
    anchor_start = source.start(anchor)
    starts_line = source.starts_line(anchor_start)
    if nxt < call_end and src[nxt] == ",":
        if _code_follows(src, nxt + 1):
            return (_edit(source, anchor_end, anchor_end, f", {text}"),)
        # One argument per line: a new line after the comma's line.
        comma_row = source.position(nxt).row
        indent = _argument_indent(source, anchor_start, starts_line, comma_row, opening_row)
        at = _line_end(source, comma_row)
        return (_edit(source, at, at, f"{indent}{text},{source.newline_at(comma_row)}"),)
    # The anchor is the last argument, without a trailing comma.
    if source.position(nxt).row == anchor_row or _arguments_on_one_inner_row(source, call, arguments):
        # (and black's `f(\n    a, b\n)`: one more argument on that row, laid out if too long)
        return (_edit(source, anchor_end, anchor_end, f", {text}"),)
    indent = _argument_indent(source, anchor_start, starts_line, anchor_row, opening_row)
    at = _line_end(source, anchor_row)
    return (
        _edit(source, anchor_end, anchor_end, ","),
        _edit(source, at, at, f"{indent}{text}{newline}"),
    )


def _arguments_on_one_inner_row(source: SourceText, call: ast.Call, arguments: list[ast.expr | ast.keyword]) -> bool:
    """Whether the call is laid out as black lays out a call too long for one line whose
    arguments fit on one: `f(` / every argument on one row, without a trailing comma / `)`."""
    first = min(arguments, key=lambda a: (a.lineno, a.col_offset))
    last = max(arguments, key=lambda a: (a.end_lineno, a.end_col_offset))
    if first.lineno != last.end_lineno or not source.starts_line(source.start(first)):
        return False
    opening = _call_opening(source.text, source.end(call.func))
    closing = source.end(call) - 1
    after = _skip_trivia(source.text, source.end(last), closing + 1, closing)
    return (opening is not None and source.position(opening).row < first.lineno
            and after == closing and source.position(closing).row > first.lineno
            and not _code_follows(source.text, opening + 1))


def _code_follows(text: str, index: int) -> bool:
    """Whether code follows `index` on its line (not only blanks or a comment)."""
    after = _BLANKS.match(text, index).end()  # type: ignore[union-attr]
    return after < len(text) and text[after] not in "\r\n#"


def _line_end(source: SourceText, row: int) -> int:
    """Offset just past row's line ending: where the next line starts."""
    starts = source.line_starts
    return starts[row] if row < len(starts) else len(source.text)


def _argument_indent(source: SourceText, anchor_start: int, starts_line: bool, row: int, opening_row: int) -> str:
    """Indentation for an argument on a line of its own after `row`: that of the arguments
    around it, else one step deeper than the line the call opens on."""
    anchor_row = source.position(anchor_start).row
    if starts_line or anchor_row != opening_row:
        # The anchor's line starts with an argument of this call (`    64, activation="relu",`).
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
    if source.starts_line(start) and not _arguments_on_one_inner_row(source, call, arguments):
        # One argument per line: a line of its own above the first.
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


def insert_lines_before(source: SourceText, statement: ast.stmt, lines: list[str]) -> Edit | None:
    """New lines right before `statement`, indented like it. None where the statement does not
    start its line (`x = 1; y = 2`)."""
    start = source.start(statement)
    if not source.starts_line(start):
        return None
    first = source.position(start).row
    line_start = source.line_starts[first - 1]
    indent = _visual_indent(source.text[line_start:start])
    newline = source.newline_at(first)
    return _edit(source, start, start, "".join(f"{line}{newline}{indent}" for line in lines))


# -- layout that formatters keep ---------------------------------------------------------------
#
# An edit that pushes a line past the project's line length would make black (or ruff format)
# rewrite the statement. The statement is laid out as they would keep it instead: the call the
# edit is in gets one argument per line, with a magic trailing comma, in the indentation of
# its line (+4 for the arguments); brackets around it on the same line are split the same
# way, as black splits them. Nothing is reformatted unless the result means exactly what the
# fixed statement means (the same syntax tree).

_OPENERS, _CLOSERS = "([{", ")]}"
Span = tuple[int, int, str]  # (start, end, new text) as character offsets


def fit_line_length(diagnostics: list[Diagnostic], tree: ast.Module, source: SourceText,
                    line_length: int) -> list[Diagnostic]:
    """The findings, each fix laid out so that no line it edits goes past `line_length`
    where the original was within it."""
    if not any(d.fix is not None for d in diagnostics):
        return diagnostics
    statements = _StatementIndex(tree, source)
    out = []
    for d in diagnostics:
        edits = None if d.fix is None else _fitted_edits(source, statements, d.fix.edits, line_length)
        out.append(d if edits is None or d.fix is None else replace(d, fix=replace(d.fix, edits=edits)))
    return out


class _StatementIndex:
    """The module's simple statements in order, built on the first question."""

    def __init__(self, tree: ast.Module, source: SourceText) -> None:
        self.tree, self.source = tree, source
        self._spans: list[tuple[int, int]] | None = None

    def containing(self, start: int, end: int) -> tuple[int, int] | None:
        """(start, end) of the simple statement holding [start, end), if any."""
        if self._spans is None:
            self._spans = sorted((self.source.start(n), self.source.end(n)) for n in ast.walk(self.tree)
                                 if isinstance(n, ast.stmt) and not _is_compound(n))
        i = bisect_right(self._spans, (start, len(self.source.text) + 1)) - 1
        if i >= 0 and self._spans[i][0] <= start and end <= self._spans[i][1]:
            return self._spans[i]
        return None


def _is_compound(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor,
                             ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match, *_TRY_STAR))


_TRY_STAR = (ast.TryStar,) if hasattr(ast, "TryStar") else ()


def _fitted_edits(source: SourceText, statements: _StatementIndex, edits: tuple[Edit, ...],
                  limit: int) -> tuple[Edit, ...] | None:
    """The fix's edits with the statement they push past `limit` laid out anew; None to keep
    them as they are."""
    spans = sorted((source.to_offset(e.location), source.to_offset(e.end_location), e.content) for e in edits)
    kept: list[Edit] = []
    changed = False
    for group in _by_block(source, statements, spans):
        block = _block_layout(source, group, limit)
        if block is None:
            kept.extend(_edit(source, s, e, c) for s, e, c in group[2])
        else:
            kept.append(block)
            changed = True
    return tuple(kept) if changed else None


def _by_block(source: SourceText, statements: _StatementIndex,
              spans: list[Span]) -> list[tuple[int, int, list[Span]]]:
    """The edits grouped by the lines they are in: (block start, block end, edits), a block
    being the whole lines of one simple statement, or a line that an edit inserts whole;
    (-1, -1, [edit]) for an edit in no simple statement."""
    groups: list[tuple[int, int, list[Span]]] = []
    for span in spans:
        start, end, content = span
        if start == end and content.endswith(("\n", "\r")) and _at_line_start(source, start):
            groups.append((start, start, [span]))  # a new line of its own
            continue
        statement = statements.containing(start, end)
        if statement is None:  # in a compound statement's header: kept as it is
            groups.append((-1, -1, [span]))
            continue
        first = source.position(statement[0]).row
        block = (source.line_starts[first - 1], _row_end(source, source.position(statement[1]).row))
        if groups and groups[-1][:2] == block:
            groups[-1][2].append(span)
        else:
            groups.append((*block, [span]))
    return groups


def _at_line_start(source: SourceText, offset: int) -> bool:
    return offset == 0 or source.text[offset - 1] in "\r\n"


def _row_end(source: SourceText, row: int) -> int:
    """Offset of the end of row's text, before its line ending."""
    return source.line_starts[row - 1] + len(source.line(row))


def _block_layout(source: SourceText, group: tuple[int, int, list[Span]], limit: int) -> Edit | None:
    """One edit that writes the block with its edits, laid out to fit; None when it fits
    already, was too long before, or cannot be laid out safely."""
    block_start, block_end, spans = group
    if block_start < 0:
        return None
    first, last = source.position(block_start).row, source.position(block_end).row
    if block_end > block_start and any(len(source.line(row)) > limit for row in range(first, last + 1)):
        return None  # too long before the fix: not the fix's doing (rows are read once, not per fix)
    pieces, cursor, changed = [], block_start, []
    for start, end, content in spans:
        if start < block_start or end > block_end or start < cursor:
            return None
        pieces.append(source.text[cursor:start])
        offset = sum(map(len, pieces))
        pieces.append(content)
        changed.append((offset, offset + len(content)))
        cursor = end
    pieces.append(source.text[cursor:block_end])
    fixed = "".join(pieces)
    laid_out = _fit(fixed, changed, limit, source.newline_at(source.position(block_start).row))
    if laid_out is None:
        return None
    return _edit(source, block_start, block_end, laid_out)


_NEWLINE_SPLIT = re.compile(r"\r\n|\r|\n")
_ENDING = re.compile(r"(?:\r\n|\r|\n)?\Z")


def _fit(block: str, changed: list[tuple[int, int]], limit: int, newline: str) -> str | None:
    """`block` (whole lines holding one statement, or lines an edit adds) with its first
    overlong line split as black would keep it; None when nothing needs or can be done."""
    ending = _ENDING.search(block).group()  # type: ignore[union-attr]
    text = block[:len(block) - len(ending)]
    rows = list(_rows(text))
    long_row = next((r for r in rows if r[1] - r[0] > limit), None)
    if long_row is None:
        return None
    indent = _BLANKS.match(text).group()  # type: ignore[union-attr]
    if "\f" in indent:
        return None
    try:
        with _quiet_warnings():
            tree = ast.parse(text[len(indent):])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(tree.body) != 1:
        return None  # `a = 1; b = f(...)`: black would first give each statement its line
    snippet = SourceText(text[len(indent):])
    brackets = _brackets(tree, snippet, len(indent))
    edited = [(s, e) for s, e in changed if long_row[0] <= s <= long_row[1]]
    if not edited:
        return None
    new = None
    # The bracket the edit is in; else (an edit to a callee's name, a line added whole) the
    # one that closes last on the line, where black splits it.
    for node in (_innermost(brackets, *edited[0]), _last_on_row(brackets, long_row)):
        if node is not None and new is None:
            new = _split_row(text, long_row, node, brackets, newline)
    if new is None or any(end - start > limit for start, end in _rows(new)):
        return None  # still too long: black would lay it out its own way
    try:
        with _quiet_warnings():
            same = ast.dump(ast.parse(new[len(indent):])) == ast.dump(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return new + ending if same else None


def _rows(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each row's text, without its line ending."""
    start = 0
    for match in _NEWLINE_SPLIT.finditer(text):
        yield start, match.start()
        start = match.end()
    yield start, len(text)


@contextmanager
def _quiet_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file's own invalid escapes are not ours to report
        yield


@dataclass(frozen=True)
class _Bracket:
    """A bracketed node of the statement: where its brackets are, in the block's offsets."""

    open: int
    close: int  # offset of the closing bracket
    parent: int | None  # index of the innermost bracket around it


def _brackets(tree: ast.Module, snippet: SourceText, shift: int) -> list[_Bracket]:
    """Calls, lists, parenthesized tuples, dicts and sets, outermost first."""
    found: list[tuple[int, int]] = []
    text = snippet.text
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            opening = _call_opening(text, snippet.end(node.func))
            if opening is not None:
                found.append((opening, snippet.end(node) - 1))
        elif isinstance(node, (ast.List, ast.Dict, ast.Set, ast.Tuple)):
            start, end = snippet.start(node), snippet.end(node)
            if text[start:start + 1] in "([{" and text[end - 1:end] in ")]}" and end - start >= 2:
                found.append((start, end - 1))
    found.sort(key=lambda span: (span[0], -span[1]))
    out: list[_Bracket] = []
    stack: list[int] = []
    for opening, closing in found:
        while stack and out[stack[-1]].close < opening:
            stack.pop()
        out.append(_Bracket(opening + shift, closing + shift, stack[-1] if stack else None))
        stack.append(len(out) - 1)
    return out


def _call_opening(text: str, func_end: int) -> int | None:
    """The call's '(' after its callee (past the parentheses that may close around it)."""
    i = func_end
    while i < len(text) and text[i] in " \t)":
        i += 1
    return i if text[i:i + 1] == "(" else None


def _innermost(brackets: list[_Bracket], start: int, end: int) -> int | None:
    """The innermost bracket whose inside holds [start, end)."""
    best = None
    for i, b in enumerate(brackets):
        if b.open < start and end <= b.close:
            best = i
    return best


def _last_on_row(brackets: list[_Bracket], row: tuple[int, int]) -> int | None:
    """The outermost bracket that closes last on the row: where black splits a line that
    the edit added whole."""
    def on_row(b: _Bracket) -> bool:
        return row[0] <= b.open and b.close < row[1]

    candidates = [i for i, b in enumerate(brackets)
                  if on_row(b) and (b.parent is None or not on_row(brackets[b.parent]))]
    return max(candidates, key=lambda i: brackets[i].close, default=None)


def _split_row(text: str, row: tuple[int, int], index: int, brackets: list[_Bracket], newline: str) -> str | None:
    """`text` with `row` split at the bracket `index` (and the brackets around it on the row)."""
    row_start, row_end = row
    bracket = brackets[index]
    indent = _visual_indent(_BLANKS.match(text, row_start).group())  # type: ignore[union-attr]
    step = "\t" if indent.startswith("\t") else "    "
    if bracket.open < row_start or bracket.close >= row_end:
        return _split_body_row(text, row, bracket, indent, newline)
    outer = index
    while (parent := brackets[outer].parent) is not None and brackets[parent].open >= row_start \
            and brackets[parent].close < row_end:
        outer = parent
    suffix = _code_part(text[brackets[outer].close + 1:row_end])
    if not _only_trailers(suffix):
        return None  # more code after it on the line: black would split elsewhere
    path, step_up = {index}, index
    while step_up != outer:
        step_up = brackets[step_up].parent  # type: ignore[assignment]
        path.add(step_up)
    rendered = _render(text, outer, brackets, path, index, indent, step, newline)
    if rendered is None:
        return None
    parent = brackets[outer].parent
    if parent is not None and brackets[parent].open < row_start and brackets[parent].close >= row_end:
        # The row is the one row of arguments of a split call (`f(\n    a, g(…)\n)`): with one
        # of them on several lines, black puts each on a line of its own.
        return _one_element_per_row(text, row, brackets[outer], rendered, newline)
    return text[:brackets[outer].open] + rendered + text[brackets[outer].close + 1:]


def _one_element_per_row(text: str, row: tuple[int, int], split: _Bracket, rendered: str, newline: str) -> str | None:
    """`row` (the elements of a split bracket) one element per line, each with its comma,
    the element holding `split` written with `rendered` in its place."""
    row_start, row_end = row
    blanks = _BLANKS.match(text, row_start).group()  # type: ignore[union-attr]
    body_start = row_start + len(blanks)
    code = _code_part(text[body_start:row_end])
    elements = _elements(code)
    if elements is not None and len(elements) == 1:
        return text[:split.open] + rendered + text[split.close + 1:]
    if elements is None or body_start + len(code) != row_end:
        return None  # a comment after several elements has no one line to go to
    lines = []
    for s, e in elements:
        s, e = s + body_start, e + body_start
        element = text[s:e]
        if s <= split.open and split.close < e:
            element = text[s:split.open] + rendered + text[split.close + 1:e]
        lines.append(f"{_visual_indent(blanks)}{element},")
    return text[:row_start] + newline.join(lines) + text[row_end:]


_TRAILERS = re.compile(r"(?:\((?:[^()]|\([^()]*\))*\)|\[[^\[\]]*\]|\.\w+)*,?")


def _only_trailers(code: str) -> bool:
    """Whether what follows the split bracket on its line is only calls, subscripts and
    attributes of it (`)(inputs)`), and a comma: black splits the line there too."""
    return _TRAILERS.fullmatch(code.strip()) is not None


def _split_body_row(text: str, row: tuple[int, int], bracket: _Bracket, indent: str, newline: str) -> str | None:
    """A split bracket whose elements all sit on `row` (black's `f(\\n    a, b\\n)`): one
    element per line instead, each with its comma."""
    row_start, row_end = row
    before = text[bracket.open + 1:row_start]
    after = text[row_end:bracket.close]
    if before.strip() or after.strip() or bracket.open >= row_start or bracket.close < row_end:
        return None
    body = text[row_start + len(indent):row_end]
    if _code_part(body) != body:
        return None  # a comment on the line: it has no single place to go
    elements = _elements(body)
    if elements is None:
        return None
    lines = [f"{indent}{body[s:e]}," for s, e in elements]
    return text[:row_start] + newline.join(lines) + text[row_end:]


def _render(text: str, index: int, brackets: list[_Bracket], path: set[int], innermost: int,
            indent: str, step: str, newline: str) -> str | None:
    """The bracket `index`, its elements one per line at indent + step; the bracket on the
    path to the edit is rendered so in turn. The edited call gets a trailing comma; a bracket
    around it gets one when it has more than one element, as black writes them."""
    bracket = brackets[index]
    inner_start = bracket.open + 1
    elements = _elements(text[inner_start:bracket.close])
    if elements is None or not elements:
        return None
    child = next((i for i in path if brackets[i].parent == index), None)
    inner = indent + step
    lines = []
    for s, e in elements:
        s, e = s + inner_start, e + inner_start
        element = text[s:e]
        if child is not None and s <= brackets[child].open and brackets[child].close < e:
            rendered = _render(text, child, brackets, path, innermost, inner, step, newline)
            if rendered is None:
                return None
            element = text[s:brackets[child].open] + rendered + text[brackets[child].close + 1:e]
        lines.append(inner + element)
    comma = "," if index == innermost or len(elements) > 1 else ""
    return text[bracket.open] + newline + ("," + newline).join(lines) + comma + newline + indent + text[bracket.close]


def _elements(inside: str) -> list[tuple[int, int]] | None:
    """(start, end) of each comma-separated element of a bracket's inside, on one line; None
    when it is not one line of whole tokens."""
    if "\n" in inside or "\r" in inside:
        return None
    import io
    import tokenize

    elements: list[tuple[int, int]] = []
    depth, start = 0, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(inside + "\n").readline):
            if token.type == tokenize.OP and token.string in _OPENERS:
                depth += 1
            elif token.type == tokenize.OP and token.string in _CLOSERS:
                depth -= 1
            elif token.type == tokenize.OP and token.string == "," and depth == 0:
                elements.append((start, token.start[1]))
                start = token.end[1]
            elif token.type == tokenize.COMMENT:
                return None
    except (tokenize.TokenError, SyntaxError):
        return None
    elements.append((start, len(inside)))
    out = []
    for s, e in elements:
        piece = inside[s:e]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append((s + lead, s + len(piece.rstrip())))
    return out


def _code_part(line: str) -> str:
    """`line` without its trailing comment (a '#' outside strings)."""
    import io
    import tokenize

    try:
        for token in tokenize.generate_tokens(io.StringIO(line + "\n").readline):
            if token.type == tokenize.COMMENT:
                return line[:token.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):
        return line
    return line


def split_line_at(line: str, column: int, limit: int, newline: str, reserve: int = 0) -> tuple[str, int] | None:
    """`line` (one whole line of code, without comment) laid out as a fix would lay it out,
    so that what starts at `column` (0-based: a call or a constant) begins a row with
    `reserve` characters to spare; with that row's index in the new text. None when no such
    layout keeps every row within `limit`.

    For `check --add-noqa`: black moves a comment that makes its line too long to the
    call's last line, away from the line gradlint reads it on."""
    indent = _BLANKS.match(line).group()  # type: ignore[union-attr]
    if "\f" in indent or _code_part(line) != line:
        return None
    code = line[len(indent):]
    tree = _parsed(code)
    if tree is None:
        return None
    snippet = SourceText(code)
    order = list(ast.walk(tree))
    found = next((i for i, n in enumerate(order) if isinstance(n, (ast.Call, ast.Constant))
                  and snippet.start(n) == column - len(indent)), None)
    if found is None:
        return None
    brackets = _brackets(tree, snippet, len(indent))
    own = None
    if isinstance(order[found], ast.Call):
        opening = _call_opening(line, len(indent) + snippet.end(order[found].func))  # type: ignore[attr-defined]
        own = next((i for i, b in enumerate(brackets) if b.open == opening), None)
    for index in (_innermost(brackets, column, column + 1), own):
        if index is None:
            continue
        new = _split_row(line, (0, len(line)), index, brackets, newline)
        new_tree = None if new is None else _parsed(new[len(indent):])
        if new is None or new_tree is None or ast.dump(new_tree) != ast.dump(tree):
            continue
        row = list(ast.walk(new_tree))[found].lineno - 1  # type: ignore[attr-defined]
        rows = list(_rows(new))
        if all(end - start <= limit for start, end in rows) and rows[row][1] - rows[row][0] + reserve <= limit:
            return new, row
    return None


def _parsed(code: str) -> ast.Module | None:
    try:
        with _quiet_warnings():
            return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
