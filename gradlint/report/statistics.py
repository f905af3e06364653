"""`--statistics`: how many findings of each code, and how many of them `fix` can remove."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gradlint.coverage import Coverage
from gradlint.diagnostics import Diagnostic


@dataclass(frozen=True)
class CodeCount:
    code: str
    name: str
    count: int
    fixable: int  # how many of them have a fix the run would apply (an unsafe one only with --unsafe-fixes)

    @property
    def marker(self) -> str:
        if self.fixable == self.count:
            return "[*]"
        return "[-]" if self.fixable else "[ ]"


def count_codes(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> list[CodeCount]:
    """Most frequent first, then by code."""
    from gradlint.rules.docs import doc_for

    counts: dict[str, list[int]] = {}
    for d in diagnostics:
        entry = counts.setdefault(d.code, [0, 0])
        entry[0] += 1
        entry[1] += d.fixable_with(unsafe_fixes)
    rows = []
    for code, (count, fixable) in counts.items():
        doc = doc_for(code)
        rows.append(CodeCount(code, doc.name if doc else "", count, fixable))
    return sorted(rows, key=lambda r: (-r.count, r.code))


def render_statistics(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False,
                      coverage: Coverage | None = None) -> str:
    """`count<TAB>code<TAB>[*] name` lines, as ruff prints them; [*] all fixable, [-] some
    (an unsafe fix counts only with --unsafe-fixes, as in ruff). Then, after a blank line,
    what was judged and why the rest was not."""
    from gradlint.report.coverage import render_coverage

    rows = count_codes(diagnostics, unsafe_fixes)
    table = ""
    if rows:
        width = max(len(str(r.count)) for r in rows)
        code_width = max(len(r.code) for r in rows)
        table = "".join(f"{r.count:>{width}}\t{r.code:<{code_width}}\t{r.marker} {r.name}\n" for r in rows)
    judged = render_coverage(coverage) if coverage is not None else ""
    return table + ("\n" if table and judged else "") + judged


def render_statistics_json(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False,
                           coverage: Coverage | None = None) -> str:
    """`codes`: ruff's rows (`fixable` true when any is), plus how many are fixable;
    `coverage`: per family, how many were judged and why the others were not."""
    from gradlint.report.coverage import coverage_json

    rows = [{"code": r.code, "name": r.name, "count": r.count, "fixable": r.fixable > 0, "fixable_count": r.fixable}
            for r in count_codes(diagnostics, unsafe_fixes)]
    return json.dumps({"codes": rows, "coverage": coverage_json(coverage or Coverage())}, indent=2) + "\n"
