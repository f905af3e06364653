"""GR104 dead units on real Keras models: narrow ReLU stacks that die at some seeds, the same
stack with separate ReLU layers, and a wide healthy MLP that must stay clean."""

from __future__ import annotations

import numpy as np
import pytest

from gradlint.runtime.backend import load
from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.targets import load_model, parse_target
from gradlint.runtime.units import dead_units

SEEDS = range(6)


def test_units_never_positive_over_batch_and_positions_are_dead():
    out = np.array([[0.0, 1.0, -2.0], [0.0, 0.0, -1.0]])
    assert dead_units(out) == (2, 3)
    conv = np.zeros((4, 5, 5, 8))
    conv[2, 3, 1, 5] = 0.1  # one position of one sample keeps channel 5 alive
    assert dead_units(conv) == (7, 8)
    assert dead_units(np.array([[np.nan, 1.0]])) == (0, 2)  # NaN is GR103's, not a dead unit
    assert dead_units(np.array([1.0, 2.0])) is None  # no units axis


@pytest.fixture(scope="module")
def backend():
    return load()


def dead_directly(target: str, seed: int, backend) -> bool:
    """Build the model as the probe does at `seed` and run a fresh batch through its layers one
    by one: is some hidden ReLU layer's output zero for every sample?"""
    keras = backend.keras
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = load_model(parse_target(target), backend).model
    x = np.random.default_rng(1000 + seed).standard_normal((256, *model.input_shape[1:])).astype("float32")
    for layer in model.layers[:-1]:
        x = np.asarray(layer(x))
        if not np.any(x > 0):
            return True
    return False


@pytest.fixture(scope="module")
def narrow(fixture_target, backend):
    """{seed: (probe report, dead by the direct check)} for the 16 × Dense(5, he_uniform) stack."""
    target = fixture_target("narrow_relu_stack.py", "build_model")
    found = {}
    for seed in SEEDS:
        report = probe_target(target, ProbeOptions(seed=seed, repeats=1))
        found[seed] = (report, dead_directly(target, seed, backend))
    return found


def test_the_narrow_stack_dies_at_some_seeds_and_not_at_others(narrow):
    dead = {seed for seed, (_, is_dead) in narrow.items() if is_dead}
    print(f"dead at seeds {sorted(dead)} of {list(SEEDS)}")
    assert dead and dead != set(SEEDS)  # the test can tell the two apart


def test_gr104_appears_exactly_in_the_seeds_where_the_stack_is_dead(narrow):
    for seed, (report, is_dead) in narrow.items():
        codes = {d.code for d in report.findings}
        assert ("GR104" in codes) == is_dead, (seed, [d.message for d in report.findings])


def test_gr104_names_the_first_dead_layer_the_span_and_the_width(narrow):
    for report, is_dead in narrow.values():
        if not is_dead:
            continue
        [finding] = [d for d in report.findings if d.code == "GR104"]
        dead = [layer for layer in report.layers if layer.units and layer.dead_units == layer.units]
        first = dead[0]
        assert finding.extra["first_dead"] == first.name and finding.extra["width"] == 5
        assert f"all 5 units of {first.name} (layer {first.index + 1}) output zero" in finding.message
        assert f"{first.name}…" in finding.extra["where"] or finding.extra["where"] == f"layer {first.name}, width 5"
        assert finding.extra["where"].endswith("width 5")
        # Every layer from the first dead one on is dead: nothing reaches them from below.
        assert all(layer.dead_units == layer.units for layer in report.layers[first.index:-1])


def test_a_healthy_seed_still_counts_its_dead_units(narrow):
    report, _ = next(item for item in narrow.values() if not item[1])
    counts = [layer.dead_units for layer in report.layers[:-1]]
    assert all(c is not None and 0 <= c < 5 for c in counts)


def test_separate_relu_layers_label_the_dense_relu_and_die_alike(fixture_target, backend, narrow):
    target = fixture_target("narrow_relu_stack.py", "build_separate_relu")
    dead_seed = next(seed for seed, (_, is_dead) in narrow.items() if is_dead)
    report = probe_target(target, ProbeOptions(seed=dead_seed, repeats=1))
    assert [layer.activation for layer in report.layers[:-1]] == ["relu"] * 16  # not "linear"
    assert report.layers[-1].activation == "softmax"
    # The same initial draws as the stack with ReLU as the Dense's own activation: dead alike.
    assert dead_directly(target, dead_seed, backend)
    assert "GR104" in {d.code for d in report.findings}


def test_a_wide_healthy_relu_mlp_has_no_dead_stack(fixture_target):
    target = fixture_target("narrow_relu_stack.py", "build_wide")
    for seed in (0, 1, 2):
        report = probe_target(target, ProbeOptions(seed=seed, repeats=1))
        assert report.findings == ()
        assert all(layer.dead_units is not None and layer.dead_units < layer.units for layer in report.layers[:-1])
