"""gradlint over real code: the source of the installed `keras` package, read-only.

Checking never crashes on any of its files, and fixing each file that has fixable findings
(in memory: nothing is written into site-packages) gives code that parses, that a second fix
leaves unchanged, and that has no fixable finding left.

With Keras 3.15.1 and rules GL101–GL303 this covers 904 files and 193 findings (161 GL101,
32 GL103); 47 files have fixable findings, 181 in all, and fixing applies all 181.
"""

from __future__ import annotations

import ast
import importlib.util
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic
from gradlint.engine import check_source, fix_source

SETTINGS = Settings()
ALL_FIXES = Settings(unsafe_fixes=True)  # every fix, unsafe ones too: each must give code that parses


def keras_sources() -> list[Path]:
    spec = importlib.util.find_spec("keras")  # finds the package without importing it
    assert spec is not None and spec.submodule_search_locations, "keras is a dependency of the test extra"
    return sorted(p for root in spec.submodule_search_locations for p in Path(root).rglob("*.py"))


@dataclass
class Checked:
    path: Path
    text: str
    diagnostics: list[Diagnostic]
    crash: str | None = None


@pytest.fixture(scope="module")
def corpus() -> list[Checked]:
    checked = []
    for path in keras_sources():
        text = path.read_text(encoding="utf-8")
        try:
            checked.append(Checked(path, text, check_source(text, str(path), SETTINGS)))
        except Exception as exc:  # noqa: BLE001 - a crash is what this test looks for
            checked.append(Checked(path, text, [], f"{type(exc).__name__}: {exc}"))
    return checked


def test_checking_never_crashes(corpus: list[Checked]):
    assert [(c.path, c.crash) for c in corpus if c.crash] == []
    assert [(c.path, d.message) for c in corpus for d in c.diagnostics if d.code in ("GL001", "GL002")] == []
    codes = Counter(d.code for c in corpus for d in c.diagnostics)
    assert len(corpus) > 500 and sum(codes.values()) > 100  # the corpus is real, and it is judged


def test_fixing_gives_code_that_parses_once_and_for_all(corpus: list[Checked]):
    to_fix = [c for c in corpus if any(d.fix is not None for d in c.diagnostics)]
    assert len(to_fix) > 10
    problems = []
    for c in to_fix:
        try:
            outcome = fix_source(c.text, str(c.path), ALL_FIXES)
            ast.parse(outcome.source)
            if not outcome.fixed:
                problems.append((c.path, "nothing was fixed"))
            if fix_source(outcome.source, str(c.path), ALL_FIXES).source != outcome.source:
                problems.append((c.path, "a second fix changed the code again"))
            left = [d for d in outcome.remaining if d.fix is not None]
            if left:
                problems.append((c.path, f"still fixable: {left[0].code} at line {left[0].location.row}"))
            safe = fix_source(c.text, str(c.path), SETTINGS)  # what `fix --write` does
            ast.parse(safe.source)
            if any(d.fixable_with(False) for d in safe.remaining):
                problems.append((c.path, "a safe fix was left after fixing with safe fixes"))
        except Exception as exc:  # noqa: BLE001
            problems.append((c.path, f"{type(exc).__name__}: {exc}"))
    assert problems == []
