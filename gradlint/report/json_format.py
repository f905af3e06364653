"""JSON output in the shape of ruff's: one object per finding, 1-based rows and columns.

The output is valid UTF-8 whatever the file names: a byte of a name that is not UTF-8 is
shown as U+FFFD in `filename` (as ruff shows it), never as a lone surrogate."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from gradlint.diagnostics import Diagnostic, Position
from gradlint.report.escape import valid_unicode_tree


def _position(p: Position) -> dict[str, int]:
    return {"row": p.row, "column": p.column}


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {
        "code": d.code,
        "severity": d.severity,
        "message": d.message,
        "filename": os.path.abspath(d.filename) if d.filename not in ("-",) else d.filename,
        "location": _position(d.location),
        "end_location": _position(d.end_location),
        "fix": None if d.fix is None else {
            "message": d.fix.message,
            "applicability": d.fix.applicability,
            "edits": [
                {"content": e.content, "location": _position(e.location), "end_location": _position(e.end_location)}
                for e in d.fix.edits
            ],
        },
        "url": d.url,
        "cell": d.cell,
    }


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps(valid_unicode_tree([diagnostic_json(d) for d in diagnostics]), indent=2) + "\n"
