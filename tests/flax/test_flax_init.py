"""kernel_init= as Flax code writes it: jax.nn.initializers factories under every import
spelling, variance_scaling by its values, fixed scales for GL103, and what stays unknown."""

from __future__ import annotations

import pytest
from flax_helpers import check, codes, graph_of, layer_at


def _model(init: str) -> str:
    return f"""
        import jax
        from flax import linen as nn
        from jax.nn import initializers as jinit

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Dense(256, kernel_init=nn.initializers.he_normal())(x))
                x = nn.relu(nn.Dense(256, kernel_init={init})(x))
                return nn.Dense(10)(x)
    """


@pytest.mark.parametrize("init", [
    "nn.initializers.he_normal()", "jax.nn.initializers.he_uniform()", "jinit.kaiming_normal()",
    "nn.initializers.variance_scaling(2.0, 'fan_in', 'truncated_normal')",
    "jax.nn.initializers.variance_scaling(scale=2.0, mode='fan_in', distribution='uniform')",
])
def test_he_in_every_spelling_fits_relu(init):
    assert codes(_model(init)) == []


@pytest.mark.parametrize("init", [
    "nn.initializers.glorot_uniform()", "jax.nn.initializers.xavier_normal()", "jinit.lecun_normal()",
    "nn.initializers.variance_scaling(1.0, 'fan_avg', 'uniform')",
])
def test_other_families_under_relu_are_flagged(init):
    assert codes(_model(init)) == [(9, "GL101")]


def test_fixed_scales_are_judged_by_gl103_with_the_fan_in_seen():
    [found] = check(_model("nn.initializers.normal(0.01)"))
    assert found.code == "GL103" and "fan_in=256" in found.message
    [default] = check(_model("nn.initializers.normal()"))
    assert default.code == "GL103" and "default stddev=0.01" in default.message
    [uniform] = check(_model("nn.initializers.uniform(scale=0.001)"))
    assert uniform.code == "GL103"
    [zeros] = check(_model("nn.initializers.zeros"))
    assert zeros.code == "GL103" and "same weights" in zeros.message


def test_the_fixed_scale_of_a_wide_enough_layer_is_left_alone():
    # N(0, 0.09²) at fan_in 256: a gain of 2.07, He's.
    assert codes(_model("nn.initializers.normal(stddev=0.09)")) == []


@pytest.mark.parametrize("init", [
    "self.kernel_init", "my_init()", "nn.initializers.orthogonal(scale=2.0)",
    "nn.initializers.variance_scaling(scale, 'fan_in', 'normal')", "nn.initializers.he_normal",
])
def test_what_cannot_be_known_is_not_judged(init):
    graph = graph_of(_model(init))
    layer = layer_at(graph, 9)
    assert layer.initializer is None and layer.unknown_reason[0] == "initializer-unknown"
    assert codes(_model(init)) == []


def test_a_shared_variable_is_followed():
    graph = graph_of("""
        from flax import linen as nn

        init = nn.initializers.glorot_normal()

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Dense(256, kernel_init=init)(x))
                return nn.Dense(10, kernel_init=init)(x)
    """)
    layer = layer_at(graph, 8)
    assert layer.initializer.via_variable and layer.initializer.family.value == "Glorot"


def test_the_default_is_lecun_normal():
    graph = graph_of("""
        from flax import nnx
        layer = nnx.Linear(64, 64, rngs=nnx.Rngs(0))
    """)
    fact = layer_at(graph, 2).initializer
    assert fact.is_default and fact.family.value == "LeCun" and fact.distribution == "normal"
