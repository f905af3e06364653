"""Human output, in the shape ruff users read every day: `path:row:col: CODE [*] message`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gradlint.diagnostics import Diagnostic


def location_text(d: Diagnostic) -> str:
    where = f"{d.filename}:cell {d.cell}" if d.cell is not None else d.filename
    return f"{where}:{d.location.row}:{d.location.column}"


def render_line(d: Diagnostic, color: bool = False) -> str:
    mark = " [*]" if d.fix is not None else ""
    if color:
        return (
            f"{click.style(location_text(d), bold=True)}: "
            f"{click.style(d.code, fg='red', bold=True)}{click.style(mark, fg='cyan')} {d.message}"
        )
    return f"{location_text(d)}: {d.code}{mark} {d.message}"


def render_lines(diagnostics: Sequence[Diagnostic], color: bool = False) -> str:
    return "".join(render_line(d, color) + "\n" for d in diagnostics)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check_summary(diagnostics: Sequence[Diagnostic]) -> str:
    """`Found 3 problems (2 fixable with 'gradlint fix --write').`"""
    fixable = sum(1 for d in diagnostics if d.fix is not None)
    hint = f" ({fixable} fixable with 'gradlint fix --write')" if fixable else ""
    return f"Found {plural(len(diagnostics), 'problem')}{hint}."
