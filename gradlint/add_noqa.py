"""`gradlint check --add-noqa`: a `# noqa: CODE` on the line of every current finding.

The comment goes on the line gradlint reports (a call's first line), where `noqa.py` looks
for it and where black leaves a comment after an opening bracket in place. Codes join an
existing `# noqa: …` list; other comments stay first (`# type: ignore` must lead its comment
for mypy) and a `# fmt: skip` stays last. A line that ends inside a multi-line string or with
a `\\` continuation cannot take a comment: its findings are skipped, and said to be.

Bytes outside the added text never change: a .py file is spliced and written through
`files.write_atomic`; a notebook's cell sources go through the notebook writer.
"""

from __future__ import annotations

import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gradlint.diagnostics import Diagnostic
from gradlint.files import Part, SourceFile
from gradlint.noqa import merged_noqa, suppressed_codes

_NEWLINE = re.compile(r"\r\n|\r|\n")
_FMT_SKIP = re.compile(r"#\s*fmt:\s*skip\s*$")
# Findings about the file itself (it could not be read or parsed): no comment suppresses them.
UNSUPPRESSIBLE = ("GL001", "GL002")


@dataclass(frozen=True)
class Skipped:
    """A finding whose line cannot take a comment."""

    diagnostic: Diagnostic
    reason: str


@dataclass(frozen=True)
class NoqaText:
    """A source with its noqa comments added."""

    text: str
    parts: tuple[Part, ...]  # ranges kept from the original, and the added text (files.fixed_bytes)
    added: int  # lines that got a comment or more codes
    skipped: tuple[Skipped, ...] = ()


@dataclass
class _Lines:
    """What tokenizing says about each row: where its comment starts, or why none can go there."""

    bodies: list[str]  # each line without its ending
    starts: list[int]  # offset of each line in the text
    comments: dict[int, int] = field(default_factory=dict)  # row → column of its comment
    blocked: dict[int, str] = field(default_factory=dict)  # row → why no comment can end it


def _lines(text: str) -> _Lines:
    bodies, starts, position = [], [], 0
    for match in _NEWLINE.finditer(text):
        bodies.append(text[position:match.start()])
        starts.append(position)
        position = match.end()
    if position < len(text) or not bodies:
        bodies.append(text[position:])
        starts.append(position)
    lines = _Lines(bodies, starts)
    _read_tokens(lines)
    return lines


def _read_tokens(lines: _Lines) -> None:
    """Fill in comments and blocked rows. Tokenizing stops at what it cannot read (a cell
    being written); rows past that point are blocked, never guessed."""
    feed = iter(body + "\n" for body in lines.bodies)  # one ending for all: rows and columns stay
    string_start: list[int] = []  # rows where open f-strings began (Python 3.12 tokens)
    last_row = 0
    try:
        for token in tokenize.generate_tokens(lambda: next(feed, "")):
            (row, column), (end_row, _) = token.start, token.end
            last_row = max(last_row, end_row)
            kind = tokenize.tok_name.get(token.type, "")
            if token.type == tokenize.COMMENT:
                lines.comments[row] = column
            elif kind == "FSTRING_START":
                string_start.append(row)
            elif kind == "FSTRING_END" and string_start:
                _block_string(lines, string_start.pop(), end_row)
            elif token.type == tokenize.STRING:
                _block_string(lines, row, end_row)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        for row in range(last_row + 1, len(lines.bodies) + 1):
            lines.blocked.setdefault(row, "it could not be tokenized")
    for row, body in enumerate(lines.bodies, start=1):
        if row not in lines.comments and body.endswith("\\") and row not in lines.blocked:
            lines.blocked[row] = "it ends with a line continuation (\\)"


def _block_string(lines: _Lines, start_row: int, end_row: int) -> None:
    for row in range(start_row, end_row):
        lines.blocked[row] = "it ends inside a multi-line string"


