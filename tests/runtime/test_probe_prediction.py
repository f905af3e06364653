"""The probe's prediction beside its measurement: the signal model's runtime front-end.

The reference cases are those of the shared signal-propagation note (30 × Dense + a head;
measured with TensorFlow 2.21 / Keras 3 at width 256): relu + glorot ≈ 4e-5, relu + he ≈ 1,
tanh + glorot ≈ 0.2, sigmoid + glorot ≈ 6e-19. Here at width 128, to keep the suite fast; the
first/last ratio of equal-width stacks does not depend on the width.
"""

from __future__ import annotations

import math
import textwrap

import pytest

from gradlint.runtime.prediction import (
    BuiltPrediction,
    RowPrediction,
    einsum_fans,
    with_prediction,
)
from gradlint.runtime.results import LayerStats, ProbeReport
from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions

MODELS = textwrap.dedent('''
    import keras
    from keras import layers


    def stack(activation, initializer, depth=30, width=128):
        model = keras.Sequential([keras.Input((width,))])
        for _ in range(depth):
            model.add(layers.Dense(width, activation=activation, kernel_initializer=initializer))
        model.add(layers.Dense(10, activation="softmax"))
        return model


    def relu_glorot():
        return stack("relu", "glorot_uniform")


    def relu_he():
        return stack("relu", "he_normal")


    def tanh_glorot():
        return stack("tanh", "glorot_uniform")


    def sigmoid_glorot():
        return stack("sigmoid", "glorot_uniform")


    def residual_funnel():
        """A functional model: tanh, batch norm, a funnel of widths, residual blocks, dropout."""
        inputs = keras.Input((64,))
        x = layers.Dense(96, activation="tanh")(inputs)
        x = layers.BatchNormalization()(x)
        x = layers.Dense(128, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=0.1))(x)
        for _ in range(6):
            y = layers.Dense(128, activation="relu", kernel_initializer="he_normal")(x)
            y = layers.Dense(128, kernel_initializer="he_normal")(y)
            x = layers.Add()([x, y])
        x = layers.Dropout(0.2)(x)
        x = layers.Dense(48, activation="gelu")(x)
        outputs = layers.Dense(10, activation="softmax")(x)
        return keras.Model(inputs, outputs)


    def pre_ln_mlp():
        """Pre-LN transformer-style MLP blocks on sequences: LayerNorm → EinsumDense → gelu → Dense, added back."""
        inputs = keras.Input((8, 64))
        x = inputs
        for _ in range(6):
            y = layers.LayerNormalization()(x)
            y = layers.EinsumDense("abc,cd->abd", output_shape=(8, 128), activation="gelu")(y)
            y = layers.Dense(64)(y)
            x = layers.Add()([x, y])
        x = layers.Flatten()(x)
        return keras.Model(inputs, layers.Dense(3)(x))


    def post_ln_blocks_into_softmax():
        """The last hidden row ends a residual branch, and the head's softmax is opaque to the
        recurrence: the skip's share must still count."""
        inputs = keras.Input((128,))
        x = inputs
        for _ in range(8):
            y = layers.Dense(128, activation="silu", kernel_initializer="he_normal")(x)
            y = layers.LayerNormalization()(y)
            x = layers.Add()([x, y])
        return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


    def conv_on_tiny_maps():
        """Zero padding on 4 × 4 maps: the borders lose signal every layer; the mean field knows no borders."""
        model = keras.Sequential([keras.Input((4, 4, 16))])
        for _ in range(24):
            model.add(layers.Conv2D(16, 3, padding="same", activation="relu", kernel_initializer="he_normal"))
        model.add(layers.Flatten())
        model.add(layers.Dense(10))
        return model


    def concatenated_branches():
        inputs = keras.Input((32,))
        a = layers.Dense(32, activation="relu")(inputs)
        b = layers.Dense(32, activation="tanh")(inputs)
        x = layers.Concatenate()([a, b])
        x = layers.Dense(32, activation="relu")(x)
        return keras.Model(inputs, layers.Dense(2)(x))


    def projection_shortcut():
        inputs = keras.Input((32,))
        x = layers.Dense(64, activation="relu")(inputs)
        shortcut = layers.Dense(16)(x)
        x = layers.Dense(16, activation="relu")(x)
        x = layers.Add()([shortcut, x])
        return keras.Model(inputs, layers.Dense(2)(x))
''')


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """Each model probed once (default options: batch 32, 3 repeats, seed 0)."""
    path = tmp_path_factory.mktemp("models") / "models.py"
    path.write_text(MODELS, encoding="utf-8")
    cache: dict[str, ProbeReport] = {}

    def get(factory: str) -> ProbeReport:
        if factory not in cache:
            cache[factory] = probe_target(f"{path}:{factory}", ProbeOptions())
        return cache[factory]

    get.path = path  # type: ignore[attr-defined]
    return get


