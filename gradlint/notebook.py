"""Jupyter notebooks: the code cells as one virtual module, findings mapped back to cells, and
fixes written into the cells' `source` without changing any other byte of the file.

The code cells are joined in order, so a model built in one cell and compiled in a later one is
one model, as it is in the kernel. A comment line separates two cells; it lets fixed text be
split back into cells whatever the fixes did to line counts. IPython syntax cannot be parsed:
each `%magic`, `!shell` or automagic line (with its backslash continuations) is replaced by a
`pass` placeholder with a unique comment for the analysis, and a trailing `obj?` keeps its
statement and trades the `?` for that comment, so every column stays where it was; the
original text is put back before anything is written.

The notebook is a `sources.VirtualSource` to the engine: the virtual module, its parse units
(one per cell) and its position map. Nothing here imports the engine.

Everything here is linear in the size of the notebook: the unique comment is found in one pass
over the cells and has a bounded length, and the original lines are put back in one pass.
"""

from __future__ import annotations

import ast
import copy
import itertools
import json
import re
import warnings
from bisect import bisect_right
from dataclasses import dataclass, replace
from typing import Any

from gradlint.diagnostics import Diagnostic, Edit, Fix, Position
from gradlint.jsonspans import JsonSpanError, Node, scan, string_offsets
from gradlint.nbsource import serialize_source
from gradlint.sources import ParseUnit, SourceError

NOTEBOOK_SUFFIX = ".ipynb"
# Cell magics whose body is Python run in the kernel: the `%%` line is masked, the body checked.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3"})
# Cell magics whose body is another language (or a file's content): never checked. The body
# of any other cell magic (`%%backend tensorflow`, a project's own) is checked when it parses.
OTHER_CELL_MAGICS = frozenset({
    "bash", "sh", "script", "writefile", "file", "html", "javascript", "js", "latex", "markdown",
    "perl", "ruby", "svg", "sx", "system", "python2", "pypy", "sql", "R", "octave", "julia",
    "cython", "bigquery", "kql", "sparql", "dot",
})
# IPython's line magics and its default shell aliases: with automagic on (the default), a line
# that starts with one of these runs it, `%` or not (`pip install transformers`, `cd data`).
LINE_MAGICS = frozenset({
    "alias", "alias_magic", "autoawait", "autocall", "automagic", "autosave", "bookmark", "cat",
    "cd", "clear", "colors", "conda", "config", "cp", "cpaste", "dhist", "dirs", "doctest_mode",
    "ed", "edit", "env", "gui", "hist", "history", "killbgscripts", "ldir", "less", "lf", "lk",
    "ll", "load", "load_ext", "loadpy", "logoff", "logon", "logstart", "logstate", "logstop",
    "ls", "lsmagic", "lx", "macro", "magic", "man", "mamba", "matplotlib", "micromamba",
    "mkdir", "more", "mv", "notebook", "page", "pastebin", "pdb", "pdef", "pdoc", "pfile",
    "pinfo", "pinfo2", "pip", "popd", "pprint", "precision", "prun", "psearch", "psource",
    "pushd", "pwd", "pycat", "pylab", "qtconsole", "quickref", "recall", "rehashx",
    "reload_ext", "rep", "rerun", "reset", "reset_selective", "rm", "rmdir", "run", "save",
    "sc", "set_env", "store", "sx", "system", "tb", "tensorboard", "time", "timeit", "unalias",
    "unload_ext", "who", "who_ls", "whos", "xdel", "xmode",
})
_NEWLINE = re.compile(r"\r\n|\r|\n")
_HELP = re.compile(r"[\w.*\[\]]+\?{1,2}")  # `model.fit?`, `np.*load*??`
_ASSIGNED_MAGIC = re.compile(r"[\w.,\[\]()*'\" ]+?(?<![=!<>])=\s*[%!](?!=)")  # `files = !ls`
_FIRST_WORD = re.compile(r"[A-Za-z_]\w*")
# What follows a name that makes the line Python, never a magic: assignment, call, attribute,
# subscript, tuple, annotation (IPython's own checks before automagic).
_PYTHON_AFTER_NAME = re.compile(r"\s*(?:=(?!=)|[(.\[,:;]|$)")
_SHELL_FLAG = re.compile(r"\s+--?[A-Za-z]")  # `ls -la`, `pip -q install`: an option, not `a - b`
_HELP_AT_END = re.compile(r"(?P<head>.*;\s*)(?P<name>[A-Za-z_*][\w.*\[\]]*)(?P<marks>\?{1,2})\s*")
_LINE_REFERENCE = re.compile(r"\bline (\d+)\b")
_PYTHON_LANGUAGES = {"python", "python2", "python3", "ipython", "ipython3"}
# The mark of the placeholders that stand for IPython lines, and of the cell separator.
TAG = "gradlint:ipython"
_NUMBERED_TAG = re.compile(re.escape(TAG) + r"~(\d+)~")


