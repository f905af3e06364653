"""Never "clean" from nothing: a layer the probe could not see says "not measured", and a
probe or --confirm without findings names what it measured unless it measured every layer."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from gradlint.runtime.confirm import confirm_fix
from gradlint.runtime.report import render_confirm_text, render_text
from gradlint.runtime.results import LayerStats, ProbeReport
from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions


@pytest.fixture(scope="module")
def direct(fixture_target):
    """A subclassed model whose middle layer's call() never runs (its kernel is used directly)."""
    return probe_target(fixture_target("subclassed_unmeasured.py", "build_model"), ProbeOptions(repeats=1))


def test_a_layer_whose_call_never_runs_is_not_measured_and_the_verdict_says_so(direct):
    unseen = [layer for layer in direct.layers if layer.forward_rms is None]
    assert [layer.type for layer in unseen] == ["Dense"] and unseen[0].weight_grad_norm is not None
    text = render_text(direct)
    row = next(line for line in text.splitlines() if f" {unseen[0].name} " in line)
    assert row.count("not measured") == 2  # forward RMS and backward signal
    last = text.splitlines()[-1]
    assert direct.findings == ()
    assert last != "No gradient problems found."
    assert last.startswith("No gradient problems found in what was measured (")
    assert f"not measured: forward RMS and backward signal of {unseen[0].name}" in last


def test_the_ratio_is_taken_between_measured_layers(direct):
    pair = direct.ratio_layers()
    assert pair is None or all(layer.backward_signal is not None for layer in pair)


def test_a_fully_measured_model_is_called_clean(fixture_target):
    report = probe_target(fixture_target("narrow_relu_stack.py", "build_wide"), ProbeOptions(repeats=1))
    assert render_text(report).splitlines()[-1] == "No gradient problems found."


def _blank(i: int, head: bool = False) -> LayerStats:
    return LayerStats(index=i, name=f"layer_{i}", type="Dense", activation="relu", initializer="he_normal",
                      forward_rms=None, backward_signal=None, weight_grad_norm=None, weight_norm=None,
                      relative_grad=None, head=head)


def test_nothing_measured_is_never_clean():
    report = ProbeReport(target="m.py:f", filename="m.py", model_name="m", model_class="Net",
                         model_kind="subclassed", layers=(_blank(0), _blank(1, head=True)), loss="mse",
                         loss_value=1.0, loss_non_finite=False, inputs=(), batch_size=32, repeats=1, seed=0)
    text = render_text(report)
    assert "No gradient problems found" not in text
    assert text.splitlines()[-1].startswith("Nothing was measured per layer")
    assert json.loads(json.dumps(report.to_dict()))["per_layer"] is False


def test_confirm_on_a_partly_measured_model_names_what_was_measured(fixture_target):
    """A fix that changes the text (a comment) so there is something to confirm."""

    def fixer(source: str, filename: str):
        return SimpleNamespace(source=source + "\n# fixed\n", fixed=[])

    result = confirm_fix(fixture_target("subclassed_unmeasured.py", "build_model"), ProbeOptions(repeats=1),
                         fixer=fixer)
    text = render_confirm_text(result)
    assert "- → -" not in text
    assert "not measured" in text
    assert "probes clean" not in text
    assert result.conclusion().startswith("No gradient problems found before or after the fixes in what was measured")
