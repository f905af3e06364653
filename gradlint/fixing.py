"""Apply fixes: one pass of non-overlapping edits, re-check, repeat until nothing is left.

Fixes are data; this is the one mechanism that applies them, for every rule. The new text is
re-parsed after every pass: a fix that would break the file is refused, never written.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from gradlint.diagnostics import Diagnostic, Edit
from gradlint.graph.source import SourceText


class BrokenFix(Exception):
    """A fix produced source that does not parse. A bug in a rule, reported with its code."""

    def __init__(self, codes: list[str], detail: str) -> None:
        super().__init__(f"internal error: fix for {', '.join(sorted(set(codes)))} produced invalid code ({detail}); file left unchanged")
        self.codes = codes


@dataclass(frozen=True)
class AppliedFixes:
    text: str
    applied: list[Diagnostic]


def _span(source: SourceText, edit: Edit) -> tuple[int, int]:
    return source.to_offset(edit.location), source.to_offset(edit.end_location)


def apply_fixes(text: str, diagnostics: Iterable[Diagnostic]) -> AppliedFixes:
    """Apply every fix whose edits do not touch those of a fix already taken.

    Two edits conflict when their spans overlap or when both insert at one place; the later
    fix waits for the next pass, when it is computed afresh on the new text.
    """
    source = SourceText(text)
    taken: list[tuple[int, int]] = []
    edits: list[tuple[int, int, str]] = []
    applied: list[Diagnostic] = []
    seen_edit_sets: set[tuple[tuple[int, int, str], ...]] = set()
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        if diagnostic.fix is None:
            continue
        spans = [(*_span(source, e), e.content) for e in diagnostic.fix.edits]
        key = tuple(sorted(spans))
        if key in seen_edit_sets:
            applied.append(diagnostic)  # the same edits fix two findings at once
            continue
        if any(_conflict(a, b, s, e) for (s, e, _) in spans for (a, b) in taken):
            continue
        seen_edit_sets.add(key)
        taken.extend((s, e) for s, e, _ in spans)
        edits.extend(spans)
        applied.append(diagnostic)
    for start, end, content in sorted(edits, reverse=True):
        text = text[:start] + content + text[end:]
    return AppliedFixes(text, applied)


def _conflict(a: int, b: int, s: int, e: int) -> bool:
    if a == b and s == e:
        return a == s
    return s < b and a < e or (s == e and a < s < b) or (a == b and s < a < e)


def verify_parses(text: str, codes: list[str]) -> None:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        raise BrokenFix(codes, str(exc)) from None