class NotebookError(SourceError):
    """Not a notebook gradlint can read (bad JSON, not nbformat 4), or one it cannot write."""


@dataclass(frozen=True)
class Cell:
    index: int  # 1-based position in the notebook, counting every cell
    cell_type: str
    source: str


@dataclass(frozen=True)
class Notebook:
    text: str  # the file's JSON text, as read
    data: dict[str, Any]
    cells: tuple[Cell, ...]

    @property
    def language(self) -> str | None:
        metadata = self.data.get("metadata")
        if not isinstance(metadata, dict):
            return None
        for key, field in (("kernelspec", "language"), ("language_info", "name")):
            value = metadata.get(key)
            if isinstance(value, dict) and isinstance(value.get(field), str):
                return value[field]
        return None

    @property
    def is_python(self) -> bool:
        """A notebook of another kernel (R, Julia, …) has nothing for gradlint."""
        language = self.language
        return language is None or language.lower() in _PYTHON_LANGUAGES


def parse_notebook(text: str) -> Notebook:
    """The notebook in `text`, or NotebookError naming what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not a valid notebook: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                            exc.lineno, exc.colno) from None
    except RecursionError:
        raise NotebookError("not a valid notebook: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise NotebookError("not a valid notebook: the top level is not a JSON object")
    if "nbformat" not in data:
        raise NotebookError("not a Jupyter notebook: no 'nbformat' key")
    if data["nbformat"] != 4:
        raise NotebookError(
            f"nbformat {data['nbformat']!r} is not supported, only nbformat 4 "
            "(convert with 'jupyter nbconvert --to notebook --nbformat 4')"
        )
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list):
        raise NotebookError("not a valid notebook: 'cells' is missing or not a list")
    cells = []
    for position, raw in enumerate(raw_cells, start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("cell_type"), str):
            raise NotebookError(f"not a valid notebook: cell {position} has no 'cell_type'")
        source = raw.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        elif not isinstance(source, str):
            raise NotebookError(f"not a valid notebook: cell {position}: 'source' must be a string or a list of strings")
        cells.append(Cell(position, raw["cell_type"], source))
    return Notebook(text, data, tuple(cells))


# --- IPython syntax -------------------------------------------------------------------------

def _is_ipython_line(stripped: str) -> bool:
    """IPython syntax at the start of a statement: magics, shell escapes, help, automagic."""
    return (stripped.startswith(("%", "!", "?"))
            or _HELP.fullmatch(stripped.rstrip()) is not None
            or _ASSIGNED_MAGIC.match(stripped) is not None
            or _is_automagic(stripped))


def _is_automagic(stripped: str) -> bool:
    """A line magic written without its `%` (`pip install transformers`, `ls -la`), as IPython
    runs it with automagic on. Python that starts with such a name (`pip = 3`, `cd(x)`,
    `time.sleep(1)`, `ls - la`) is left alone: only a line that is not Python, or a name
    followed by a shell option, is a magic."""
    word = _FIRST_WORD.match(stripped)
    if word is None or word.group() not in LINE_MAGICS:
        return False
    rest = stripped[word.end():]
    if _PYTHON_AFTER_NAME.match(rest) or _opens_a_bracket(stripped):
        return False  # IPython runs automagic on one line only: an open bracket is Python's
    if _SHELL_FLAG.match(rest):
        return True
    return not _parses(stripped.rstrip().removesuffix("\\"))


def _opens_a_bracket(line: str) -> bool:
    scanner = _Scanner()
    scanner.feed(line)
    return scanner.depth > 0 or scanner.quote is not None


def _parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _help_at_end(body: str, scanner: _Scanner) -> re.Match[str] | None:
    """`x; obj?`: a help request after a statement that ends on this line (`scanner` is the
    state before it: the statement may have begun on an earlier line)."""
    if not body.rstrip().endswith("?"):
        return None
    match = _HELP_AT_END.fullmatch(body)
    if match is None:
        return None
    after_head = copy.copy(scanner)
    after_head.feed(match.group("head"))
    return match if after_head.at_statement_start else None


class _Scanner:
    """Just enough of Python's tokenizer to know whether a line starts a statement: open
    brackets, open strings (triple-quoted ones span lines) and backslash continuations."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        content_end = len(line.rstrip("\r\n"))
        self.continued = False
        while i < n:
            char = line[i]
            if self.quote is not None:
                if char == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            if char == "#":
                break
            if char in "\"'":
                triple = line[i:i + 3]
                self.quote = triple if triple in ('"""', "'''") else char
                i += len(self.quote)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\" and i + 1 >= content_end:
                self.continued = True
            i += 1
        if self.quote is not None and len(self.quote) == 1 and not self.continued:
            self.quote = None  # an unterminated one-line string: a syntax error, not our business


