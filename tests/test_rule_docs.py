"""Rule documentation has one source: docs/rules.md, the README's table, `gradlint rule` and
every finding's url are rendered from the rules themselves and must stay in step."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main
from gradlint.engine import check_source
from gradlint.rules import ALL_RULES, ERROR_CODES, RUNTIME_CODES
from gradlint.rules.docs import README_END, README_START, code_docs, rules_markdown, rules_table

ROOT = Path(__file__).resolve().parent.parent
RULES_MD = ROOT / "docs" / "rules.md"
README = ROOT / "README.md"
REGENERATE = "run `python -m gradlint.rules.docs` to regenerate"


def github_anchors(markdown: str) -> set[str]:
    """The ids GitHub gives the headings of a markdown file (outside code blocks)."""
    anchors, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_docs_rules_md_is_generated_from_the_rules():
    assert RULES_MD.read_text(encoding="utf-8") == rules_markdown(), f"docs/rules.md is stale: {REGENERATE}"


def test_readme_rule_table_is_generated_from_the_rules():
    if not README.exists():
        pytest.skip("no README.md")
    text = README.read_text(encoding="utf-8")
    assert README_START in text and README_END in text, "README.md needs the rules-table markers"
    block = text[text.index(README_START) + len(README_START):text.index(README_END)]
    assert block == "\n" + rules_table(), f"README.md's rule table is stale: {REGENERATE}"


def test_every_code_is_documented_with_an_anchor_its_url_points_at():
    anchors = github_anchors(RULES_MD.read_text(encoding="utf-8"))
    codes = {d.code for d in code_docs()}
    assert codes == {r.code for r in ALL_RULES} | set(ERROR_CODES) | set(RUNTIME_CODES)
    for rule in ALL_RULES:
        url = rule.url()
        assert url.startswith("https://github.com/gradlint/gradlint/blob/main/docs/rules.md#")
        assert url.split("#", 1)[1] in anchors, rule.code
    for doc in code_docs():
        assert doc.anchor in anchors


def test_findings_carry_the_url_of_their_rule():
    source = "from tensorflow.keras import layers\nlayers.Dense(8, activation='relu')\n"
    [finding] = check_source(source, "m.py")
    assert finding.url is not None and finding.url.endswith("#gl101-init-activation-mismatch")


def test_rule_command_renders_what_why_example_fix_options():
    result = CliRunner().invoke(main, ["rule", "GL101"])
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("# GL101 init-activation-mismatch\n")
    for section in ("## What it finds", "## Why it matters", "## Example", "## Fix", "## Options", "## Suppressing"):
        assert f"\n{section}\n" in out, section
    assert "`fix-distribution`" in out
    assert "```python\n" in out


def test_rule_command_knows_error_and_runtime_codes_and_is_case_insensitive():
    assert CliRunner().invoke(main, ["rule", "gl002"]).output.startswith("# GL002 unreadable-file\n")
    assert CliRunner().invoke(main, ["rule", "GR101"]).output.startswith("# GR101 vanishing-gradients\n")
    data = json.loads(CliRunner().invoke(main, ["rule", "GL101", "--output-format", "json"]).output)
    assert data["code"] == "GL101" and data["fixable"] is True and "## Why it matters" in data["explanation"]


def test_unknown_rule_is_an_error_listing_known_codes():
    result = CliRunner().invoke(main, ["rule", "GL999"])
    assert result.exit_code == 2
    assert "unknown rule 'GL999'" in result.output and "GL101" in result.output


def test_rules_command_is_a_table_of_every_code():
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0
    codes = [line.split()[0] for line in result.output.splitlines()]
    assert codes == [d.code for d in code_docs()]
    gl101 = next(line for line in result.output.splitlines() if line.startswith("GL101"))
    assert "init-activation-mismatch" in gl101 and "[*]" in gl101
    assert CliRunner().invoke(main, ["rules", "--output-format", "markdown"]).output == rules_markdown()
