"""Every kind of model the probe accepts: saved files, functional graphs with several inputs
and BatchNorm, subclassed models, Embedding + recurrent layers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradlint.runtime.backend import load
from gradlint.runtime.probe import SUBCLASSED_NOTE, Prober
from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions, parse_shape
from gradlint.runtime.targets import load_model, parse_target


@pytest.fixture(scope="module")
def backend():
    return load()


def build(fixture_target, backend, file: str, factory: str):
    return load_model(parse_target(fixture_target(file, factory)), backend).model


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory, fixture_target, backend):
    """The deep sigmoid model as .keras (vanishes) and a small He-initialised model as .h5."""
    folder = tmp_path_factory.mktemp("saved")
    keras = backend.keras
    sigmoid = build(fixture_target, backend, "deep_sigmoid_mlp.py", "build_model")
    with warnings.catch_warnings():  # Keras' own saving code warns under NumPy 2
        warnings.simplefilter("ignore", DeprecationWarning)
        sigmoid.save(folder / "sigmoid.keras")
    small = keras.Sequential([
        keras.Input(shape=(20,)),
        *[keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal") for _ in range(4)],
        keras.layers.Dense(3, activation="softmax"),
    ])
    small.compile(optimizer="adam", loss="categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small.save(folder / "small.h5")
    return folder


def test_a_saved_keras_model_is_probed_with_its_compiled_loss(saved_models, run_probe):
    path = saved_models / "sigmoid.keras"
    result = run_probe(str(path), "--output-format", "json", "--repeats", "1")
    assert result.exit_code == 1, result.stderr
    data = result.json()
    assert data["loss"] == "mse (compiled)"
    assert len(data["layers"]) == 31
    assert {f["code"] for f in data["findings"]} == {"GR101"}
    assert data["findings"][0]["filename"] == str(path)
    assert data["findings"][0]["location"] == {"row": 1, "column": 1}  # no source place


def test_a_saved_h5_model_is_probed_and_clean(saved_models, run_probe):
    result = run_probe(str(saved_models / "small.h5"), "--repeats", "1")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "categorical_crossentropy (compiled)" in result.stdout


@pytest.fixture(scope="module")
def resnet_report(fixture_target):
    return probe_target(fixture_target("functional_resnet.py", "build_model"), ProbeOptions(repeats=2))


def test_functional_model_with_two_inputs_batchnorm_and_residuals(resnet_report):
    report = resnet_report
    assert report.model_kind == "functional"
    assert report.inputs == ("image (32, 16, 16, 3) float32", "features (32, 8) float32")
    types = [layer.type for layer in report.layers]
    assert types[:2] == ["Conv2D", "Conv2D"] and types.count("BatchNormalization") == 4
    assert all(layer.forward_rms and layer.backward_signal for layer in report.layers if not layer.head)
    heads = [layer.name for layer in report.layers if layer.head]
    assert heads == [report.layers[-1].name]
    assert report.findings == ()
    assert 0.1 < report.backward_ratio() < 10


def test_functional_deep_tanh_with_a_tiny_initializer_vanishes(fixture_target):
    report = probe_target(fixture_target("functional_resnet.py", "build_deep_tanh_model"), ProbeOptions(repeats=1))
    assert report.model_kind == "functional"
    assert {d.code for d in report.findings} == {"GR101"}
    assert report.backward_ratio() < 1e-9


def test_probing_leaves_weights_and_batchnorm_statistics_unchanged(fixture_target, backend):
    model = build(fixture_target, backend, "functional_resnet.py", "build_model")
    before = [w.numpy().copy() for w in model.weights]
    prober = Prober(model, backend, seed=0)
    prober.measure(prober.batch(16))
    after = [w.numpy() for w in model.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_a_subclassed_model_is_measured_per_layer(fixture_target):
    report = probe_target(fixture_target("subclassed_mlp.py", "build_model"), ProbeOptions(repeats=1))
    assert report.model_kind == "subclassed"
    assert SUBCLASSED_NOTE not in report.notes
    assert [layer.type for layer in report.layers[:2]] == ["Dense", "LayerNormalization"]
    assert len(report.layers) == 13  # 6 × (Dense, LayerNorm) inside user-defined blocks, and the head
    assert all(layer.forward_rms > 0 and layer.backward_signal > 0 for layer in report.layers if not layer.head)
    assert all(layer.weight_grad_norm > 0 for layer in report.layers)
    assert [layer.name for layer in report.layers if layer.head] == [report.layers[-1].name]
    assert 0.1 < report.backward_ratio() < 10
    assert report.findings == ()


def test_an_unbuilt_subclassed_model_needs_an_input_shape(run_probe, fixture_target):
    target = fixture_target("subclassed_mlp.py", "build_unbuilt_model")
    result = run_probe(target)
    assert result.exit_code == 2
    assert f"error: {target}: cannot determine the input shape of the subclassed model" in result.stderr
    assert "pass --input-shape" in result.stderr
    result = run_probe(target, "--input-shape", "None,20", "--repeats", "1")
    assert result.exit_code == 0, result.stderr


def test_a_subclassed_model_with_a_zero_gradient_layer(fixture_target):
    report = probe_target(fixture_target("subclassed_mlp.py", "build_dead_model"), ProbeOptions(repeats=1))
    [finding] = [d for d in report.findings if d.extra.get("criterion") == "zero_gradient"]
    assert finding.code == "GR101"
    assert finding.extra["layers"] == ["dense", "dense_1"]


def test_embedding_lstm_gets_token_ids_below_the_vocabulary(fixture_target):
    report = probe_target(fixture_target("embedding_lstm.py", "build_model"), ProbeOptions(repeats=2))
    assert report.inputs == ("input_layer (32, 80) int in [0, 5000)",)
    assert [layer.type for layer in report.layers] == ["Embedding", "LSTM", "Dense"]
    assert report.layers[1].activation == "tanh"
    assert all(layer.weight_grad_norm > 0 and not layer.non_finite for layer in report.layers)
    assert report.findings == ()


def test_variable_length_sequences_get_the_default_length_or_the_given_one(run_probe, fixture_target):
    target = fixture_target("embedding_lstm.py", "build_variable_length_model")
    result = run_probe(target, "--repeats", "1", "--output-format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["inputs"] == [
        "input_layer (32, 100) int in [0, 5000) (default sequence length 100; --input-shape sets it)"]
    result = run_probe(target, "--input-shape", "50", "--repeats", "1", "--output-format", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["inputs"] == ["input_layer (32, 50) int in [0, 5000)"]
    assert [layer["type"] for layer in data["layers"]] == ["Embedding", "Bidirectional", "Dense"]


def test_the_input_shape_fills_only_unknown_dimensions(backend, fixture_target):
    model = build(fixture_target, backend, "embedding_lstm.py", "build_variable_length_model")
    prober = Prober(model, backend, input_shapes=(parse_shape("None,30"),))  # leading None: the batch
    [batch] = prober.batch(4)
    assert batch.shape == (4, 30) and batch.dtype == np.int32
    assert 0 <= batch.min() and batch.max() < 5000