@dataclass(frozen=True)
class MaskedCell:
    """A code cell as it appears in the virtual module."""

    index: int
    text: str  # source with IPython lines masked, ending with a line break
    masks: tuple[tuple[str, str], ...]  # (placeholder, original line) without line endings
    added_newline: bool  # the source had no final line break; one was added for joining


def _split_lines(text: str) -> list[str]:
    """Lines with their endings, split on \\n, \\r\\n and \\r only (as Python's parser does)."""
    lines, start = [], 0
    for match in _NEWLINE.finditer(text):
        lines.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def _cell_magic(lines: list[str]) -> str | None:
    """The name of the cell magic on the first line (`%%time` → "time"), or None."""
    first = lines[0].strip() if lines else ""
    if not first.startswith("%%"):
        return None
    return first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""


def mask_cell(cell: Cell, tag: str) -> MaskedCell | None:
    """The cell ready for the parser, or None for a cell that is not Python (`%%bash`, …)."""
    lines = _split_lines(cell.source)
    magic = _cell_magic(lines)
    if magic is not None and magic in OTHER_CELL_MAGICS:
        return None
    scanner = _Scanner()
    masks: list[tuple[str, str]] = []
    out: list[str] = []
    continued_indent: str | None = None  # the indentation of a masked line that ends with `\`
    for line in lines:
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        stripped = body.lstrip()
        if continued_indent is not None or (scanner.at_statement_start and stripped and _is_ipython_line(stripped)):
            indent = body[:len(body) - len(stripped)] if continued_indent is None else continued_indent
            placeholder = f"{indent}pass  # {tag}:{len(masks)}"
            masks.append((placeholder, body))
            out.append(placeholder + ending)
            continued_indent = indent if body.endswith("\\") else None
            continue
        help_request = _help_at_end(body, scanner)
        if help_request is not None:
            body = body[:help_request.end("name")]
            line = f"{body}  # {tag}:{help_request.group('marks')}{help_request.string[help_request.end('marks'):]}{ending}"
        scanner.feed(body)
        out.append(line)
    text = "".join(out)
    if magic is not None and magic not in PYTHON_CELL_MAGICS and not _parses(text):
        return None  # an unknown cell magic whose body is not Python
    added = bool(text) and not text.endswith(("\n", "\r"))
    return MaskedCell(cell.index, text + ("\n" if added else ""), tuple(masks), added)


# --- the virtual module ---------------------------------------------------------------------

