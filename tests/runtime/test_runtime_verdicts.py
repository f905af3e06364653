"""Measurements → GR101/GR102/GR103, on hand-made reports (no TensorFlow needed).

The numbers mimic what the probe measures on real models; the TensorFlow tests check that
real models produce such numbers.
"""

from __future__ import annotations

import math
from dataclasses import replace

from gradlint.diagnostics import Diagnostic, Position
from gradlint.runtime.results import BACKWARD, FORWARD, WEIGHTS, LayerStats, ProbeReport
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.verdicts import fmt, judge


def layer(i: int, backward: float | None = 0.3, forward: float | None = 1.0, grad: float | None = 0.5,
          weight: float = 10.0, **kw) -> LayerStats:
    relative = kw.pop("relative", None if grad is None else grad / weight)
    return LayerStats(
        index=i, name=kw.pop("name", "dense" if i == 0 else f"dense_{i}"), type="Dense",
        activation=kw.pop("activation", "relu"), initializer=kw.pop("initializer", "he_normal"),
        forward_rms=forward, backward_signal=backward, weight_grad_norm=grad, weight_norm=weight,
        relative_grad=relative, **kw,
    )


def report(layers: list[LayerStats], kind: str = "sequential", loss_non_finite: bool = False) -> ProbeReport:
    return ProbeReport(
        target="models/mlp.py:build_model", filename="models/mlp.py", model_name="mlp",
        model_class="Sequential", model_kind=kind, layers=tuple(layers), loss="mse (compiled)",
        loss_value=None if loss_non_finite else 1.0, loss_non_finite=loss_non_finite,
        inputs=("input (32, 784) float32",), batch_size=32, repeats=3, seed=0,
    )


def stack(backwards: list[float], forwards: list[float] | None = None) -> list[LayerStats]:
    """Hidden layers with these backward signals, then an output head."""
    forwards = forwards or [1.0] * len(backwards)
    hidden = [layer(i, backward=b, forward=f) for i, (b, f) in enumerate(zip(backwards, forwards))]
    head = layer(len(backwards), backward=None, forward=0.1, activation="softmax", initializer="glorot_uniform",
                 head=True)
    return [*hidden, head]


def codes(findings: list[Diagnostic]) -> list[tuple[str, str]]:
    return [(d.code, d.extra["criterion"]) for d in findings]


def test_signal_that_keeps_its_size_is_clean():
    assert judge(report(stack([0.31, 0.30, 0.28, 0.26])), ProbeOptions()) == []


def test_signal_that_shrinks_below_the_ratio_is_gr101_naming_layers_and_numbers():
    # The deep ReLU MLP with Glorot init: ~√2 lost per layer.
    backwards = [0.235 / math.sqrt(2) ** (29 - i) for i in range(30)]
    findings = judge(report(stack(backwards)), ProbeOptions(), location=Position(14, 1))
    assert codes(findings) == [("GR101", "backward_ratio")]
    d = findings[0]
    assert "dense (layer 1)" in d.message and "dense_29 (layer 30)" in d.message
    assert fmt(backwards[0] / backwards[-1]) in d.message  # "4.3e-05"
    assert "limit 0.001" in d.message
    assert (d.filename, d.location, d.end_location) == ("models/mlp.py", Position(14, 1), Position(14, 1))
    assert d.extra["ratio"] == backwards[0] / backwards[-1]


def test_the_output_head_is_not_the_last_hidden_layer():
    layers = stack([1e-5, 0.5])
    layers[-1] = layer(2, backward=1e-9, head=True)  # a tiny signal at the head must not matter
    assert codes(judge(report(layers), ProbeOptions())) == [("GR101", "backward_ratio")]
    assert "dense_1 (layer 2)" in judge(report(layers), ProbeOptions())[0].message


def test_thresholds_come_from_the_options():
    layers = stack([5e-5, 1e-3, 1e-2, 1e-1])  # first/last hidden: 5e-4
    assert codes(judge(report(layers), ProbeOptions())) == [("GR101", "backward_ratio")]
    assert judge(report(layers), ProbeOptions(vanishing_ratio=1e-4)) == []


def test_signal_that_grows_backwards_is_gr102():
    findings = judge(report(stack([4e3, 40.0, 2.0])), ProbeOptions())
    assert codes(findings) == [("GR102", "backward_ratio")]
    assert "2.0e+03 times its value at dense_2" in findings[0].message


def test_activations_that_grow_across_the_stack_are_gr102():
    # RandomNormal(stddev=0.5) in 256-wide ReLU layers: ×5.7 per layer.
    forwards = [5.7 ** (i + 1) for i in range(20)]
    findings = judge(report(stack([0.3] * 20, forwards)), ProbeOptions())
    assert codes(findings) == [("GR102", "forward_growth")]
    assert "forward RMS grows from 5.7 at dense to 1.3e+15 at dense_19" in findings[0].message


