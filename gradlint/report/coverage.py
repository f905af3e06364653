"""What a run judged and what it could not see: the lines `--statistics` adds after its
table, the listing `--explain-unknown` prints, and the note for a Keras file in which no
layer was recognised."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gradlint.coverage import FAMILIES, REASONS, Coverage, Unseen
from gradlint.report.escape import line_safe, valid_unicode_tree


def render_coverage(coverage: Coverage) -> str:
    """`Judged 41 of 52 layer calls; 3 of 4 compiles.` and, per family, the reasons for the
    rest, most frequent first. Nothing when the run saw nothing to judge."""
    parts = [f"{coverage.judged[f]} of {coverage.total(f)} {label}" for f, label in FAMILIES.items()
             if coverage.total(f)]
    if not parts:
        return ""
    lines = [f"Judged {'; '.join(parts)}."]
    rows = [(count, FAMILIES[f], reason) for f in FAMILIES for reason, count in coverage.reasons(f)]
    if rows:
        width = max(len(str(count)) for count, _, _ in rows)
        label_width = max(len(label) for _, label, _ in rows)
        lines.append("Not judged:")
        lines.extend(f"  {count:>{width}} {label:<{label_width}}  {REASONS.get(reason, reason)}"
                     for count, label, reason in rows)
        lines.append("(--explain-unknown lists them with their places)")
    return "\n".join(lines) + "\n"


def coverage_json(coverage: Coverage) -> dict[str, Any]:
    """Per family: how many were judged, how many were not, and why (reason → count)."""
    return {family: {"judged": coverage.judged[family], "total": coverage.total(family),
                     "not_judged": dict(coverage.reasons(family))}
            for family in FAMILIES}


def located(results: Sequence[Any]) -> list[tuple[str, Unseen]]:
    """Every not-judged place of the run's results, (file, place), in file and row order."""
    found = [(r.path, u) for r in results if r.coverage is not None for u in r.coverage.unseen]
    return sorted(found, key=lambda item: (item[0], item[1].cell or 0, item[1].row, item[1].column))


def render_unknown(places: Sequence[tuple[str, Unseen]]) -> str:
    """`path:row:col: Dense not judged: <reason> (<particular>)`, one line each."""
    lines = []
    for path, u in places:
        where = f"{line_safe(path)}:cell {u.cell}" if u.cell is not None else line_safe(path)
        lines.append(f"{where}:{u.row}:{u.column}: {line_safe(u.what)} not judged: {line_safe(u.explanation)}")
    return "".join(line + "\n" for line in lines)


def render_unknown_json(places: Sequence[tuple[str, Unseen]]) -> str:
    rows = [{"filename": path, **u.to_dict(), "explanation": u.explanation} for path, u in places]
    return json.dumps(valid_unicode_tree(rows), indent=2) + "\n"


def unseen_keras_files(results: Sequence[Any]) -> list[str]:
    """Files that import Keras and name layer classes, yet in which no layer was recognised."""
    return [r.path for r in results if r.coverage is not None and r.coverage.keras_unseen]
