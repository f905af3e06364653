"""The bundled examples in fixtures/: every `# expect: CODE` marker is a finding on that line,
and there is no finding without a marker. Fixing them leaves nothing fixable behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradlint.config import Settings
from gradlint.engine import check_source, fix_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PY_FIXTURES = sorted(p for p in FIXTURES.rglob("*.py") if "runtime" not in p.parts)
_EXPECT = re.compile(r"#.*\bexpect: ?([A-Z]+[0-9]+(?:, ?[A-Z]+[0-9]+)*)")


def _expected(text: str) -> list[tuple[int, str]]:
    found = []
    for row, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.extend((row, code.strip()) for code in match.group(1).split(","))
    return sorted(found)


def test_there_are_fixtures_to_run_on():
    assert len(PY_FIXTURES) >= 5


@pytest.mark.parametrize("path", PY_FIXTURES, ids=lambda p: p.name)
def test_fixture_findings_match_their_markers(path: Path):
    text = path.read_text(encoding="utf-8")
    found = sorted((d.location.row, d.code) for d in check_source(text, str(path), Settings()))
    assert found == _expected(text)


@pytest.mark.parametrize("unsafe_fixes", [False, True], ids=["safe", "unsafe-too"])
@pytest.mark.parametrize("path", PY_FIXTURES, ids=lambda p: p.name)
def test_fixing_a_fixture_leaves_nothing_fixable(path: Path, unsafe_fixes: bool):
    """Safe fixes leave only unsafe ones (or none); with unsafe fixes, nothing fixable is left."""
    text = path.read_text(encoding="utf-8")
    settings = Settings(unsafe_fixes=unsafe_fixes)
    outcome = fix_source(text, str(path), settings)
    assert not any(d.fixable_with(unsafe_fixes) for d in outcome.remaining)
    if unsafe_fixes:
        assert all(d.fix is None for d in outcome.remaining)
    compile(outcome.source, str(path), "exec")
    assert fix_source(outcome.source, str(path), settings).source == outcome.source