@dataclass(frozen=True)
class VirtualModule:
    text: str
    separator: str  # the comment line (with its line break) between two cells
    cells: tuple[MaskedCell, ...]
    tag: str = TAG  # the mark of every placeholder (and of the separator): in no cell's source

    def layout(self, text: str | None = None) -> CellLayout:
        """Which rows of `text` (default: this module's; or a fixed version of it) are which cells'."""
        text = self.text if text is None else text
        pieces = text.split(self.separator)
        if len(pieces) != len(self.cells):
            raise NotebookError("a fix crossed the boundary between two cells; notebook left unchanged")
        starts, row = [], 1
        for piece in pieces:
            starts.append(row)
            row += len(_NEWLINE.findall(piece)) + 1  # the piece's lines, then the separator
        return CellLayout(tuple(c.index for c in self.cells), tuple(starts))

    def units(self, text: str | None = None) -> tuple[ParseUnit, ...]:
        """The rows of each cell in `text` (default: this module's; or a fixed version of
        it), each cell a unit that must parse on its own."""
        text = self.text if text is None else text
        pieces = text.split(self.separator)
        if len(pieces) != len(self.cells):
            raise NotebookError("a fix crossed the boundary between two cells; notebook left unchanged")
        units, row = [], 1
        for piece in pieces:
            lines = len(_NEWLINE.findall(piece))
            units.append(ParseUnit(row, row + lines))
            row += lines + 1
        return tuple(units)

    def split(self, text: str) -> dict[int, str]:
        """The source of each cell in a fixed version of the module, IPython lines restored."""
        pieces = text.split(self.separator)
        if len(pieces) != len(self.cells):
            raise NotebookError("a fix crossed the boundary between two cells; notebook left unchanged")
        sources = {}
        marker = _placeholder_marker(self.tag)
        help_marker = re.compile(re.escape(f"  # {self.tag}:") + r"(\?\??)")
        for cell, piece in zip(self.cells, pieces):
            piece = help_marker.sub(r"\1", _restore_ipython_lines(piece, cell, marker))
            if cell.added_newline and piece.endswith("\n"):
                piece = piece[:-1]
            sources[cell.index] = piece
        return sources


@dataclass(frozen=True)
class CellLayout:
    cells: tuple[int, ...]  # cell index of each piece
    starts: tuple[int, ...]  # first virtual row of each piece

    def locate(self, position: Position) -> tuple[int, Position]:
        """Virtual position → (cell index, position within the cell)."""
        k = max(bisect_right(self.starts, position.row) - 1, 0)
        return self.cells[k], Position(position.row - self.starts[k] + 1, position.column)

    def row_of(self, row: int) -> tuple[int, int]:
        cell, position = self.locate(Position(row, 1))
        return cell, position.row


def _placeholder_marker(tag: str) -> re.Pattern[str]:
    """Where a placeholder made with `tag` ends, and which mask it stands for."""
    return re.compile(re.escape(f"pass  # {tag}:") + r"(\d+)(?!\d)")


def _restore_ipython_lines(piece: str, cell: MaskedCell, marker: re.Pattern[str]) -> str:
    """The piece with each placeholder replaced by its IPython line, in one pass; an error if
    a fix removed, copied or changed any placeholder."""
    found = list(marker.finditer(piece))
    if sorted(int(m.group(1)) for m in found) != list(range(len(cell.masks))):
        raise NotebookError(f"a fix changed an IPython line in cell {cell.index}; notebook left unchanged")
    out, position = [], 0
    for match in found:
        placeholder, original = cell.masks[int(match.group(1))]
        start = match.end() - len(placeholder)
        if (start < position or piece[start:match.end()] != placeholder
                or piece[match.end():match.end() + 1] not in ("", "\r", "\n")):
            raise NotebookError(f"a fix changed an IPython line in cell {cell.index}; notebook left unchanged")
        out += [piece[position:start], original]
        position = match.end()
    out.append(piece[position:])
    return "".join(out)


