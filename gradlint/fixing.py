"""Apply fixes: one pass of non-overlapping edits, re-check, repeat until nothing is left.

Fixes are data; this is the one mechanism that applies them, for every rule. The new text is
re-parsed after every pass: a fix that would break the file is refused, never written, and
the other fixes of the pass are applied without it. Every pass also records which ranges of
the original text the new text keeps (`Lineage`), so that writing can copy their bytes as
they were instead of re-encoding the whole file.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from gradlint.diagnostics import Diagnostic, Edit, Fix
from gradlint.graph.source import SourceText

# (start, end, content): replace text[start:end] by content; offsets are character indexes.
Span = tuple[int, int, str]
# A piece of a fixed text: a (start, end) range kept from the original text, or new text.
Part = tuple[int, int] | str


class BrokenFix(Exception):
    """A fix produced source that does not parse. A bug in a rule, reported with its code."""

    def __init__(self, codes: list[str], detail: str) -> None:
        super().__init__(f"internal error: fix for {', '.join(sorted(set(codes)))} produced invalid code ({detail}); "
                         "that fix was not applied")
        self.codes = codes


@dataclass(frozen=True)
class Lineage:
    """How a fixed text is made of the original: ranges kept from it, and new text between.

    `render(original)` is the fixed text. Only the new parts were written by fixes; a writer
    copies the kept ranges' bytes from the original file unchanged.
    """

    parts: tuple[Part, ...]

    @classmethod
    def unchanged(cls, text: str) -> Lineage:
        return cls(((0, len(text)),) if text else ())

    def render(self, original: str) -> str:
        return "".join(p if isinstance(p, str) else original[p[0]:p[1]] for p in self.parts)

    def then(self, edits: Sequence[Span]) -> Lineage:
        """The lineage of the text these edits (ascending, non-overlapping, in offsets of
        the text this lineage renders) make."""
        starts, total = self._starts()
        out: list[Part] = []
        cursor = 0
        for start, end, content in edits:
            if start < cursor or end < start:
                raise ValueError(f"edits overlap or run backwards at offset {start}")
            out.extend(self._slice(starts, cursor, start))
            out.append(content)
            cursor = end
        out.extend(self._slice(starts, cursor, total))
        return Lineage(_merged(out))

    def _starts(self) -> tuple[list[int], int]:
        starts, offset = [], 0
        for part in self.parts:
            starts.append(offset)
            offset += _length(part)
        return starts, offset

    def _slice(self, starts: list[int], a: int, b: int) -> list[Part]:
        """The parts that make the rendered text's range [a, b)."""
        found: list[Part] = []
        i = max(bisect_right(starts, a) - 1, 0)
        while a < b and i < len(self.parts) and starts[i] < b:
            part, offset = self.parts[i], starts[i]
            lo, hi = max(a, offset) - offset, min(b, offset + _length(part)) - offset
            if hi > lo:
                found.append(part[lo:hi] if isinstance(part, str) else (part[0] + lo, part[0] + hi))
            i += 1
        return found


def _length(part: Part) -> int:
    return len(part) if isinstance(part, str) else part[1] - part[0]


def _merged(parts: list[Part]) -> tuple[Part, ...]:
    """Adjacent new texts joined, adjacent kept ranges joined, empty parts dropped."""
    out: list[Part] = []
    for part in parts:
        if _length(part) == 0:
            continue
        last = out[-1] if out else None
        if isinstance(part, str) and isinstance(last, str):
            out[-1] = last + part
        elif isinstance(part, tuple) and isinstance(last, tuple) and last[1] == part[0]:
            out[-1] = (last[0], part[1])
        else:
            out.append(part)
    return tuple(out)


@dataclass(frozen=True)
class AppliedFixes:
    text: str
    applied: list[Diagnostic]
    edits: list[Span]  # what was replaced, ascending: the text is `splice(before, edits)`


def _span(source: SourceText, edit: Edit) -> tuple[int, int]:
    return source.to_offset(edit.location), source.to_offset(edit.end_location)


def apply_fixes(text: str, diagnostics: Iterable[Diagnostic]) -> AppliedFixes:
    """Apply every fix whose edits do not touch those of a fix already taken.

    Two edits conflict when their spans overlap or when both insert at one place; the later
    fix waits for the next pass, when it is computed afresh on the new text.
    """
    source = SourceText(text)
    taken = _TakenSpans()
    edits: list[Span] = []
    applied: list[Diagnostic] = []
    seen_edit_sets: set[tuple[Span, ...]] = set()
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        if diagnostic.fix is None:
            continue
        spans = [(*_span(source, e), e.content) for e in diagnostic.fix.edits]
        key = tuple(sorted(spans))
        if key in seen_edit_sets:
            applied.append(diagnostic)  # the same edits fix two findings at once
            continue
        if any(taken.conflicts(s, e) for s, e, _ in spans):
            continue
        seen_edit_sets.add(key)
        for s, e, _ in spans:
            taken.add(s, e)
        edits.extend(spans)
        applied.append(diagnostic)
    edits.sort(key=lambda span: (span[0], span[1]))
    return AppliedFixes(splice(text, edits), applied, edits)


def splice(text: str, edits: Sequence[Span]) -> str:
    """`text` with ascending, non-overlapping edits applied, in one linear pass."""
    pieces: list[str] = []
    cursor = 0
    for start, end, content in edits:
        pieces.append(text[cursor:start])
        pieces.append(content)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


