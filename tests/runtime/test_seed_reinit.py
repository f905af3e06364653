"""Seeds after the first: the built model's weights redrawn in place, exactly as a rebuild at that seed."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from gradlint.runtime.reinit import Redraw, draws, plan
from gradlint.runtime.seeds import probe_seeds
from gradlint.runtime.session import probe_and_keep, probe_kept, probe_target
from gradlint.runtime.settings import ProbeOptions


def _options(seed: int) -> ProbeOptions:
    return ProbeOptions(seed=seed, repeats=1)


def _redraw(target: str, seed: int = 0):
    report, kept = probe_and_keep(target, _options(seed), keep=True)
    assert kept is not None
    planned = plan(kept.model, kept.recorded, seed)
    return report, kept, planned


def _values(model) -> dict[str, np.ndarray]:
    return {v.path: np.array(v.numpy()) for v in model.variables}


def _assert_same(redrawn: dict[str, np.ndarray], rebuilt: dict[str, np.ndarray]) -> None:
    assert redrawn.keys() == rebuilt.keys()
    for path, value in rebuilt.items():
        if path.endswith("seed_generator_state"):  # [seed, calls]: the rebuild's probe has called it
            assert redrawn[path][0] == value[0], path
        else:
            assert np.array_equal(redrawn[path], value), path


def test_the_replayed_draws_are_the_seeds_keras_gives_unseeded_initializers():
    from gradlint.runtime.backend import load

    keras = load().keras
    from keras.src.random.seed_generator import make_default_seed

    keras.utils.set_random_seed(5)
    assert [make_default_seed() for _ in range(4)] == draws(5, 4)


@pytest.mark.parametrize("file, factory", [
    ("narrow_relu_stack.py", "build_model"),
    ("functional_resnet.py", "build_model"),  # BatchNorm: gamma, beta, moving statistics
    ("embedding_lstm.py", "build_model"),  # Embedding, LSTM (orthogonal, forget-gate bias), seed states
    ("subclassed_mlp.py", "build_model"),  # weights made in the model's own build()
    ("seeded_factories.py", "build_plain"),  # Dropout's seed generator
    ("seeded_factories.py", "build_custom_layer"),  # add_weight in a user layer, no attribute names it
])
def test_redrawn_weights_are_a_rebuilds_bit_for_bit(fixture_target, file, factory):
    target = fixture_target(file, factory)
    _, kept, redraw = _redraw(target)
    assert isinstance(redraw, Redraw), redraw
    first = _values(kept.model)
    redraw.apply(3)
    redrawn = _values(kept.model)
    _, rebuilt = probe_and_keep(target, _options(3), keep=True)
    assert rebuilt is not None
    _assert_same(redrawn, _values(rebuilt.model))
    random_kernels = [p for p, v in first.items() if p.endswith("kernel") and np.unique(v).size > 1]
    assert random_kernels and all(not np.array_equal(first[p], redrawn[p]) for p in random_kernels)


def test_an_initializer_with_its_own_seed_keeps_its_weights_at_every_seed(fixture_target):
    target = fixture_target("seeded_factories.py", "build_fixed_seed")
    _, kept, redraw = _redraw(target)
    assert isinstance(redraw, Redraw), redraw
    first = _values(kept.model)
    redraw.apply(4)
    redrawn = _values(kept.model)
    _, rebuilt = probe_and_keep(target, _options(4), keep=True)
    assert rebuilt is not None
    _assert_same(redrawn, _values(rebuilt.model))
    fixed, drawn = ("sequential/dense/kernel", "sequential/dense_1/kernel"), "sequential/dense_2/kernel"
    assert all(np.array_equal(first[p], redrawn[p]) for p in fixed)  # HeNormal(seed=7)
    assert not np.array_equal(first[drawn], redrawn[drawn])  # the output layer's default, unseeded


def test_each_layers_statistics_at_a_redrawn_seed_are_a_rebuilds(fixture_target):
    target = fixture_target("seeded_factories.py", "build_plain")
    _, kept, redraw = _redraw(target)
    assert isinstance(redraw, Redraw)
    for seed in (1, 2, 5):
        again = probe_kept(kept, _options(seed), prepare=functools.partial(redraw.apply, seed))
        alone = probe_target(target, _options(seed))
        assert [d.code for d in again.findings] == [d.code for d in alone.findings]
        assert again.loss_value == pytest.approx(alone.loss_value, rel=1e-5)
        for a, b in zip(again.layers, alone.layers, strict=True):
            assert a.name == b.name
            assert a.forward_rms == pytest.approx(b.forward_rms, rel=1e-5)
            assert a.backward_signal == pytest.approx(b.backward_signal, rel=1e-5)
            assert a.weight_grad_norm == pytest.approx(b.weight_grad_norm, rel=1e-5)


def test_the_narrow_dead_stack_dies_at_the_same_seeds_redrawn_or_rebuilt(fixture_target):
    target = fixture_target("dead_relu_stack.py", "build_narrow")
    merged = probe_seeds(target, _options(0), 6)
    assert "reinit" in merged.timings  # redrawn in place, not built again
    assert not any("built again" in note for note in merged.notes)
    redrawn = {seed: "GR104" in codes for seed, codes in merged.seed_summary.per_seed}
    rebuilt = {seed: any(d.code == "GR104" for d in probe_target(target, _options(seed)).findings)
               for seed in range(6)}
    assert redrawn == rebuilt
    assert any(rebuilt.values()) and not all(rebuilt.values())  # dead at some seeds, alive at others


@pytest.mark.parametrize("factory, why", [
    ("build_set_weights", "does not hold its initializer's values"),
    ("build_global_random_initializer", "does not hold its initializer's values"),
    ("build_seeds_itself", "seed is not one --seed gives"),
])
def test_weights_that_cannot_be_redrawn_mean_a_rebuild_said_in_one_note(fixture_target, factory, why):
    target = fixture_target("seeded_factories.py", factory)
    _, _, redraw = _redraw(target)
    assert isinstance(redraw, str) and why in redraw
    merged = probe_seeds(target, _options(0), 3)
    assert merged.seed_summary is not None and merged.seed_summary.seeds == (0, 1, 2)
    assert "reinit" not in merged.timings
    [note] = [n for n in merged.notes if "built again" in n]
    assert note.startswith("seeds 1, 2: the model was built again for each") and why in note
