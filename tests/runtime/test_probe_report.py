"""Text and JSON probe reports (no TensorFlow needed)."""

from __future__ import annotations

import json
import math

from gradlint.diagnostics import Position
from gradlint.report.json_format import diagnostic_json
from gradlint.runtime.report import bar, render_json, render_text
from gradlint.runtime.results import BACKWARD, LayerStats, ProbeReport
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.verdicts import judge


def _report(backwards: list[float | None], kind: str = "sequential", **kw) -> ProbeReport:
    layers = tuple(
        LayerStats(index=i, name=f"dense_{i}", type="Dense", activation="relu", initializer="glorot_uniform",
                   forward_rms=1.0 if b is not None else None, backward_signal=b, weight_grad_norm=0.1,
                   weight_norm=10.0, relative_grad=0.01, head=i == len(backwards) - 1)
        for i, b in enumerate(backwards)
    )
    report = ProbeReport(
        target="models/mlp.py:build_model", filename="models/mlp.py", model_name="mlp",
        model_class="Sequential", model_kind=kind, layers=layers, loss="mean_squared_error (chosen from the output)",
        loss_value=0.5, loss_non_finite=False, inputs=("input_layer (32, 20) float32",), batch_size=32,
        repeats=3, seed=0, **kw,
    )
    return report.with_findings(judge(report, ProbeOptions(), location=Position(5, 1)))


def test_the_bar_grows_with_the_signal_on_a_log_scale():
    low, high = 1e-5, 1e-1
    lengths = [len(bar(v, low, high).rstrip()) for v in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)]
    assert lengths == sorted(lengths) and lengths[0] >= 1 and lengths[-1] == 16
    assert bar(None, low, high) == "" and bar(0.0, low, high) == "" and bar(math.nan, low, high) == ""


def test_text_report_has_a_row_per_layer_then_findings_in_check_format():
    text = render_text(_report([1e-6, 1e-3, 1.0, None]))
    lines = text.splitlines()
    header = next(line for line in lines if "layer" in line and "initializer" in line)
    for column in ("forward RMS", "backward", "‖∂L/∂W‖", "‖∂L/∂W‖/‖W‖", "backward signal (log)"):
        assert column in header
    rows = [line for line in lines if line.strip().split(" ")[0].isdigit()]
    assert [row.split()[1] for row in rows] == ["dense_0", "dense_1", "dense_2", "dense_3"]
    assert "(output)" in rows[-1]
    assert "backward signal dense_0/dense_2: 1.0e-06" in text
    assert "models/mlp.py:5:1: GR101 error: vanishing gradients" in text
    assert lines[-1] == "Found 1 problem (GR101)."


def test_a_clean_report_says_so():
    assert render_text(_report([0.3, 0.3, 0.3, None])).splitlines()[-1] == "No gradient problems found."


def test_subclassed_reports_carry_the_note_and_no_ratio():
    from gradlint.runtime.probe import SUBCLASSED_NOTE

    text = render_text(_report([None, None, None], kind="subclassed", notes=(SUBCLASSED_NOTE,)))
    assert "note: subclassed model: no layer's output was seen during its call()" in text
    assert "backward signal dense" not in text


def test_json_report_has_the_documented_keys_and_check_shaped_findings():
    report = _report([1e-6, 1e-3, 1.0, None])
    data = json.loads(render_json([report]))
    assert data["target"] == "models/mlp.py:build_model"
    assert [layer["name"] for layer in data["layers"]] == ["dense_0", "dense_1", "dense_2", "dense_3"]
    for key in ("name", "type", "activation", "initializer", "forward_rms", "backward_signal",
                "weight_grad_norm", "relative_grad"):
        assert key in data["layers"][0]
    assert data["findings"] == [diagnostic_json(d) for d in report.findings]
    assert data["summary"]["backward_ratio"] == 1e-6


def test_json_has_no_nan_and_lists_where_values_were_not_finite():
    report = _report([0.3, 0.3, 0.3, None])
    broken = LayerStats(index=1, name="dense_1", type="Dense", activation="relu", initializer="he_normal",
                        forward_rms=math.inf, backward_signal=math.nan, weight_grad_norm=math.nan,
                        weight_norm=10.0, relative_grad=None, non_finite=(BACKWARD,))
    layers = (report.layers[0], broken, *report.layers[2:])
    text = render_json([ProbeReport(**{**report.__dict__, "layers": layers})])
    data = json.loads(text)  # strict JSON: NaN would not parse with allow_nan=False on output
    assert data["layers"][1]["backward_signal"] is None and data["layers"][1]["non_finite"] == ["backward"]


def test_several_targets_give_a_list():
    data = json.loads(render_json([_report([0.3, 0.3, None]), _report([0.3, 0.3, None])]))
    assert isinstance(data, list) and len(data) == 2
