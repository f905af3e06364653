"""Flax module classes as data: the Keras-equivalent role each plays (so the model graph, the
guards and the signal model treat them as they treat Keras layers), where their constructor
arguments go, and how the kernel's fans follow from them.

A Flax layer's `LayerSpec.name` is the Keras layer it stands for (`nn.BatchNorm` →
`BatchNormalization`, `nnx.Linear` → `Dense`); messages use the Flax spelling (`nn.Dense`,
`nnx.Linear`), which is also the layer's `class_name`.

linen's `Dense(features)` and `Conv(features, kernel_size)` do not name their input width: their
fan-in is known only from the layer applied before them. NNX's `Linear(in_features,
out_features)` and `Conv(in_features, out_features, kernel_size)` name both.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradlint.keras_api.layers import LayerSpec, Role

LINEN = "flax.linen."
NNX = "flax.nnx."
# The parameter that takes a weighted layer's kernel initializer, in linen and NNX alike.
KERNEL_INIT = "kernel_init"


@dataclass(frozen=True)
class FanParams:
    """fan_in = `fan_in_param` × kernel area (None: linen, taken from the layer before),
    fan_out = `fan_out_param` × kernel area; `conv`: the layer has a `kernel_size`."""

    fan_in_param: str | None
    fan_out_param: str
    conv: bool = False
    # linen: the fan-in is the width received (not for DenseGeneral, whose contracted axes
    # `axis` chooses).
    received: bool = True


@dataclass(frozen=True)
class FlaxLayer:
    """One Flax class: its spec, its fans (a judged kernel) and a normalization's default
    epsilon."""

    spec: LayerSpec
    fans: FanParams | None = None
    default_epsilon: float | None = None


_TABLE: dict[str, tuple[LayerSpec, FanParams | None, float | None]] = {}


def _weighted(path: str, keras: str, positional: tuple[str, ...], fans: FanParams) -> None:
    _TABLE[path] = (LayerSpec(name=keras, role=Role.WEIGHTED, initializer_param=KERNEL_INIT, positional=positional),
                    fans, None)


def _plain(paths: str, keras: str, role: Role, positional: tuple[str, ...] = (), epsilon: float | None = None,
           recurrent: bool = False) -> None:
    for path in paths.split():
        _TABLE[path] = (LayerSpec(name=keras, role=role, positional=positional, recurrent=recurrent), None, epsilon)


# linen: features only.
_weighted(LINEN + "Dense", "Dense", ("features",), FanParams(None, "features"))
_weighted(LINEN + "DenseGeneral", "Dense", ("features",), FanParams(None, "features", received=False))
_weighted(LINEN + "Conv", "Conv2D", ("features", "kernel_size", "strides", "padding"),
          FanParams(None, "features", conv=True))
_weighted(LINEN + "ConvTranspose", "Conv2DTranspose", ("features", "kernel_size", "strides", "padding"),
          FanParams(None, "features", conv=True))
# NNX: both widths.
_weighted(NNX + "Linear", "Dense", ("in_features", "out_features"), FanParams("in_features", "out_features"))
_weighted(NNX + "LinearGeneral", "Dense", ("in_features", "out_features"), FanParams("in_features", "out_features"))
_weighted(NNX + "Conv", "Conv2D", ("in_features", "out_features", "kernel_size", "strides", "padding"),
          FanParams("in_features", "out_features", conv=True))
_weighted(NNX + "ConvTranspose", "Conv2DTranspose", ("in_features", "out_features", "kernel_size", "strides", "padding"),
          FanParams("in_features", "out_features", conv=True))
# Weights of other kinds: what flows into them is taken as linear; their kernels are not judged.
_plain(f"{LINEN}Embed {NNX}Embed {LINEN}MultiHeadDotProductAttention {LINEN}MultiHeadAttention "
       f"{LINEN}SelfAttention {NNX}MultiHeadAttention {LINEN}Einsum {NNX}Einsum", "Embedding", Role.WEIGHTED)
# Recurrent cells and the layers that scan them (by their name in linen and NNX alike).
RECURRENT_NAMES = ("LSTMCell", "OptimizedLSTMCell", "ConvLSTMCell", "GRUCell", "MGUCell", "SimpleCell", "RNN",
                   "Bidirectional")
for _name in RECURRENT_NAMES:
    _plain(f"{LINEN}{_name} {NNX}{_name}", "LSTM" if "LSTM" in _name else "GRU" if "GRU" in _name else "SimpleRNN",
           Role.WEIGHTED, recurrent=True)
# Normalizations: linen's take no width; NNX's take num_features first.
_plain(f"{LINEN}BatchNorm", "BatchNormalization", Role.TRANSPARENT, ("use_running_average",), epsilon=1e-5)
_plain(f"{NNX}BatchNorm", "BatchNormalization", Role.TRANSPARENT, ("num_features",), epsilon=1e-5)
_plain(f"{LINEN}LayerNorm", "LayerNormalization", Role.TRANSPARENT, ("epsilon",), epsilon=1e-6)
_plain(f"{NNX}LayerNorm", "LayerNormalization", Role.TRANSPARENT, ("num_features",), epsilon=1e-6)
_plain(f"{LINEN}GroupNorm", "GroupNormalization", Role.TRANSPARENT, ("num_groups",), epsilon=1e-6)
_plain(f"{NNX}GroupNorm", "GroupNormalization", Role.TRANSPARENT, ("num_features",), epsilon=1e-6)
_plain(f"{LINEN}RMSNorm", "RMSNormalization", Role.TRANSPARENT, ("epsilon",), epsilon=1e-6)
_plain(f"{NNX}RMSNorm", "RMSNormalization", Role.TRANSPARENT, ("num_features",), epsilon=1e-6)
# Dropout: the rate comes first in both.
_plain(f"{LINEN}Dropout {NNX}Dropout", "Dropout", Role.TRANSPARENT, ("rate",))


def flax_layer(canonical_name: str) -> FlaxLayer | None:
    """The entry for `flax.linen.Dense` or `flax.nnx.Linear` (any import spelling resolves to
    that), or None."""
    found = _TABLE.get(canonical_name)
    if found is None:
        return None
    spec, fans, epsilon = found
    return FlaxLayer(spec, fans, epsilon)


def class_name(canonical_name: str) -> str:
    """How messages spell a Flax class: `nn.Dense`, `nnx.Linear`."""
    prefix = "nnx." if canonical_name.startswith(NNX) else "nn."
    return prefix + canonical_name.rsplit(".", 1)[1]


# Containers whose elements are applied in order: linen's takes a list, NNX's positional layers.
SEQUENTIAL = frozenset({LINEN + "Sequential", NNX + "Sequential"})
# Transformations that return the module class they are given, applied the same way
# (rematerialization and jit change how it runs, not what it computes).
LIFTS = frozenset({LINEN + "remat", LINEN + "checkpoint", LINEN + "jit", NNX + "remat"})
# NNX's list of modules (`self.blocks = nnx.List([...])`).
LISTS = frozenset({NNX + "List"})
# Base classes of a model of the user's own.
MODULE_BASES = frozenset({LINEN + "Module", NNX + "Module", "flax.linen.module.Module"})