def add_noqa(text: str, diagnostics: Iterable[Diagnostic], line_length: int | None = None) -> NoqaText:
    """`text` with `# noqa: CODES` on the row of each finding (rows as the findings give
    them: a file's, or a notebook cell's).

    With `line_length`, a line the comment would make too long is laid out first, as fixes
    lay out lines, so that the finding starts a line with room for it: black would
    otherwise move the comment to the statement's last line."""
    wanted: dict[int, list[Diagnostic]] = {}
    for d in diagnostics:
        if d.code not in UNSUPPRESSIBLE:
            wanted.setdefault(d.location.row, []).append(d)
    if not wanted:
        return NoqaText(text, ((0, len(text)),) if text else (), 0)
    lines = _lines(text)
    parts: list[Part] = []
    skipped: list[Skipped] = []
    cursor, added = 0, 0
    for row in sorted(wanted):
        found = wanted[row]
        reason = lines.blocked.get(row) if row <= len(lines.bodies) else "it is past the end of the source"
        if reason is not None:
            skipped.extend(Skipped(d, reason) for d in found)
            continue
        body = lines.bodies[row - 1]
        edit = _row_edit(body, lines.comments.get(row), [d.code for d in found])
        if edit is None:
            continue
        column, content = edit
        start = lines.starts[row - 1]
        laid_out = None
        if line_length is not None and len(body) + len(content) > line_length and "fmt:" not in body[column:]:
            code = body[:lines.comments[row]].rstrip() if row in lines.comments else body
            comment = (body[:column] + content + body[column:])[len(code):].strip()
            laid_out = _laid_out_with_comment(text, start, body, code, found, comment, line_length)
        if laid_out is not None:
            parts += [(cursor, start), laid_out]
            cursor = start + len(body)
        else:
            at = start + column
            parts += [(cursor, at), content]
            cursor = at
        added += 1
    parts.append((cursor, len(text)))
    kept = tuple(p for p in parts if isinstance(p, str) or p[0] < p[1])
    new_text = "".join(p if isinstance(p, str) else text[p[0]:p[1]] for p in kept)
    return NoqaText(new_text, kept, added, tuple(skipped))


def _laid_out_with_comment(text: str, start: int, body: str, code: str, found: list[Diagnostic], comment: str,
                           line_length: int) -> str | None:
    """The line `body` (`code`, then its comment if it has one) laid out with `comment` (its
    comment with the noqa codes) on the row where its finding now starts; None when that
    cannot be done (findings at several places on the line, or no layout that fits)."""
    from gradlint.edits import split_line_at

    columns = {d.location.column for d in found}
    if len(columns) != 1:
        return None
    ending = _NEWLINE.match(text, start + len(body))
    newline = ending.group() if ending else ("\r\n" if "\r\n" in text else "\n")
    split = split_line_at(code, columns.pop() - 1, line_length, newline, reserve=len(comment) + 2)
    if split is None:
        return None
    new, row = split
    rows = new.split(newline)
    rows[row] = f"{rows[row]}  {comment}"
    return newline.join(rows)


def _row_edit(body: str, comment: int | None, codes: Sequence[str]) -> tuple[int, str] | None:
    """(column, text to insert there) that makes `body` suppress `codes`; None when it
    already does."""
    comment_text = body[comment:] if comment is not None else ""
    present = suppressed_codes(comment_text) if comment_text else None
    missing = sorted({c for c in codes if present is None or ("*" not in present and c not in present)})
    if not missing:
        return None
    if comment is not None and present is not None:
        merged = merged_noqa(comment_text, missing)
        if merged is not None:
            column, content = merged
            return comment + column, content
    directive = f"# noqa: {', '.join(missing)}"
    if comment is not None:
        skip = _FMT_SKIP.search(comment_text)
        if skip is not None:  # `# fmt: skip` is read at the end of the line by older black
            return comment + skip.start(), f"{directive}  "
    code_end = len(body.rstrip(" \t\f"))
    return code_end, f"  {directive}"


# -- files -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class NoqaResult:
    """What adding noqa comments to one file gave: the bytes to write (None: nothing to do)."""

    source: SourceFile
    data: bytes | None
    added: int
    skipped: tuple[Skipped, ...]


def add_noqa_to_file(source: SourceFile, diagnostics: list[Diagnostic], line_length: int | None = None) -> NoqaResult:
    """The bytes of `source` with noqa comments for `diagnostics`; raises WriteRefused
    (files.py) when they cannot be written without changing other bytes."""
    from gradlint.files import fixed_bytes

    if source.path.suffix == ".ipynb":
        return _add_noqa_to_notebook(source, diagnostics, line_length)
    result = add_noqa(source.text, diagnostics, line_length)
    data = fixed_bytes(source, result.text, result.parts) if result.added else None
    return NoqaResult(source, data, result.added, result.skipped)


def _add_noqa_to_notebook(source: SourceFile, diagnostics: list[Diagnostic], line_length: int | None) -> NoqaResult:
    """Each cell's findings get their comments in that cell's source; the notebook writer
    puts the sources back, keeping every other byte of the JSON."""
    from gradlint.files import fixed_bytes
    from gradlint.notebook import parse_notebook, write_sources

    notebook = parse_notebook(source.text)
    by_cell: dict[int, list[Diagnostic]] = {}
    for d in diagnostics:
        if d.cell is not None:
            by_cell.setdefault(d.cell, []).append(d)
    sources: dict[int, str] = {}
    added, skipped = 0, list[Skipped]()
    for index, found in sorted(by_cell.items()):
        result = add_noqa(notebook.cells[index - 1].source, found, line_length)
        added += result.added
        skipped.extend(result.skipped)
        if result.added:
            sources[index] = result.text
    data = fixed_bytes(source, write_sources(notebook, sources)) if sources else None
    return NoqaResult(source, data, added, tuple(skipped))