class _TakenSpans:
    """The spans of the edits taken so far, sorted, so that a conflict costs a binary search.

    Taken spans never conflict, so sorted by start their ends never decrease either: going
    back from the last span that starts at or before `e`, the first one that ends before `s`
    and every one before it are clear of [s, e).
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.spans: list[tuple[int, int]] = []

    def conflicts(self, s: int, e: int) -> bool:
        i = bisect_right(self.starts, e)
        while i > 0:
            i -= 1
            a, b = self.spans[i]
            if b < s:
                return False
            if _conflict(a, b, s, e):
                return True
        return False

    def add(self, s: int, e: int) -> None:
        i = bisect_right(self.spans, (s, e))
        self.spans.insert(i, (s, e))
        self.starts.insert(i, s)


def _conflict(a: int, b: int, s: int, e: int) -> bool:
    if a == b and s == e:
        return a == s
    return s < b and a < e or (s == e and a < s < b) or (a == b and s < a < e)


def parse_error(text: str, mode: str = "exec") -> str | None:
    """Why the running Python cannot parse `text`, or None when it can."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like are the file's own
            ast.parse(text, mode=mode)
    except (SyntaxError, ValueError) as exc:
        return str(exc)
    except (RecursionError, MemoryError):
        return "too deeply nested to parse"
    return None


def verify_parses(text: str, codes: list[str]) -> None:
    detail = parse_error(text)
    if detail is not None:
        raise BrokenFix(codes, detail)


@dataclass(frozen=True)
class SafePass:
    """The fixes of one pass that together give code that parses, and those refused."""

    result: AppliedFixes
    refused: list[tuple[Diagnostic, str]]  # (finding, why its fix was refused)


def applicable_subset(text: str, applied: list[Diagnostic]) -> SafePass:
    """The largest run of `applied` found by halving whose fixes, applied together, parse.

    A fix that breaks the file on its own (or together with fixes already kept) is refused;
    every other fix still applies. Costs about (refused fixes) × log(fixes) parses, and
    runs only when a pass did not parse.
    """
    refused: list[tuple[Diagnostic, str]] = []

    def attempt(kept: list[Diagnostic], candidates: list[Diagnostic]) -> list[Diagnostic]:
        if not candidates:
            return kept
        detail = parse_error(apply_fixes(text, [*kept, *candidates]).text)
        if detail is None:
            return [*kept, *candidates]
        if len(candidates) == 1:
            refused.append((candidates[0], detail))
            return kept
        half = len(candidates) // 2
        return attempt(attempt(kept, candidates[:half]), candidates[half:])

    kept = attempt([], applied)
    return SafePass(apply_fixes(text, kept), refused)


def refusal_for_broken_fix(diagnostic: Diagnostic, detail: str) -> str:
    return str(BrokenFix([diagnostic.code], detail))


# -- f-strings before Python 3.12 ------------------------------------------------------------

_FSTRING_PREFIX = re.compile(r"[fF][rR]?['\"]|[rR][fF]['\"]")
_FSTRINGS_ARE_LIMITED = sys.version_info < (3, 12)  # PEP 701: no reused quotes, \ or # inside


def withhold_fixes_in_fstrings(diagnostics: list[Diagnostic], tree: ast.AST, source: SourceText) -> list[Diagnostic]:
    """The findings, with no fix offered where it edits inside an f-string and the running
    Python cannot parse the result (before 3.12, an f-string's expressions may not reuse its
    quote, nor hold a backslash or a comment).

    Such a finding is still reported; it is just not fixable here. Costs nothing for a file
    without f-strings or without fixes.
    """
    if not _FSTRINGS_ARE_LIMITED or not any(d.fix for d in diagnostics) or not _FSTRING_PREFIX.search(source.text):
        return diagnostics
    fstrings = _outermost_fstrings(tree, source)
    if not fstrings:
        return diagnostics
    return [d if d.fix is None or _parses_where_it_edits(d.fix, fstrings, source) else replace(d, fix=None)
            for d in diagnostics]


def _outermost_fstrings(tree: ast.AST, source: SourceText) -> list[tuple[int, int]]:
    spans = sorted((source.start(n), source.end(n)) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr))
    outermost: list[tuple[int, int]] = []
    for start, end in spans:
        if outermost and start < outermost[-1][1]:
            continue  # nested in the previous one
        outermost.append((start, end))
    return outermost


def _parses_where_it_edits(fix: Fix, fstrings: list[tuple[int, int]], source: SourceText) -> bool:
    """Whether every f-string this fix edits still parses; an edit that reaches across an
    f-string's quotes is judged by parsing the whole file with the fix."""
    edits = sorted((*_span(source, e), e.content) for e in fix.edits)
    starts = [a for a, _ in fstrings]
    touched: dict[tuple[int, int], list[Span]] = {}
    for start, end, content in edits:
        i = bisect_right(starts, start) - 1
        inside = i >= 0 and fstrings[i][0] < start and end < fstrings[i][1]
        overlaps = any(a < end and start < b or a < start < b for a, b in fstrings)
        if inside:
            touched.setdefault(fstrings[i], []).append((start, end, content))
        elif overlaps:
            return parse_error(splice(source.text, edits)) is None
    for (a, b), spans in touched.items():
        shifted = [(s - a, e - a, c) for s, e, c in spans]
        if parse_error("(\n" + splice(source.text[a:b], shifted) + "\n)", mode="eval") is not None:
            return False
    return True


def filter_fixes(diagnostics: list[Diagnostic], keep: Callable[[Fix], str | None]) -> tuple[list[Diagnostic], list[str]]:
    """(findings whose fix `keep` accepts, why the others were refused): `keep` returns None
    to accept a fix, or the reason to refuse it."""
    kept, refused = [], []
    for d in diagnostics:
        reason = keep(d.fix) if d.fix is not None else None
        if reason is None:
            kept.append(d)
        else:
            refused.append(f"fix for {d.code} at line {d.location.row} not applied: {reason}")
    return kept, refused
