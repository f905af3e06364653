"""Presentation of diagnostics: one module per output format, no analysis here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # at run time only rendered, never built here: a clean run never loads it
    from gradlint.diagnostics import Diagnostic

Renderer = Callable[[Sequence["Diagnostic"]], str]

# text: coloured on a terminal, with a summary (printed by the CLI); concise: the same lines only;
# json: ruff's shape; github: Actions annotations; sarif: code scanning.
OUTPUT_FORMATS = ("text", "concise", "json", "github", "sarif")


def renderer(name: str, color: bool = False, unsafe_fixes: bool = False) -> Renderer:
    """The renderer of an output format (text is rendered by the CLI with its summary);
    `unsafe_fixes`: the text formats mark unsafe fixes `[*]` too, as the run applies them."""
    if name == "json":
        from gradlint.report.json_format import render_json

        return render_json
    if name == "concise":
        from gradlint.report.concise import render_concise
        from gradlint.report.text import render_lines

        return (lambda diagnostics: render_lines(diagnostics, unsafe_fixes=True)) if unsafe_fixes else render_concise
    if name == "github":
        from gradlint.report.github import render_github

        return render_github
    if name == "sarif":
        from gradlint.report.sarif import render_sarif

        return render_sarif
    from gradlint.report.text import render_lines

    return lambda diagnostics: render_lines(diagnostics, color=color, unsafe_fixes=unsafe_fixes)