def unique_tag(sources: str) -> str:
    """A mark that occurs nowhere in `sources`: TAG, or else `TAG~N~` with the smallest N
    that is not taken. One pass over the sources, and a mark of bounded length, however
    many near-misses a hostile notebook holds."""
    if TAG not in sources:
        return TAG
    taken = {m.group(1) for m in _NUMBERED_TAG.finditer(sources)}
    number = next(n for n in itertools.count(1) if str(n) not in taken)
    return f"{TAG}~{number}~"


def build_virtual_module(notebook: Notebook) -> VirtualModule:
    code = [c for c in notebook.cells if c.cell_type == "code"]
    tag = unique_tag("\0".join(c.source for c in code))
    separator = f"# {tag}:cell-boundary\n"
    masked = tuple(m for m in (mask_cell(c, tag) for c in code) if m is not None)
    return VirtualModule(separator.join(m.text for m in masked), separator, masked, tag)


# --- positions in the file ------------------------------------------------------------------

@dataclass(frozen=True)
class _CellTokens:
    """A cell's `source` as the JSON string tokens that hold it, decoded once."""

    tokens: tuple[Node, ...]
    part_starts: tuple[int, ...]  # where each token's decoded text starts in the joined source
    line_starts: tuple[int, ...]  # where each line of the joined source starts
    length: int  # of the joined source


