"""The compiled pass: the same numbers as an eager pass and as a hand-written reference, for
every model kind, with a subclassed model's sublayers measured one by one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradlint.runtime.backend import load
from gradlint.runtime.probe import Prober
from gradlint.runtime.targets import load_model, parse_target


@pytest.fixture(scope="module")
def backend():
    return load()


def small_mlp(keras):
    """Dense layers with a BatchNorm between them (training-mode statistics) and a softmax."""
    L = keras.layers
    keras.utils.set_random_seed(1)
    return keras.Sequential([
        keras.Input(shape=(10,)), L.Dense(16, activation="tanh"), L.BatchNormalization(),
        L.Dense(16, activation="relu", kernel_initializer="he_normal"), L.Dense(4, activation="softmax"),
    ], name="small")


def passes(model, backend, compiled: bool):
    prober = Prober(model, backend, seed=3, compiled=compiled)
    batch = prober.batch(8)
    return prober, batch, prober.measure(batch)


def close(a, b, rel=1e-4):
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-9))


def test_the_compiled_pass_gives_the_eager_numbers(backend):
    model = small_mlp(backend.keras)
    compiled_prober, batch, compiled = passes(model, backend, compiled=True)
    eager_prober = Prober(model, backend, seed=3, compiled=False)
    eager = eager_prober.measure(batch, compiled.targets)
    assert compiled_prober.compiled and not eager_prober.compiled
    assert math.isclose(compiled.loss, eager.loss, rel_tol=1e-5)
    for c, e in zip(compiled.rows, eager.rows):
        for attr in ("forward_rms", "backward_signal", "weight_grad_norm", "weight_norm", "dead_units"):
            assert close(getattr(c, attr), getattr(e, attr)), attr
    assert all(row.forward_rms and row.weight_grad_norm for row in compiled.rows)


def test_the_compiled_pass_matches_a_hand_written_tape(backend):
    """Each layer applied by hand under a tape that watches its output: the reference."""
    tf, keras = backend.tf, backend.keras
    model = small_mlp(keras)
    _, batch, result = passes(model, backend, compiled=True)
    [y] = result.targets
    layers = [layer for layer in model.layers]
    with tf.GradientTape() as tape:
        x, outputs = tf.convert_to_tensor(batch[0]), []
        for layer in layers:
            x = layer(x, training=True)
            tape.watch(x)
            outputs.append(x)
        loss = tf.reduce_mean(keras.losses.CategoricalCrossentropy()(y, x))
    grads = tape.gradient(loss, outputs[:-1] + [v for layer in layers for v in layer.trainable_weights])
    output_grads, weight_grads = grads[:len(outputs) - 1], grads[len(outputs) - 1:]
    assert math.isclose(result.loss, float(loss), rel_tol=1e-5)
    for i, row in enumerate(result.rows):
        out = outputs[i].numpy().astype("float64")
        assert math.isclose(row.forward_rms, float(np.sqrt(np.mean(out ** 2))), rel_tol=1e-5)
        if i < len(output_grads):
            assert math.isclose(row.backward_signal, float(np.linalg.norm(output_grads[i].numpy())), rel_tol=1e-4)
    expected = []
    for layer in layers:
        n = len(layer.trainable_weights)
        expected.append(math.sqrt(sum(float(np.sum(g.numpy().astype("float64") ** 2)) for g in weight_grads[:n])))
        weight_grads = weight_grads[n:]
    assert [round(r.weight_grad_norm, 5) for r in result.rows] == [round(e, 5) for e in expected]


def test_a_functional_model_with_residuals_gives_the_eager_numbers(backend, fixture_target):
    model = load_model(parse_target(fixture_target("functional_resnet.py", "build_model")), backend).model
    _, batch, compiled = passes(model, backend, compiled=True)
    eager = Prober(model, backend, seed=3, compiled=False).measure(batch, compiled.targets)
    for c, e in zip(compiled.rows, eager.rows):
        assert close(c.forward_rms, e.forward_rms) and close(c.backward_signal, e.backward_signal, rel=1e-3)


@pytest.fixture(scope="module")
def tower(backend, fixture_target):
    model = load_model(parse_target(fixture_target("subclassed_calls.py", "build_tower")), backend).model
    prober = Prober(model, backend, seed=0)
    return model, prober, prober.measure(prober.batch(8))


def test_a_subclassed_model_is_measured_per_layer_in_the_order_call_runs(tower):
    model, prober, result = tower
    assert [row.name for row in prober.structure.rows] == [
        model.first.name, model.spare.name, model.norm.name, model.second.name, model.head.name]
    measured = dict(zip((row.name for row in prober.structure.rows), result.rows))
    for layer in (model.first, model.norm, model.second):
        assert measured[layer.name].forward_rms > 0 and measured[layer.name].backward_signal > 0
    assert measured[model.head.name].forward_rms > 0
    assert [prober.structure.rows[i].name for i in prober.structure.heads] == [model.head.name]


def test_a_sublayer_never_called_is_not_measured_and_named(tower):
    model, prober, result = tower
    spare = dict(zip((row.name for row in prober.structure.rows), result.rows))[model.spare.name]
    assert spare.forward_rms is None and spare.backward_signal is None and spare.no_gradient
    assert spare.weight_norm > 0
    assert prober.notes == [f"not measured per layer (not called in the model's forward pass): {model.spare.name}"]


def test_a_subclassed_model_measures_as_its_functional_twin(backend, tower):
    """The same layer objects in a Sequential: the same weights, so the same numbers."""
    keras = backend.keras
    model, prober, _ = tower
    twin = keras.Sequential([keras.Input(shape=(12,)), model.first, model.norm, model.second, model.head])
    batch = prober.batch(8)
    result = prober.measure(batch)
    twin_result = Prober(twin, backend).measure(batch, result.targets)
    by_name = dict(zip((row.name for row in prober.structure.rows), result.rows))
    for row, measured in zip(Prober(twin, backend).structure.rows, twin_result.rows):
        mine = by_name[row.name]
        assert close(mine.forward_rms, measured.forward_rms) and close(mine.backward_signal, measured.backward_signal)
        assert close(mine.weight_grad_norm, measured.weight_grad_norm)


def test_a_python_branch_on_a_tensor_is_traced_through_autograph(backend, fixture_target):
    model = load_model(parse_target(fixture_target("subclassed_calls.py", "build_branchy")), backend).model
    prober = Prober(model, backend, input_shapes=((6,),))  # (Keras cannot record a shape it cannot trace)
    result = prober.measure(prober.batch(8))
    assert prober.compiled and prober.notes == []
    assert result.rows[0].forward_rms > 0 and result.rows[0].backward_signal > 0


def test_a_call_that_reads_numpy_runs_eagerly_and_says_so(backend, fixture_target):
    model = load_model(parse_target(fixture_target("subclassed_calls.py", "build_numpyish")), backend).model
    prober = Prober(model, backend, input_shapes=((6,),))
    result = prober.measure(prober.batch(8))
    assert not prober.compiled
    [note] = prober.notes
    assert note.startswith("the pass could not be compiled (") and note.endswith("); it ran eagerly")
    assert result.rows[0].forward_rms > 0 and result.rows[0].backward_signal > 0
