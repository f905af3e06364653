"""Human output, in the shape ruff users read every day: `path:row:col: CODE [*] message`.

One line per finding, whatever the file is called or the message says: control characters
and undecodable bytes are escaped (`gradlint.report.escape.line_safe`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from gradlint.report.escape import line_safe

if TYPE_CHECKING:
    from gradlint.diagnostics import Diagnostic


def location_text(d: Diagnostic) -> str:
    """`path:row:col` (`path:cell N:row:col` in a notebook), the path escaped to one line."""
    filename = line_safe(d.filename)
    where = f"{filename}:cell {d.cell}" if d.cell is not None else filename
    return f"{where}:{d.location.row}:{d.location.column}"


def render_line(d: Diagnostic, color: bool = False, message: str | None = None) -> str:
    """The finding's line; `message` is its message as the format wants it (by default made
    one line)."""
    mark = " [*]" if d.fix is not None else ""
    message = line_safe(d.message) if message is None else message
    if color:
        return (
            f"{click.style(location_text(d), bold=True)}: "
            f"{click.style(d.code, fg='red', bold=True)}{click.style(mark, fg='cyan')} {message}"
        )
    return f"{location_text(d)}: {d.code}{mark} {message}"


def render_lines(diagnostics: Sequence[Diagnostic], color: bool = False) -> str:
    return "".join(render_line(d, color) + "\n" for d in diagnostics)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check_summary(diagnostics: Sequence[Diagnostic]) -> str:
    """`Found 3 problems (2 fixable with 'gradlint fix --write').`"""
    fixable = sum(1 for d in diagnostics if d.fix is not None)
    hint = f" ({fixable} fixable with 'gradlint fix --write')" if fixable else ""
    return f"Found {plural(len(diagnostics), 'problem')}{hint}."
