"""Presentation of diagnostics: one module per output format, no analysis here."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gradlint.diagnostics import Diagnostic

Renderer = Callable[[Sequence[Diagnostic]], str]


def renderer(name: str, color: bool = False) -> Renderer:
    """The renderer of an output format (text is rendered by the CLI with its summary)."""
    if name == "json":
        from gradlint.report.json_format import render_json

        return render_json
    from gradlint.report.text import render_lines

    return lambda diagnostics: render_lines(diagnostics, color=color)


OUTPUT_FORMATS = ("text", "json")
