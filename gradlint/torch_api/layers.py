"""torch.nn module classes as data: the Keras-equivalent role each plays (so the model graph,
the guards and the signal model treat them as they treat Keras layers), where their
constructor arguments go, and how the kernel's fans follow from them.

A torch layer's `LayerSpec.name` is the Keras layer it stands for (`BatchNorm2d` →
`BatchNormalization`, `Linear` → `Dense`): the tables that say what a normalization or a
dropout does are keyed by those names. Messages use the torch class name.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradlint.keras_api.layers import LayerSpec, Role

# Where torch.nn's classes live, by their canonical (resolved) name.
TORCH_NN = "torch.nn."
# The attribute of a weighted layer that holds its kernel, as nn.init calls name it.
WEIGHT = "weight"


@dataclass(frozen=True)
class FanParams:
    """How a weighted layer's fans follow from its arguments: fan_in = `fan_in_param` (divided
    by `groups`) × kernel area, fan_out = `fan_out_param` × kernel area; `kernel_dims` is the
    convolution's spatial rank (0 for Linear). For a transposed convolution torch's weight is
    (in, out/groups, *k), so its fans, as torch computes them for initialization, swap."""

    fan_in_param: str | None
    fan_out_param: str
    kernel_dims: int = 0
    transposed: bool = False


@dataclass(frozen=True)
class TorchLayer:
    """One torch.nn class: its spec (role, Keras-equivalent name, positional parameters) and,
    for a layer with a judged kernel, its fans."""

    spec: LayerSpec
    fans: FanParams | None = None
    default_epsilon: float | None = None  # a normalization's default eps
    default_rate: float | None = None  # a dropout's default p


def _weighted(name: str, keras: str, positional: tuple[str, ...], fans: FanParams) -> tuple[str, TorchLayer]:
    spec = LayerSpec(name=keras, role=Role.WEIGHTED, initializer_param=WEIGHT, positional=positional)
    return name, TorchLayer(spec, fans)


_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding")
_CONV_T = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding")
_LAZY_CONV = ("out_channels", "kernel_size", "stride", "padding")

_TABLE: dict[str, TorchLayer] = dict([
    _weighted("Linear", "Dense", ("in_features", "out_features", "bias"), FanParams("in_features", "out_features")),
    _weighted("LazyLinear", "Dense", ("out_features", "bias"), FanParams(None, "out_features")),
    *(_weighted(f"Conv{d}d", f"Conv{d}D", _CONV, FanParams("in_channels", "out_channels", d)) for d in (1, 2, 3)),
    *(_weighted(f"ConvTranspose{d}d", f"Conv{d}DTranspose", _CONV_T,
                FanParams("in_channels", "out_channels", d, transposed=True)) for d in (1, 2, 3)),
    *(_weighted(f"LazyConv{d}d", f"Conv{d}D", _LAZY_CONV, FanParams(None, "out_channels", d)) for d in (1, 2, 3)),
    *(_weighted(f"LazyConvTranspose{d}d", f"Conv{d}DTranspose", _LAZY_CONV,
                FanParams(None, "out_channels", d, transposed=True)) for d in (1, 2, 3)),
])


def _plain(names: str, keras: str, role: Role, **kw: object) -> None:
    for name in names.split():
        _TABLE[name] = TorchLayer(LayerSpec(name=keras, role=role), **kw)  # type: ignore[arg-type]


# Weights of other kinds: what flows into them is taken as linear; their kernels are not judged.
_plain("Bilinear Embedding EmbeddingBag MultiheadAttention Transformer TransformerEncoderLayer "
       "TransformerDecoderLayer TransformerEncoder TransformerDecoder", "Embedding", Role.WEIGHTED)
for _name in ("LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"):
    _TABLE[_name] = TorchLayer(LayerSpec(name=_name.replace("RNN", "SimpleRNN") if _name.startswith("RNN") else _name,
                                         role=Role.WEIGHTED, recurrent=True))
# Normalizations (torch's eps is 1e-5 for all but RMSNorm, whose default is the dtype's eps).
_plain("BatchNorm1d BatchNorm2d BatchNorm3d LazyBatchNorm1d LazyBatchNorm2d LazyBatchNorm3d",
       "BatchNormalization", Role.TRANSPARENT, default_epsilon=1e-5)
_plain("SyncBatchNorm", "SyncBatchNormalization", Role.TRANSPARENT, default_epsilon=1e-5)
_plain("LayerNorm", "LayerNormalization", Role.TRANSPARENT, default_epsilon=1e-5)
_plain("GroupNorm", "GroupNormalization", Role.TRANSPARENT, default_epsilon=1e-5)
_plain("RMSNorm", "RMSNormalization", Role.TRANSPARENT, default_epsilon=1.2e-7)
# Dropout (p=0.5 by default) and the alpha dropout that keeps SELU's moments.
_plain("Dropout", "Dropout", Role.TRANSPARENT, default_rate=0.5)
_plain("Dropout1d", "SpatialDropout1D", Role.TRANSPARENT, default_rate=0.5)
_plain("Dropout2d", "SpatialDropout2D", Role.TRANSPARENT, default_rate=0.5)
_plain("Dropout3d", "SpatialDropout3D", Role.TRANSPARENT, default_rate=0.5)
_plain("AlphaDropout FeatureAlphaDropout", "AlphaDropout", Role.TRANSPARENT, default_rate=0.5)
# Pooling and reshaping.
for _d in (1, 2, 3):
    _plain(f"MaxPool{_d}d AdaptiveMaxPool{_d}d", f"MaxPooling{_d}D", Role.TRANSPARENT)
    _plain(f"AvgPool{_d}d", f"AveragePooling{_d}D", Role.TRANSPARENT)
    _plain(f"AdaptiveAvgPool{_d}d", f"GlobalAveragePooling{_d}D", Role.TRANSPARENT)
_plain("Flatten Unflatten", "Flatten", Role.TRANSPARENT)
_plain("Identity", "Reshape", Role.TRANSPARENT)
_plain("Upsample UpsamplingNearest2d", "UpSampling2D", Role.TRANSPARENT)


def torch_layer(canonical_name: str) -> TorchLayer | None:
    """The entry for `torch.nn.Linear` (any import spelling resolves to that), or None."""
    if not canonical_name.startswith(TORCH_NN):
        return None
    return _TABLE.get(canonical_name[len(TORCH_NN):])


# Containers whose elements are modules applied in order (Sequential) or held (ModuleList/Dict).
SEQUENTIAL = "torch.nn.Sequential"
MODULE_LIST = "torch.nn.ModuleList"
MODULE_DICT = "torch.nn.ModuleDict"
ORDERED_DICT = frozenset({"collections.OrderedDict", "OrderedDict"})
# Base classes of a model of the user's own.
MODULE_BASES = frozenset({"torch.nn.Module", "pytorch_lightning.LightningModule", "lightning.LightningModule",
                          "lightning.pytorch.LightningModule", "pytorch_lightning.core.LightningModule"})
