"""--confirm: gradlint's static fixes, applied in memory, make the runtime finding go away."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gradlint.diagnostics import Diagnostic, Position
from gradlint.errors import UsageError
from gradlint.runtime.confirm import confirm_fix
from gradlint.runtime.report import render_confirm_text
from gradlint.runtime.settings import ProbeOptions


def test_confirm_turns_gr101_into_clean_on_the_deep_relu_model(run_probe, fixture_target, tmp_path):
    """End to end with the static engine: GL101's fix (he_normal) resolves GR101."""
    target = fixture_target("deep_relu_mlp.py", "build_model")
    path = target.rpartition(":")[0]
    with open(path, encoding="utf-8") as f:
        original = f.read()
    plot = tmp_path / "confirm.svg"
    result = run_probe(target, "--confirm", "--plot", str(plot))
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    assert "glorot_uniform → he_normal" in out
    line = next(line for line in out.splitlines() if line.startswith("backward signal ratio first/last:"))
    before, after = line.split(": ", 1)[1].split(" (")[0].split(" → ")
    assert float(before) < 2e-4 and 0.3 < float(after) < 3
    assert line.endswith("(GR101 resolved by GL101 fixes at line 18)")
    assert "Confirmed: the fixes resolve all 1 runtime finding(s)." in out
    with open(path, encoding="utf-8") as f:
        assert f.read() == original  # nothing was written
    assert plot.read_text().lstrip().startswith("<?xml")


def test_confirm_json_is_before_and_after(run_probe, fixture_target):
    result = run_probe(fixture_target("deep_relu_mlp.py", "build_model"), "--confirm", "--output-format", "json",
                       "--repeats", "1")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert set(data) == {"before", "after"}
    assert [f["code"] for f in data["before"]["findings"]] == ["GR101"]
    assert data["after"]["findings"] == []
    assert data["after"]["layers"][0]["initializer"] == "he_normal"


@dataclass
class Outcome:
    source: str
    fixed: list[Diagnostic] = field(default_factory=list)


def he_fixer(source: str, filename: str) -> Outcome:
    """A stand-in for the static fixer: the edit GL101 makes for ReLU layers."""
    old = 'activation="sigmoid"'
    new = 'activation="relu", kernel_initializer="he_normal"'
    row = next(i for i, line in enumerate(source.splitlines(), 1) if old in line)
    fixed = Diagnostic("GL101", "sigmoid stack", filename, Position(row, 1), Position(row, 1))
    return Outcome(source.replace(old, new), [fixed])


def comment_fixer(source: str, filename: str) -> Outcome:
    """A "fix" that changes nothing that matters."""
    return Outcome(source + "\n# reviewed\n", [])


@pytest.fixture(scope="module")
def sigmoid_confirmed(fixture_target):
    return confirm_fix(fixture_target("deep_sigmoid_mlp.py", "build_model"), ProbeOptions(repeats=1),
                       fixer=he_fixer)


def test_the_fixed_module_runs_under_the_same_name_with_the_same_batches(sigmoid_confirmed):
    result = sigmoid_confirmed
    assert {d.code for d in result.before.findings} == {"GR101"}
    assert result.after.findings == ()
    assert result.confirmed and result.exit_code == 0
    assert result.before.inputs == result.after.inputs
    assert result.before.model_name == result.after.model_name == "deep_sigmoid_mlp"
    assert [layer.name for layer in result.before.layers] == [layer.name for layer in result.after.layers]
    assert result.after.layers[0].activation == "relu"


def test_verdicts_name_what_resolved_it(sigmoid_confirmed):
    lines = sigmoid_confirmed.verdict_lines()
    assert lines[0].startswith("backward signal ratio first/last: ")
    assert lines[0].endswith("(GR101 resolved by GL101 fixes at line 8)")
    assert any(line.startswith("GR101 resolved by GL101 fixes at line 8: vanishing gradients: relative gradient")
               for line in lines)
    text = render_confirm_text(sigmoid_confirmed)
    assert text.splitlines()[0].endswith("before → after the static fixes (GL101 fixes at line 8)")
    assert text.rstrip().endswith("Confirmed: the fixes resolve all 2 runtime finding(s).")


def test_a_fix_that_does_not_help_is_reported_as_such(fixture_target):
    result = confirm_fix(fixture_target("deep_sigmoid_mlp.py", "build_model"), ProbeOptions(repeats=1),
                         fixer=comment_fixer)
    assert not result.confirmed and result.exit_code == 1
    assert "(GR101 persists)" in result.verdict_lines()[0]
    assert result.conclusion().startswith("Not confirmed: 2 runtime finding(s) remain")


def test_a_model_without_static_fixes_has_nothing_to_confirm(run_probe, fixture_target):
    result = run_probe(fixture_target("deep_relu_mlp_he.py", "build_model"), "--confirm", "--repeats", "1")
    assert result.exit_code == 0, result.stderr
    assert "No static fixes apply, so there is nothing to confirm." in result.stdout


def test_a_saved_model_cannot_be_confirmed():
    with pytest.raises(UsageError, match="--confirm needs a factory in source code"):
        confirm_fix("model.keras")
