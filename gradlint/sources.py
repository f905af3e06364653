"""Sources the engine reads as one Python module: a notebook (from disk or a buffer).

A *virtual source* gives the engine four things, and the engine needs nothing else from it:

- `module`: the text of one virtual Python module (a notebook's code cells joined in order,
  IPython syntax masked);
- `units(module)`: its parse units, the row ranges that must parse on their own (a notebook's
  cells), for this module or a fixed version of it;
- `locate(diagnostics, module, file_text)`: its position map, from rows of the module to where
  the user sees them (a cell, and the row within it);
- `rebuild(module)`: the file's text for a fixed module.

The engine parses each unit, drops those that fail (one GL001 each, at its row within the
unit) and analyses the others as one module, as if the dropped units were absent: a half-written
cell hides nothing in the other cells. Dropping a unit blanks its lines, so every other row and
column is where it was, and fixing puts the dropped lines back exactly as they were.

This module knows nothing of the engine or of notebooks: both import it, so neither imports
the other.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gradlint.diagnostics import Diagnostic

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class SourceError(Exception):
    """A file that cannot be read as its kind of source, or a fix that cannot be written into
    it; `row` and `column` say where in the file, when known."""

    def __init__(self, message: str, row: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.row, self.column = row, column


@dataclass(frozen=True)
class ParseUnit:
    """Rows `start` to `stop - 1` (1-based) of the module, which parse on their own."""

    start: int
    stop: int


class VirtualSource(Protocol):
    """What the engine reads a notebook (or any file that is not plain Python) through."""

    @property
    def module(self) -> str: ...

    def units(self, module: str) -> Sequence[ParseUnit]: ...

    def locate(self, diagnostics: list[Diagnostic], module: str, file_text: str) -> list[Diagnostic]: ...

    def rebuild(self, module: str) -> str: ...


@dataclass(frozen=True)
class UnitFailure:
    index: int  # which unit
    row: int  # where its syntax error is, in the module's rows
    column: int
    message: str


@dataclass(frozen=True)
class Analysable:
    """The module with every unit that does not parse blanked (its lines emptied, their line
    breaks kept), and why each was dropped."""

    text: str
    failures: tuple[UnitFailure, ...]


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split on \\n, \\r\\n and \\r only (as Python's parser does)."""
    return _LINE.findall(text)


def drop_failing_units(module: str, units: Sequence[ParseUnit]) -> Analysable:
    """Parse each unit on its own; blank the ones that fail."""
    lines = split_lines(module)
    failures = []
    for index, unit in enumerate(units):
        failure = _unit_failure(index, unit, "".join(lines[unit.start - 1:unit.stop - 1]))
        if failure is not None:
            failures.append(failure)
            for row in range(unit.start - 1, min(unit.stop - 1, len(lines))):
                lines[row] = lines[row][len(lines[row].rstrip("\r\n")):]
    return Analysable("".join(lines), tuple(failures))


def _unit_failure(index: int, unit: ParseUnit, text: str) -> UnitFailure | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like are the cell's own
            ast.parse(text)
    except SyntaxError as exc:
        last = max(unit.stop - 1, unit.start)
        row = min(unit.start + max(exc.lineno or 1, 1) - 1, last)
        return UnitFailure(index, row, max(exc.offset or 1, 1), f"SyntaxError: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = "expressions nested too deeply" if isinstance(exc, RecursionError) else str(exc) or type(exc).__name__
        return UnitFailure(index, unit.start, 1, f"cannot be parsed: {reason}")
    return None


def restore_units(fixed: str, fixed_units: Sequence[ParseUnit], original: str,
                  original_units: Sequence[ParseUnit], failures: Sequence[UnitFailure]) -> str:
    """`fixed` (made from the blanked module) with each dropped unit's lines put back as they
    were; a SourceError when a fix reached into one."""
    if len(fixed_units) != len(original_units):
        raise SourceError("a fix changed where the cells begin and end; left unchanged")
    lines, old_lines = split_lines(fixed), split_lines(original)
    for failure in sorted(failures, key=lambda f: -f.index):
        new, old = fixed_units[failure.index], original_units[failure.index]
        blank = lines[new.start - 1:new.stop - 1]
        if len(blank) != old.stop - old.start or any(line.strip("\r\n") for line in blank):
            raise SourceError("a fix reached into a cell that does not parse; left unchanged")
        lines[new.start - 1:new.stop - 1] = old_lines[old.start - 1:old.stop - 1]
    return "".join(lines)
