"""Flax and JAX activation functions as data, each mapped to the activation key of
`keras_api.activations` (whose family table and signal moments they share), with the slope
parameter and its default where one applies.

linen and NNX re-export jax.nn's activations (`nn.relu is jax.nn.relu`); jax.numpy adds tanh
and exp. They are functions: applied to a tensor (`nn.relu(x)`), or given uncalled where a
module is expected (`nn.Sequential([nn.Dense(128), nn.relu])`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlaxActivation:
    """An activation: its key, and where its slope comes from (the parameter name, its
    position after the input, and the default)."""

    key: str
    slope_param: str | None = None
    slope_position: int | None = None
    default_slope: float | None = None


_NN: dict[str, FlaxActivation] = {
    "relu": FlaxActivation("relu"), "relu6": FlaxActivation("relu6"),
    "leaky_relu": FlaxActivation("leaky_relu", "negative_slope", 0, 0.01),
    "elu": FlaxActivation("elu", "alpha", 0, 1.0), "celu": FlaxActivation("celu", "alpha", 0, 1.0),
    "selu": FlaxActivation("selu"), "gelu": FlaxActivation("gelu"), "silu": FlaxActivation("silu"),
    "swish": FlaxActivation("silu"), "mish": FlaxActivation("mish"), "softplus": FlaxActivation("softplus"),
    "hard_swish": FlaxActivation("hard_silu"), "hard_silu": FlaxActivation("hard_silu"),
    "tanh": FlaxActivation("tanh"), "hard_tanh": FlaxActivation("hard_tanh"),
    "sigmoid": FlaxActivation("sigmoid"), "hard_sigmoid": FlaxActivation("hard_sigmoid"),
    "log_sigmoid": FlaxActivation("log_sigmoid"), "soft_sign": FlaxActivation("softsign"),
    "softmax": FlaxActivation("softmax"), "log_softmax": FlaxActivation("log_softmax"),
}
_JNP: dict[str, FlaxActivation] = {"tanh": FlaxActivation("tanh"), "exp": FlaxActivation("exponential")}

# The namespaces those functions are called from, by canonical (resolved) name.
_MODULES: tuple[tuple[str, dict[str, FlaxActivation]], ...] = (
    ("flax.linen.activation.", _NN), ("flax.linen.", _NN), ("flax.nnx.nn.activations.", _NN), ("flax.nnx.", _NN),
    ("jax.nn.", _NN), ("jax.numpy.", _JNP), ("jax.lax.", _JNP),
)


def activation_function(canonical_name: str) -> FlaxActivation | None:
    """`flax.linen.relu`, `jax.nn.gelu`, `jax.numpy.tanh` → its entry."""
    for module, table in _MODULES:
        if canonical_name.startswith(module):
            member = canonical_name[len(module):]
            return None if "." in member else table.get(member)
    return None


# Calls that hand their first argument's scale on unchanged (pooling, reshapes, dropout-free
# views): the width they keep is the channels' (pooling), or not known (reshapes).
POOLING = frozenset({"flax.linen.avg_pool", "flax.linen.max_pool", "flax.linen.pooling.avg_pool",
                     "flax.linen.pooling.max_pool", "flax.nnx.avg_pool", "flax.nnx.max_pool"})
RESHAPES = frozenset({"jax.numpy.reshape", "jax.numpy.ravel", "jax.numpy.squeeze", "jax.numpy.expand_dims",
                      "jax.numpy.transpose", "jax.numpy.swapaxes", "jax.numpy.moveaxis"})
RESHAPE_METHODS = frozenset({"reshape", "ravel", "squeeze", "transpose", "swapaxes", "astype", "flatten"})
