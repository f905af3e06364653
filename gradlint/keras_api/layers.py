"""Keras layer classes as data: which initializer GL101 judges, where positional arguments go,
and what role a layer plays when the activation of the layer before it is worked out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    """How a layer affects the activation that the previous layer's output meets."""

    WEIGHTED = "weighted"  # has its own kernel: the signal before it is taken as linear
    ACTIVATION = "activation"  # applies a nonlinearity (Activation, ReLU, LeakyReLU, …)
    TRANSPARENT = "transparent"  # passes the signal on to what follows (BatchNorm, Dropout, …)
    MERGE = "merge"  # joins tensors; its result is what the next activation receives
    WRAPPER = "wrapper"  # wraps another layer (TimeDistributed, Bidirectional, …): see Wrapping


class Wrapping(Enum):
    """How a wrapper applies the layer it wraps, as far as that layer's kernel is concerned."""

    # The same layer on every step of axis 1 (TimeDistributed): its kernel works as written,
    # with its fan-in on the last axis.
    TIME = "time"
    # Two copies whose outputs are merged (Bidirectional): judged as the wrapper.
    PAIR = "pair"
    # The kernel is divided by its largest singular value while training
    # (SpectralNormalization): its initial scale cancels, whatever the initializer.
    NORMALIZED = "normalized"
    # w = g·v/‖v‖ (WeightNormalization): with `data_init` (the default) the first batch sets
    # g so that each output has unit variance, so the initializer's scale cancels; without
    # it, g = ‖v‖ and the kernel starts as initialized.
    DATA_INIT = "data_init"


@dataclass(frozen=True)
class LayerSpec:
    """One Keras layer class.

    `positional` names the leading parameters whose position is the same in every Keras
    version; a call with more positional arguments than that is not judged (its activation or
    initializer could be among the extras).
    """

    name: str
    role: Role
    initializer_param: str | None = None
    positional: tuple[str, ...] = ()
    recurrent: bool = False
    wraps: Wrapping | None = None  # for wrappers: how the wrapped layer is applied


def _spec(names: str, role: Role, **kw: object) -> dict[str, LayerSpec]:
    return {n: LayerSpec(name=n, role=role, **kw) for n in names.split()}  # type: ignore[arg-type]


_W = Role.WEIGHTED
_CONV_POS = ("filters", "kernel_size", "strides", "padding")