def decades(predicted: float, measured: float) -> float:
    return abs(math.log10(predicted / measured))


@pytest.mark.parametrize(("factory", "low", "high"), [
    ("relu_glorot", 1e-5, 2e-4),  # reference ≈ 4e-5
    ("relu_he", 0.5, 2.0),  # ≈ 1
    ("tanh_glorot", 0.1, 0.5),  # ≈ 0.2
    ("sigmoid_glorot", 1e-20, 1e-17),  # ≈ 6e-19
])
def test_the_prediction_matches_the_reference_measurements(probed, factory, low, high):
    report = probed(factory)
    measured, predicted = report.backward_ratio(), report.predicted_backward_ratio
    assert low < measured < high
    assert predicted is not None and decades(predicted, measured) < math.log10(1.5)
    growth = report.forward_growth()
    assert report.predicted_forward_growth is not None
    assert decades(report.predicted_forward_growth, growth[0]) < math.log10(1.5)
    assert not any("signal model" in note for note in report.notes)


def test_every_hidden_layer_has_its_prediction_beside_the_measurement(probed):
    report = probed("relu_glorot")
    hidden, head = report.layers[:-1], report.layers[-1]
    # Anchored at the last hidden layer: there the two agree by construction.
    assert hidden[-1].predicted_backward_signal == pytest.approx(hidden[-1].backward_signal)
    for layer in hidden:
        assert decades(layer.predicted_backward_signal, layer.backward_signal) < math.log10(1.5)
        assert decades(layer.predicted_forward_rms, layer.forward_rms) < math.log10(1.5)
    assert head.head and head.predicted_backward_signal is None  # the backward walk starts there


def test_a_functional_model_with_normalization_residual_adds_and_dropout(probed):
    report = probed("residual_funnel")
    assert report.model_kind == "functional"
    assert decades(report.predicted_backward_ratio, report.backward_ratio()) < math.log10(1.5)
    assert decades(report.predicted_forward_growth, report.forward_growth()[0]) < math.log10(1.5)
    norm = next(layer for layer in report.layers if layer.type == "BatchNormalization")
    assert decades(norm.predicted_forward_rms, norm.forward_rms) < 0.05  # normalized: ≈ 1


def test_pre_ln_residual_blocks_with_einsum_dense(probed):
    report = probed("pre_ln_mlp")
    assert [layer.type for layer in report.layers[:3]] == ["LayerNormalization", "EinsumDense", "Dense"]
    assert decades(report.predicted_backward_ratio, report.backward_ratio()) < math.log10(1.5)
    assert decades(report.predicted_forward_growth, report.forward_growth()[0]) < math.log10(1.5)


def test_a_residual_branch_that_ends_in_the_last_hidden_row(probed):
    report = probed("post_ln_blocks_into_softmax")
    assert report.layers[-2].type == "LayerNormalization" and report.layers[-1].head
    assert decades(report.predicted_backward_ratio, report.backward_ratio()) < math.log10(1.5)


def test_a_structure_the_model_does_not_know_is_named_in_a_note(probed):
    report = probed("conv_on_tiny_maps")
    assert report.predicted_backward_ratio > 10 * report.backward_ratio()
    [note] = [n for n in report.notes if n.startswith("the signal model predicts")]
    assert note.endswith("a structure the model does not know yet")
    assert f"measured {report.backward_ratio():.3g}" in note


@pytest.mark.parametrize(("factory", "reason"), [
    ("concatenated_branches", "concatenate"),
    ("projection_shortcut", "neither of them the identity"),
])
def test_a_graph_it_cannot_follow_has_no_prediction_and_says_why(probed, factory, reason):
    report = probed(factory)
    assert report.backward_ratio() is not None  # measured all the same
    assert report.predicted_backward_ratio is None and report.predicted_forward_growth is None
    assert all(layer.predicted_backward_signal is None for layer in report.layers)
    assert any(note.startswith("signal model: ") and reason in note for note in report.notes), report.notes


