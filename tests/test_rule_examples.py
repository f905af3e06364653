"""Every rule's own examples: valid code gives no finding, invalid code gives the stated
number of findings of that rule, and the fix yields exactly the stated source."""

from __future__ import annotations

import pytest

from gradlint.config import Settings
from gradlint.engine import check_source, fix_source
from gradlint.rules import ALL_RULES

VALID = [(r.code, i, src) for r in ALL_RULES for i, src in enumerate(r.valid)]
INVALID = [(r.code, i, ex) for r in ALL_RULES for i, ex in enumerate(r.invalid)]


def _only(code: str) -> Settings:
    return Settings(select=(code,))


def _fixing_all(code: str) -> Settings:
    """Unsafe fixes too: these examples state each fix's text, whatever its safety (which
    tests/test_fix_safety.py judges)."""
    return Settings(select=(code,), unsafe_fixes=True)


def test_every_rule_has_examples_both_ways():
    for rule in ALL_RULES:
        assert rule.valid and rule.invalid, rule.code
        assert rule.doc.strip() and rule.summary.strip(), rule.code


@pytest.mark.parametrize(("code", "index", "source"), VALID, ids=[f"{c}-valid-{i}" for c, i, _ in VALID])
def test_valid_examples_are_clean(code, index, source):
    assert check_source(source, "example.py", _only(code)) == []


@pytest.mark.parametrize(("code", "index", "example"), INVALID, ids=[f"{c}-invalid-{i}" for c, i, _ in INVALID])
def test_invalid_examples_are_flagged_and_fixed_exactly(code, index, example):
    found = check_source(example.source, "example.py", _only(code))
    assert [d.code for d in found] == [code] * example.count
    if example.fixed is not None:
        outcome = fix_source(example.source, "example.py", _fixing_all(code))
        assert outcome.source == example.fixed
        assert outcome.remaining == []
        # Fixing twice changes nothing more.
        assert fix_source(outcome.source, "example.py", _fixing_all(code)).source == outcome.source