def test_any_gradient_norm_above_the_limit_is_gr102():
    layers = stack([0.3, 0.3, 0.3])
    layers[1] = layer(1, backward=0.3, grad=3e7)
    findings = judge(report(layers), ProbeOptions())
    assert codes(findings) == [("GR102", "max_grad_norm")]
    assert "largest 3.0e+07 at dense_1" in findings[0].message
    assert judge(report(layers), ProbeOptions(max_grad_norm=1e8)) == []


def test_a_weight_gradient_of_exactly_zero_is_gr101_even_without_layer_outputs():
    layers = [layer(0, backward=None, forward=None, grad=0.0), layer(1, backward=None, forward=None, grad=0.0),
              layer(2, backward=None, forward=None, grad=0.03, head=True)]
    findings = judge(report(layers, kind="subclassed"), ProbeOptions())
    assert codes(findings) == [("GR101", "zero_gradient")]
    assert "the weight gradient of dense, dense_1 is exactly zero" in findings[0].message


def test_a_frozen_layer_without_gradient_is_not_a_finding():
    layers = stack([0.3, 0.3, 0.3])
    layers[0] = layer(0, backward=0.3, grad=None, trainable=False)
    assert judge(report(layers), ProbeOptions()) == []


def test_a_tiny_relative_gradient_is_gr101():
    layers = stack([0.3, 0.3, 0.3])
    layers[0] = layer(0, backward=0.3, grad=1e-9, weight=20.0)
    findings = judge(report(layers), ProbeOptions())
    assert codes(findings) == [("GR101", "relative_grad")]
    assert "smallest 5.0e-11 at dense" in findings[0].message
    assert judge(report(layers), ProbeOptions(min_relative_grad=1e-12)) == []


def test_non_finite_values_are_gr103_and_say_where():
    layers = stack([0.3, 0.3, 0.3])
    layers[1] = layer(1, backward=math.nan, forward=math.inf, grad=math.nan, non_finite=(FORWARD, BACKWARD, WEIGHTS))
    findings = judge(report(layers, loss_non_finite=True), ProbeOptions())
    assert [d.code for d in findings] == ["GR103"]
    message = findings[0].message
    assert "the loss" in message and "activations of dense_1" in message
    assert "weight gradients of dense_1" in message


def test_a_static_finding_on_a_layer_of_the_span_is_named_as_the_explanation():
    static = [
        Diagnostic("GL101", "relu with glorot_uniform", "models/mlp.py", Position(9, 20), Position(9, 40)),
        Diagnostic("GL101", "relu with glorot_uniform", "models/mlp.py", Position(8, 20), Position(8, 40)),
        Diagnostic("GL001", "syntax error", "models/mlp.py", Position(1, 1), Position(1, 1)),
    ]
    layers = stack([1e-6, 1.0])
    layers = [replace(layers[0], source_rows=(8, 8)), replace(layers[1], source_rows=(9, 9)), layers[2]]
    findings = judge(report(layers), ProbeOptions(), static=static)
    assert findings[0].message.endswith("(explained by GL101 at lines 8, 9)")
    assert findings[0].extra["explained_by"] == [{"code": "GL101", "row": 9}, {"code": "GL101", "row": 8}]


def test_a_static_finding_off_the_span_is_related_but_explains_nothing():
    # No construction rows (a saved model) or a finding elsewhere: never "explained by".
    static = [Diagnostic("GL101", "head initializer", "models/mlp.py", Position(44, 1), Position(44, 1))]
    findings = judge(report(stack([1e-6, 1.0])), ProbeOptions(), static=static)
    assert "explained by" not in findings[0].message
    assert findings[0].extra["related"] == [{"code": "GL101", "row": 44}]


def test_clipping_findings_are_related_to_explosions_only_and_explain_none():
    static = [Diagnostic("GL201", "no clipping", "models/mlp.py", Position(30, 1), Position(30, 1))]
    vanishing = judge(report(stack([1e-6, 1.0])), ProbeOptions(), static=static)
    exploding = judge(report(stack([1e6, 1.0])), ProbeOptions(), static=static)
    assert "explained by" not in vanishing[0].message and vanishing[0].extra["related"] == []
    assert "explained by" not in exploding[0].message  # the compile call is no layer of the span
    assert exploding[0].extra["related"] == [{"code": "GL201", "row": 30}]


def test_numbers_are_shown_compactly():
    assert [fmt(v) for v in (0.99, 12.34, 3.8e-05, 2.5e16, 0, None, math.nan, math.inf)] == [
        "0.99", "12.3", "3.8e-05", "2.5e+16", "0", "-", "NaN", "Inf"]
