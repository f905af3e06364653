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


def severity_mark(d: Diagnostic) -> str:
    """`error: ` before the message of a finding predicted (or measured) to break training at
    initialization; warnings, and GL0xx (what gradlint could not check), carry none."""
    return "error: " if d.severity == "error" and not d.code.startswith("GL0") else ""


def render_line(d: Diagnostic, color: bool = False, message: str | None = None, severity: bool = True,
                unsafe_fixes: bool = False) -> str:
    """The finding's line; `message` is its message as the format wants it (by default made
    one line); `severity`: with the error marker (formats that carry severity of their own
    leave it out)."""
    mark = " [*]" if d.fixable_with(unsafe_fixes) else ""  # as ruff: only a fix `fix --write` applies
    message = line_safe(d.message) if message is None else message
    level = severity_mark(d) if severity else ""
    if color:
        return (
            f"{click.style(location_text(d), bold=True)}: "
            f"{click.style(d.code, fg='red', bold=True)}{click.style(mark, fg='cyan')} "
            f"{click.style(level, fg='red', bold=True)}{message}"
        )
    return f"{location_text(d)}: {d.code}{mark} {level}{message}"


def render_lines(diagnostics: Sequence[Diagnostic], color: bool = False, unsafe_fixes: bool = False) -> str:
    return "".join(render_line(d, color, unsafe_fixes=unsafe_fixes) + "\n" for d in diagnostics)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check_summary(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """`Found 3 problems (2 fixable with 'gradlint fix --write').`, and as ruff does, how many
    unsafe fixes --unsafe-fixes would add: `Found 3 problems (1 fixable with 'gradlint fix
    --write'; 1 hidden fix can be enabled with the '--unsafe-fixes' option).`"""
    fixable = sum(1 for d in diagnostics if d.fixable_with(unsafe_fixes))
    hidden = 0 if unsafe_fixes else hidden_fixes(diagnostics)
    command = "gradlint fix --write --unsafe-fixes" if unsafe_fixes and any(d.hidden_fix for d in diagnostics) \
        else "gradlint fix --write"
    notes = [f"{fixable} fixable with '{command}'"] if fixable else []
    if hidden:
        notes.append(hidden_fixes_note(hidden))
    hint = f" ({'; '.join(notes)})" if notes else ""
    return f"Found {plural(len(diagnostics), 'problem')}{hint}."


def hidden_fixes(diagnostics: Sequence[Diagnostic]) -> int:
    """How many findings have a fix that only --unsafe-fixes applies."""
    return sum(1 for d in diagnostics if d.hidden_fix)


def hidden_fixes_note(count: int) -> str:
    """ruff's words for the unsafe fixes a run held back."""
    return f"{count} hidden {'fix' if count == 1 else 'fixes'} can be enabled with the '--unsafe-fixes' option"