def test_json_summary_has_the_predicted_numbers_next_to_the_measured(probed, run_probe):
    result = run_probe(f"{probed.path}:relu_he", "--output-format", "json", "--repeats", "1")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    summary = data["summary"]
    assert list(summary)[:4] == ["backward_ratio", "forward_growth", "predicted_backward_ratio",
                                 "predicted_forward_growth"]
    assert decades(summary["predicted_backward_ratio"], summary["backward_ratio"]) < math.log10(1.5)
    first = data["layers"][0]
    assert first["predicted_backward_signal"] > 0 and first["predicted_forward_rms"] > 0
    assert data["layers"][-1]["predicted_backward_signal"] is None


def test_text_shows_a_predicted_column_and_the_predicted_summary(probed, run_probe):
    result = run_probe(f"{probed.path}:tanh_glorot", "--repeats", "1")
    assert result.exit_code == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "initializer" in line)
    assert header.index("backward") < header.index("predicted") < header.index("‖∂L/∂W‖")
    summary = next(line for line in result.stdout.splitlines() if line.startswith("backward signal dense/"))
    assert "(predicted 0.2" in summary and "forward RMS growth: ×" in summary and "(predicted ×" in summary


def test_a_subclassed_model_is_measured_but_gets_no_prediction_and_says_why(fixture_target):
    report = probe_target(fixture_target("subclassed_mlp.py", "build_model"), ProbeOptions(repeats=1))
    assert report.predicted_backward_ratio is None and report.backward_ratio() is not None
    assert [note for note in report.notes if note.startswith(("signal model", "the signal model"))] == [
        "signal model: subclassed model: its call() is Python code the signal model cannot follow"]


# --- without TensorFlow: plain data -----------------------------------------------------------


def _layers(backwards: list[float | None]) -> tuple[LayerStats, ...]:
    return tuple(
        LayerStats(index=i, name=f"dense_{i}", type="Dense", activation="relu", initializer="glorot_uniform",
                   forward_rms=1.0, backward_signal=b, weight_grad_norm=0.1, weight_norm=10.0, relative_grad=0.01,
                   head=i == len(backwards) - 1)
        for i, b in enumerate(backwards)
    )


def _report(backwards: list[float | None]) -> ProbeReport:
    return ProbeReport(target="m.py:build", filename="m.py", model_name="m", model_class="Sequential",
                       model_kind="sequential", layers=_layers(backwards), loss="mse", loss_value=1.0,
                       loss_non_finite=False, inputs=(), batch_size=32, repeats=3, seed=0)


def test_the_note_appears_only_beyond_a_factor_ten():
    report = _report([1e-4, 1e-2, 1.0, None])  # measured ratio 1e-4, forward growth ×1
    rows = (RowPrediction(1.0, 1e-3), RowPrediction(1.0, 1e-1), RowPrediction(1.0, 1.0), RowPrediction(1.0, None))
    close = with_prediction(report, BuiltPrediction(rows, 5e-4, 1.0))
    assert close.predicted_backward_ratio == 5e-4 and not close.notes
    assert [layer.predicted_backward_signal for layer in close.layers] == [1e-3, 1e-1, 1.0, None]
    far = with_prediction(report, BuiltPrediction(rows, 2e-3, 20.0))
    assert far.notes == (
        ("the signal model predicts a backward ratio of 2.0e-03, measured 1.0e-04: a structure the model "
         "does not know yet"),
        "the signal model predicts a forward growth of ×20, measured ×1: a structure the model does not know yet",
    )


def test_einsum_fans_sum_over_the_contracted_and_the_new_dimensions():
    assert einsum_fans("ab,bc->ac", (64, 32)) == (64, 32)
    assert einsum_fans("abc,cde->abde", (16, 4, 8)) == (16, 32)
    assert einsum_fans("...b,bc->...c", (10, 5)) == (10, 5)
    assert einsum_fans("abcd,cde->abe", (4, 8, 3)) == (32, 3)  # two axes contracted