class JsonLocator:
    """Position within a cell → line and column in the notebook's JSON text, where a CI
    annotation on the .ipynb file has to point.

    Each cell is decoded once and each string token's character offsets are computed once,
    however many findings the cell has."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cells = scan(text).get("cells")
        self.line_starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
        self._cell_tokens: dict[int, _CellTokens] = {}
        self._raw_offsets: dict[int, list[int]] = {}  # token start → string_offsets of the token

    def position(self, cell: int, where: Position) -> Position | None:
        node = self._source(cell)
        if node is None:
            return None
        tokens = self._tokens(cell, node)
        if not tokens.tokens:
            return self._file_position(node.start)
        starts = tokens.line_starts
        offset = min(starts[min(where.row, len(starts)) - 1] + where.column - 1, tokens.length)
        k = len(tokens.tokens) - 1 if offset >= tokens.length else bisect_right(tokens.part_starts, offset) - 1
        token = tokens.tokens[k]
        raw = self._offsets_in(token)
        return self._file_position(token.start + raw[min(offset - tokens.part_starts[k], len(raw) - 1)])

    def _tokens(self, cell: int, node: Node) -> _CellTokens:
        cached = self._cell_tokens.get(cell)
        if cached is None:
            tokens = (node,) if node.kind == "string" else tuple(node.items)
            decoded = [json.loads(self.text[t.start:t.end]) for t in tokens]
            part_starts, total = [], 0
            for part in decoded:
                part_starts.append(total)
                total += len(part)
            source = "".join(decoded)
            line_starts = (0, *(m.end() for m in _NEWLINE.finditer(source)))
            cached = self._cell_tokens[cell] = _CellTokens(tokens, tuple(part_starts), line_starts, total)
        return cached

    def _offsets_in(self, token: Node) -> list[int]:
        offsets = self._raw_offsets.get(token.start)
        if offsets is None:
            offsets = self._raw_offsets[token.start] = string_offsets(self.text[token.start:token.end])
        return offsets

    def _source(self, cell: int) -> Node | None:
        if self.cells is None or not 0 < cell <= len(self.cells.items):
            return None
        node = self.cells.items[cell - 1].get("source")
        return node if node is not None and node.kind in ("string", "array") else None

    def _file_position(self, offset: int) -> Position:
        index = bisect_right(self.line_starts, offset) - 1
        return Position(index + 1, offset - self.line_starts[index] + 1)


def map_diagnostic(d: Diagnostic, layout: CellLayout, locator: JsonLocator | None) -> Diagnostic:
    """A finding on the virtual module → the same finding on its cell (row within the cell,
    edits within the cell, "line N" in the message naming the cell)."""
    cell, start = layout.locate(d.location)
    end_cell, end = layout.locate(d.end_location)
    if end_cell != cell:
        end = start
    fix = d.fix
    if fix is not None:
        fix = Fix(fix.message, tuple(_map_edit(e, layout) for e in fix.edits), fix.applicability)
    extra = dict(d.extra)
    if locator is not None:
        json_start, json_end = locator.position(cell, start), locator.position(cell, end)
        if json_start is not None and json_end is not None:
            extra["json_location"] = [json_start.row, json_start.column]
            extra["json_end_location"] = [json_end.row, json_end.column]

    def name_line(match: re.Match[str]) -> str:
        other, row = layout.row_of(int(match.group(1)))
        return f"line {row}" if other == cell else f"cell {other}, line {row}"

    return replace(d, location=start, end_location=end, cell=cell, fix=fix,
                   message=_LINE_REFERENCE.sub(name_line, d.message), extra=extra)


def _map_edit(edit: Edit, layout: CellLayout) -> Edit:
    _, start = layout.locate(edit.location)
    _, end = layout.locate(edit.end_location)
    return Edit(edit.content, start, end)


# --- writing back ---------------------------------------------------------------------------

def write_sources(notebook: Notebook, sources: dict[int, str]) -> str:
    """The notebook's JSON text with the `source` of the given cells replaced, in the style
    the file already uses; every other byte stays as it was."""
    changed = {i: s for i, s in sources.items() if s != notebook.cells[i - 1].source}
    if not changed:
        return notebook.text
    text = notebook.text
    try:
        cells = scan(text).get("cells")
    except JsonSpanError as exc:
        raise NotebookError(f"cannot locate the cells in the JSON text ({exc}); notebook left unchanged") from None
    assert cells is not None
    expected = json.loads(text)
    splices = []
    for index, source in changed.items():
        node = cells.items[index - 1].get("source")
        if node is None:
            raise NotebookError(f"cell {index} has no 'source' to write; notebook left unchanged")
        value = serialize_source(text, node, source)
        splices.append((node.start, node.end, value))
        expected["cells"][index - 1]["source"] = json.loads(value)
    pieces, position = [], 0
    for start, end, value in sorted(splices):
        pieces += [text[position:start], value]
        position = end
    text = "".join([*pieces, text[position:]])
    if json.loads(text) != expected:  # never write a notebook that says anything else
        raise NotebookError("internal error: the rewritten notebook does not match; notebook left unchanged")
    return text


def changed_cells(old_text: str, new_text: str) -> list[tuple[int, str, str]]:
    """(cell index, old source, new source) of each cell whose source differs."""
    old, new = parse_notebook(old_text), parse_notebook(new_text)
    return [(a.index, a.source, b.source) for a, b in zip(old.cells, new.cells) if a.source != b.source]


# --- the notebook as the engine reads it -----------------------------------------------------

@dataclass(frozen=True)
class NotebookSource:
    """A notebook as a `sources.VirtualSource`: its virtual module, the cells as parse units,
    the cell/row map, and the JSON text for fixed cells."""

    notebook: Notebook
    virtual: VirtualModule

    @property
    def module(self) -> str:
        return self.virtual.text

    def units(self, module: str) -> tuple[ParseUnit, ...]:
        return self.virtual.units(module)

    def locate(self, diagnostics: list[Diagnostic], module: str, file_text: str) -> list[Diagnostic]:
        if not diagnostics:
            return []
        layout = self.virtual.layout(module)
        try:
            locator: JsonLocator | None = JsonLocator(file_text)
        except JsonSpanError:  # json.loads accepted what the span scanner did not: no file positions
            locator = None
        return [map_diagnostic(d, layout, locator) for d in diagnostics]

    def rebuild(self, module: str) -> str:
        return write_sources(self.notebook, self.virtual.split(module))


def load_notebook(text: str) -> NotebookSource | None:
    """The notebook in `text` as a source, None when it has no Python to check (no code
    cells, or another kernel's language); NotebookError when it is not a notebook."""
    notebook = parse_notebook(text)
    virtual = build_virtual_module(notebook)
    if not notebook.is_python or not virtual.cells:
        return None
    return NotebookSource(notebook, virtual)
