"""A runtime finding is "explained by" a static one only when that one is on a layer the probe
localizes: the first dead layer, the layers where the backward signal collapses."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gradlint.diagnostics import Diagnostic, Position
from gradlint.runtime.backend import load
from gradlint.runtime.origins import recording
from gradlint.runtime.results import LayerStats, ProbeReport
from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.targets import load_model, parse_target
from gradlint.runtime.verdicts import collapse_run, judge

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "runtime" / "dead_relu_stack.py"


def row_of(text: str) -> int:
    """The fixture's row holding `text` (so the tests follow the fixture if it moves)."""
    return next(i for i, line in enumerate(FIXTURE.read_text().splitlines(), 1) if text in line)


@pytest.fixture(scope="module")
def dead_at_init(fixture_target):
    return probe_target(fixture_target("dead_relu_stack.py", "build_model"), ProbeOptions(repeats=1))


def test_a_dead_stack_is_explained_by_the_finding_on_its_first_dead_layer(dead_at_init):
    zeros, head = row_of('kernel_initializer="zeros"'), row_of('Dense(32, activation="relu")')
    [gr104] = [d for d in dead_at_init.findings if d.code == "GR104"]
    assert gr104.extra["first_dead"] == "dense_2"
    assert gr104.message.endswith(f"(explained by GL103 at line {zeros})")
    assert gr104.extra["explained_by"] == [{"code": "GL103", "row": zeros}]
    # The output layer's own finding (ReLU on Glorot) is related, not the explanation.
    assert {"code": "GL101", "row": head} in gr104.extra["related"]
    for d in dead_at_init.findings:
        assert f"line {head}" not in d.message, d.message


def test_layers_carry_the_rows_they_were_constructed_on(dead_at_init):
    rows = {layer.name: layer.source_rows for layer in dead_at_init.layers}
    assert rows["dense_2"] == (row_of('kernel_initializer="zeros"'),) * 2
    assert rows["dense_4"] == (row_of('Dense(32, activation="relu")'),) * 2


def test_a_narrow_dead_stack_with_nothing_on_its_layers_is_explained_by_nothing(fixture_target):
    target = fixture_target("dead_relu_stack.py", "build_narrow")
    head = row_of('Dense(8, activation="relu")')
    dead = []
    for seed in range(6):
        report = probe_target(target, ProbeOptions(seed=seed, repeats=1))
        gr104 = [d for d in report.findings if d.code == "GR104"]
        if gr104:
            dead.append(seed)
            assert all("explained by" not in d.message for d in report.findings)
            assert {"code": "GL101", "row": head} in gr104[0].extra["related"]
            loop = row_of('Dense(5, activation="relu"')
            assert {layer.source_rows for layer in report.layers[:-1]} == {(loop, loop)}
    assert dead  # some seed of 0–5 kills it


def test_a_multi_line_layer_call_spans_its_rows(tmp_path):
    module = tmp_path / "multi.py"
    module.write_text(
        "import keras\n"
        "from keras import layers\n"
        "\n"
        "def build():\n"
        "    return keras.Sequential([\n"
        "        keras.Input(shape=(4,)),\n"
        "        layers.Dense(\n"
        "            8,\n"
        "            activation='relu',\n"
        "            kernel_initializer='zeros',\n"
        "        ),\n"
        "        layers.Dense(1),\n"
        "    ])\n",
        encoding="utf-8",
    )
    backend = load()
    with recording(backend.keras) as origins:
        loaded = load_model(parse_target(f"{module}:build"), backend)
    rows = origins.rows_by_name(loaded.source_path)
    names = [layer.name for layer in loaded.model.layers]
    assert rows[names[0]] == (7, 11) and rows[names[1]] == (12, 12)
    assert backend.keras.layers.Layer.__init__.__module__.startswith("keras")  # put back afterwards


# --- on hand-made measurements (no TensorFlow) ----------------------------------------------


def _layers(backwards: list[float]) -> list[LayerStats]:
    hidden = [LayerStats(index=i, name=f"d{i}", type="Dense", activation="tanh", initializer="glorot_uniform",
                         forward_rms=1.0, backward_signal=b, weight_grad_norm=0.1, weight_norm=1.0,
                         relative_grad=0.1, source_rows=(10 + i, 10 + i)) for i, b in enumerate(backwards)]
    head = LayerStats(index=len(backwards), name="out", type="Dense", activation="softmax",
                      initializer="glorot_uniform", forward_rms=0.3, backward_signal=None, weight_grad_norm=0.1,
                      weight_norm=1.0, relative_grad=0.1, head=True, source_rows=(30, 30))
    return [*hidden, head]


def _report(layers: list[LayerStats], **kw) -> ProbeReport:
    return ProbeReport(target="m.py:f", filename="m.py", model_name="m", model_class="Sequential",
                       model_kind="sequential", layers=tuple(layers), loss="mse", loss_value=1.0,
                       loss_non_finite=False, inputs=(), batch_size=32, repeats=1, seed=0, **kw)


def _static(row: int, code: str = "GL101") -> Diagnostic:
    return Diagnostic(code, "initializer", "m.py", Position(row, 5), Position(row, 40))


# Healthy in d0–d4 and d8–d9; the signal falls by 1e-5 across d5–d7.
COLLAPSE = [1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 1e-3, 0.1, 0.1, 0.1]


def test_the_collapse_run_is_where_the_signal_falls_not_the_whole_stack():
    layers = _layers(COLLAPSE)
    run = collapse_run(layers[:-1], lambda layer: layer.backward_signal, upward=True)
    assert [layer.name for layer in run] == ["d5", "d6", "d7"]


def test_only_a_finding_in_the_collapse_run_explains_the_vanishing_signal():
    findings = judge(_report(_layers(COLLAPSE)), ProbeOptions(), static=[_static(12), _static(16), _static(30)])
    [gr101] = findings
    assert gr101.message.endswith("(explained by GL101 at line 16)")
    assert "it collapses across d5…d7" in gr101.message
    assert gr101.extra["span"] == ["d5", "d6", "d7"]
    assert gr101.extra["related"] == [{"code": "GL101", "row": 12}, {"code": "GL101", "row": 30}]


def test_a_finding_whose_rows_cover_a_multi_line_call_explains_it():
    layers = _layers(COLLAPSE)
    layers[6] = replace(layers[6], source_rows=(40, 44))
    finding = Diagnostic("GL101", "initializer", "m.py", Position(43, 13), Position(43, 40))
    [gr101] = judge(_report(layers), ProbeOptions(), static=[finding])
    assert gr101.message.endswith("(explained by GL101 at line 43)")


def test_predicted_and_measured_ratio_sit_side_by_side():
    report = _report(_layers(COLLAPSE), predicted_backward_ratio=3e-6)
    [gr101] = judge(report, ProbeOptions())
    assert "(1.0e-06 vs 0.1; predicted 3.0e-06; limit 0.001)" in gr101.message
    assert gr101.extra["predicted"] == 3e-6 and gr101.extra["ratio"] == pytest.approx(1e-5)


def test_a_zero_weight_gradient_is_blamed_on_the_layer_above_it():
    layers = _layers([0.3, 0.3, 0.3])
    layers[0] = replace(layers[0], weight_grad_norm=0.0, relative_grad=0.0)
    [gr101] = judge(_report(layers), ProbeOptions(), static=[_static(11, "GL103"), _static(12)])
    assert gr101.extra["criterion"] == "zero_gradient" and gr101.extra["span"] == ["d0", "d1"]
    assert gr101.message.endswith("(explained by GL103 at line 11)")
