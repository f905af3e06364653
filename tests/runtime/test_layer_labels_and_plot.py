"""The layer table and the plot label a layer with the activation that follows it; the plot
draws the GR101/GR102 thresholds and the predicted backward signal beside the measured one."""

from __future__ import annotations

import pytest

from gradlint.runtime.backend import load
from gradlint.runtime.plot import plot_figure, threshold_levels, tick_label, write_plot
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.structure import describe


@pytest.fixture(scope="module")
def keras():
    return load().keras


def labels(model, keras) -> list[str | None]:
    backend = load()
    return [row.activation for row in describe(model, backend).rows]


def test_a_dense_followed_by_an_activation_layer_is_labelled_with_it(keras):
    layers = keras.layers
    inputs = keras.Input(shape=(8,))
    x = layers.Dense(16)(inputs)
    x = layers.Activation("relu")(x)
    x = layers.Dense(16)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.LeakyReLU(negative_slope=0.1)(x)
    x = layers.Dense(16)(x)
    x = layers.BatchNormalization()(x)  # a normalization between: the Dense itself stays linear
    x = layers.ReLU(max_value=6.0)(x)
    x = layers.Dense(16, activation="tanh")(x)  # its own activation wins
    x = layers.ReLU()(x)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    assert labels(model, keras) == ["relu", "leaky_relu", "linear", "relu6", "tanh", "linear"]


def test_a_sequential_dense_relu_pair_is_relu(keras):
    layers = keras.layers
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8), layers.ReLU(), layers.Dense(8),
                              layers.Activation("sigmoid"), layers.Dense(2), layers.Softmax()])
    assert labels(model, keras) == ["relu", "sigmoid", "softmax"]


def test_a_layer_used_twice_is_not_given_one_consumer_s_activation(keras):
    layers = keras.layers
    inputs = keras.Input(shape=(4,))
    shared = layers.Dense(4)
    a = layers.ReLU()(shared(inputs))
    b = layers.Activation("tanh")(shared(a))
    model = keras.Model(inputs, b)
    assert labels(model, keras) == ["linear"]


@pytest.fixture(scope="module")
def deep_report(fixture_target):
    from gradlint.runtime.session import probe_target

    return probe_target(fixture_target("deep_relu_mlp.py", "build_model"), ProbeOptions(repeats=1))


def test_the_plot_draws_thresholds_and_prediction_beside_measurement(deep_report, tmp_path):
    options = ProbeOptions()
    figure = plot_figure([("seed 0", deep_report)], options)
    top, bottom = figure.axes
    by_label = {line.get_label(): line for line in top.get_lines()}
    assert {"seed 0 measured", "seed 0 predicted"} <= set(by_label)
    low, high = threshold_levels(deep_report, options)
    last_hidden = deep_report.ratio_layers()[1].backward_signal
    assert low == pytest.approx(last_hidden * 1e-3) and high == pytest.approx(last_hidden * 1e3)
    drawn = {line.get_label(): line.get_ydata()[0] for line in top.get_lines() if line.get_label().startswith("GR")}
    assert sorted(drawn.values()) == pytest.approx([low, high])
    assert [line.get_ydata()[0] for line in bottom.get_lines() if line.get_label().startswith("GR101")] == [1e-7]
    ticks = [t.get_text() for t in bottom.get_xticklabels()]
    assert ticks[0] == "dense (relu)" and tick_label(deep_report, 30) == "dense_30 (softmax)"
    write_plot(tmp_path / "p.svg", [("seed 0", deep_report)], options)
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")
