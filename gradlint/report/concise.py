"""`--output-format concise`: one line per finding and nothing else, never coloured.

For editors' and CI's problem matchers, which read lines by a pattern: no summary, no colour
codes, whatever the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from gradlint.diagnostics import Diagnostic
from gradlint.report.text import render_lines


def render_concise(diagnostics: Sequence[Diagnostic]) -> str:
    return render_lines(diagnostics, color=False)