LAYERS: dict[str, LayerSpec] = {
    # Layers whose kernel initializer GL101 judges.
    **_spec("Dense", _W, initializer_param="kernel_initializer",
            positional=("units", "activation", "use_bias", "kernel_initializer")),
    **_spec("EinsumDense", _W, initializer_param="kernel_initializer",
            positional=("equation", "output_shape", "activation", "bias_axes", "kernel_initializer")),
    **_spec("Conv1D Conv2D Conv3D Convolution1D Convolution2D Convolution3D "
            "Conv1DTranspose Conv2DTranspose Conv3DTranspose "
            "Convolution1DTranspose Convolution2DTranspose Convolution3DTranspose",
            _W, initializer_param="kernel_initializer", positional=_CONV_POS),
    **_spec("SeparableConv1D SeparableConv2D SeparableConvolution1D SeparableConvolution2D",
            _W, initializer_param="pointwise_initializer", positional=_CONV_POS),
    **_spec("DepthwiseConv1D DepthwiseConv2D", _W, initializer_param="depthwise_initializer",
            positional=("kernel_size", "strides", "padding")),
    # Other layers with weights: what flows into them is taken as linear.
    **_spec("Embedding ReversibleEmbedding MultiHeadAttention GroupQueryAttention GroupedQueryAttention LocallyConnected1D "
            "LocallyConnected2D Attention AdditiveAttention", _W),
    **_spec("SimpleRNN LSTM GRU RNN CuDNNLSTM CuDNNGRU ConvLSTM1D ConvLSTM2D ConvLSTM3D "
            "SimpleRNNCell LSTMCell GRUCell StackedRNNCells", _W, recurrent=True),
    # Activation layers.
    **_spec("Activation ReLU LeakyReLU PReLU ELU Softmax ThresholdedReLU", Role.ACTIVATION),
    # Layers that do not change which activation follows.
    **_spec("BatchNormalization SyncBatchNormalization LayerNormalization GroupNormalization "
            "UnitNormalization RMSNormalization Dropout SpatialDropout1D SpatialDropout2D "
            "SpatialDropout3D AlphaDropout GaussianDropout GaussianNoise ActivityRegularization "
            "MaxPooling1D MaxPooling2D MaxPooling3D MaxPool1D MaxPool2D MaxPool3D "
            "AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D "
            "GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D "
            "GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlobalAvgPool1D "
            "GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D "
            "Reshape Flatten Permute ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D "
            "Cropping2D Cropping3D UpSampling1D UpSampling2D UpSampling3D Masking", Role.TRANSPARENT),
    **_spec("Add Concatenate Average Maximum Minimum Subtract Multiply "
            "add concatenate average maximum minimum subtract multiply", Role.MERGE),
    **_spec("TimeDistributed", Role.WRAPPER, wraps=Wrapping.TIME, positional=("layer",)),
    **_spec("Bidirectional", Role.WRAPPER, wraps=Wrapping.PAIR, positional=("layer",)),
    **_spec("SpectralNormalization", Role.WRAPPER, wraps=Wrapping.NORMALIZED, positional=("layer",)),
}
# Layers of `keras.layers` outside the table that have no kernel to judge and leave what
# follows them to be seen: not counted as layers gradlint cannot judge.
KERNEL_FREE_LAYERS = frozenset({
    "Input", "InputLayer", "InputSpec", "Layer", "Wrapper", "Identity", "RepeatVector",
    "Rescaling", "Normalization", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation",
    "RandomZoom", "RandomContrast", "RandomTranslation", "RandomCrop", "RandomBrightness",
    "RandomHeight", "RandomWidth", "TextVectorization", "StringLookup", "IntegerLookup",
    "CategoryEncoding", "Hashing", "Discretization", "HashedCrossing", "Pipeline", "IndexLookup",
    "FeatureSpace", "Feature", "STFTSpectrogram", "MelSpectrogram", "Equalization", "AutoContrast",
    "MixUp", "CutMix", "AugMix", "RandAugment", "Solarization", "BoundingBox", "MaxNumBoundingBoxes",
    "ContrastLimitedAdaptiveHistogramEqualization", "Dot",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
})
# Image augmentation layers (`RandomFlip`, `RandomHue`, …) have no kernel either.
KERNEL_FREE_PREFIX = "Random"
# Wrappers of other packages, by their canonical prefix and class name.
_THIRD_PARTY_PREFIX = "tensorflow_addons.layers."
THIRD_PARTY_LAYERS: dict[str, LayerSpec] = {
    **_spec("WeightNormalization", Role.WRAPPER, wraps=Wrapping.DATA_INIT, positional=("layer", "data_init")),
    **_spec("SpectralNormalization", Role.WRAPPER, wraps=Wrapping.NORMALIZED, positional=("layer",)),
}
# The base class of Keras' wrappers: a class of the user's own deriving from it may do
# anything to the layer it wraps.
WRAPPER_BASE = "keras.layers.Wrapper"

# Keras' default for every judged initializer parameter.
DEFAULT_INITIALIZER = "glorot_uniform"

# Layers that re-standardize the signal: a stack broken by one of these starts afresh.
NORMALIZATION_LAYERS = frozenset({
    "BatchNormalization", "SyncBatchNormalization", "LayerNormalization", "GroupNormalization",
    "UnitNormalization", "RMSNormalization",
})
# Dropout that keeps a SELU network's mean and variance, and the plain one that does not.
ALPHA_DROPOUT = "AlphaDropout"
PLAIN_DROPOUT = "Dropout"


def layer_spec(canonical_name: str) -> LayerSpec | None:
    """The spec for a canonical name like `keras.layers.Dense` (or one of the third-party
    wrappers, `tensorflow_addons.layers.WeightNormalization`), or None if it is not a layer."""
    if canonical_name.startswith("keras.layers."):
        return LAYERS.get(canonical_name.rsplit(".", 1)[1])
    if canonical_name.startswith(_THIRD_PARTY_PREFIX):
        return THIRD_PARTY_LAYERS.get(canonical_name.rsplit(".", 1)[1])
    return None


def is_wrapper_class(canonical_name: str) -> bool:
    """Keras' `Wrapper` base class or one of the wrappers: what a custom wrapper derives from."""
    spec = layer_spec(canonical_name)
    return canonical_name == WRAPPER_BASE or (spec is not None and spec.role is Role.WRAPPER)


def is_recurrent(spec: LayerSpec | None) -> bool:
    return spec is not None and spec.recurrent
