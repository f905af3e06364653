"""`gradlint fix --confirm TARGET` is `gradlint fix` on the target's file — the same diff, summary,
writes and exit codes — with the probe's verdict added; runtime findings left after the fixes
are remaining findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runtime"
VERDICT = "backward signal ratio first/last: 3.8e-05 → 1.2 (GR101 resolved by GL101 fixes at line 18)"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    shutil.copy(FIXTURES / "deep_relu_mlp.py", tmp_path / "model.py")
    shutil.copy(FIXTURES / "deep_sigmoid_mlp.py", tmp_path / "sigmoid.py")
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, [*args, "--no-cache"], catch_exceptions=False)


def test_the_diff_and_summary_are_fixs_with_the_verdict_between(project: Path):
    before = (project / "model.py").read_text()
    plain = run("fix", "model.py")
    confirmed = run("fix", "--confirm", "model.py:build_model")
    assert (plain.exit_code, confirmed.exit_code) == (1, 1)
    summary = plain.stdout.splitlines()[-1]
    diff = plain.stdout[:-len(summary) - 1]
    assert diff.startswith("--- a/model.py\n+++ b/model.py\n") and summary.startswith("Would fix 1 problem")
    assert confirmed.stdout.startswith(diff)
    assert confirmed.stdout.endswith(summary + "\n")
    verdict = confirmed.stdout[len(diff):-len(summary) - 1]
    assert VERDICT in verdict and "Confirmed: the fixes resolve all 1 runtime finding(s)." in verdict
    assert (project / "model.py").read_text() == before


def test_json_has_the_fixed_and_remaining_findings_beside_the_probes(project: Path):
    result = run("fix", "--confirm", "model.py:build_model", "--output-format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert sorted(data) == ["after", "before", "fixed", "remaining"]
    assert [d["code"] for d in data["fixed"]] == ["GL101"]
    assert data["remaining"] == [] and data["after"]["findings"] == []
    assert [d["code"] for d in data["before"]["findings"]] == ["GR101"]


def test_write_writes_what_plain_fix_writes_and_exits_as_it_does(project: Path):
    shutil.copy(project / "model.py", project / "plain.py")
    plain = run("fix", "--write", "plain.py")
    confirmed = run("fix", "--confirm", "model.py:build_model", "--write")
    assert (plain.exit_code, confirmed.exit_code) == (0, 0)
    assert (project / "model.py").read_text() == (project / "plain.py").read_text()
    assert 'kernel_initializer="he_normal"' in (project / "model.py").read_text()  # (laid out to the line length)
    assert confirmed.stdout.endswith("Confirmed: the fixes resolve all 1 runtime finding(s).\n"
                                     "Found 1 problem (1 fixed, 0 remaining).\n")


def test_runtime_findings_left_after_the_fixes_are_remaining_findings(project: Path):
    before = (project / "sigmoid.py").read_text()
    result = run("fix", "--confirm", "sigmoid.py:build_model", "--write", "--output-format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["fixed"] == []
    assert {d["code"] for d in data["remaining"]} == {"GL301", "GR101"}
    assert (project / "sigmoid.py").read_text() == before
