"""GradientMonitor in short real `fit` runs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradlint.keras import GradientMonitor, GradientProblemError, GradientProblemWarning
from gradlint.runtime.backend import load
from gradlint.runtime.targets import load_model, parse_target


@pytest.fixture(scope="module")
def keras():
    return load().keras


@pytest.fixture
def build(fixture_target):
    def make(file: str):
        load().keras.backend.clear_session()  # layer names from "dense" again
        return load_model(parse_target(fixture_target(file, "build_model")), load()).model

    return make


def regression_data(n: int, features: int):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, features)).astype("float32"), rng.standard_normal((n, 1)).astype("float32")


def fit(model, x, y, monitor, epochs: int = 2):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=epochs, batch_size=16, callbacks=[monitor], verbose=0)
    return history, [w for w in caught if issubclass(w.category, GradientProblemWarning)]


def test_it_is_a_keras_callback(keras):
    monitor = GradientMonitor()
    assert isinstance(monitor, keras.callbacks.Callback)
    assert type(monitor).__name__ == "GradientMonitor"


def test_deep_sigmoid_training_warns_once_per_finding_and_logs_norms(build):
    model = build("deep_sigmoid_mlp.py")
    x, y = regression_data(64, 64)
    monitor = GradientMonitor(every_n_batches=2)
    history, warned = fit(model, x, y, monitor)
    assert len(warned) == 1  # found at the first probe, not repeated at the next three
    assert "GradientMonitor, step 1 (epoch 1): GR101 vanishing gradients" in str(warned[0].message)
    assert [r["step"] for r in monitor.records] == [1, 3, 5, 7]
    assert all(r["codes"] == ["GR101"] for r in monitor.records)
    assert {d.extra["criterion"] for d in monitor.findings} == {"backward_ratio", "relative_grad"}
    # Per-layer gradient norms in the History, one value per epoch.
    assert len(history.history["grad_norm/dense"]) == 2 == len(history.history["loss"])
    assert history.history["grad_norm/dense"][0] < 1e-10 < history.history["grad_norm/dense_29"][0]


def test_he_initialised_training_is_quiet_with_a_held_real_batch(keras):
    keras.backend.clear_session()
    model = keras.Sequential(
        [keras.Input(shape=(32,)),
         *[keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal") for _ in range(8)],
         keras.layers.Dense(10, activation="softmax")],
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((48, 32)).astype("float32")
    y = rng.integers(0, 10, size=48)
    monitor = GradientMonitor(every_n_batches=1, batch=(x[:16], y[:16]))
    _, warned = fit(model, x, y, monitor, epochs=1)
    assert warned == []
    assert len(monitor.records) == 3 and all(r["codes"] == [] for r in monitor.records)
    assert all(r["layers"]["dense"]["relative_grad"] > 1e-3 for r in monitor.records)


def test_on_problem_raise_stops_fit_with_the_findings(build):
    model = build("deep_sigmoid_mlp.py")
    x, y = regression_data(64, 64)
    with pytest.raises(GradientProblemError) as info:
        model.fit(x, y, epochs=1, batch_size=16, verbose=0,
                  callbacks=[GradientMonitor(every_n_batches=1, on_problem="raise")])
    assert {d.code for d in info.value.findings} == {"GR101"}


def test_on_problem_stop_ends_training_after_the_batch(build):
    model = build("deep_sigmoid_mlp.py")
    x, y = regression_data(64, 64)
    history, warned = fit(model, x, y, GradientMonitor(every_n_batches=1, on_problem="stop"), epochs=5)
    assert len(history.history["loss"]) == 1
    assert len(warned) == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"every_n_batches": 0}, "every_n_batches must be a positive integer"),
    ({"on_problem": "ignore"}, "on_problem must be one of 'warn', 'raise', 'stop'"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GradientMonitor(**kwargs)
