"""Activations as data: every way of naming one, and the initializer family it asks for.

The table is the domain note's (Glorot for none/tanh/sigmoid/softmax, He for ReLU and its
variants, LeCun for SELU), extended to the activations of today's Keras.
"""

from __future__ import annotations

from enum import Enum


class Family(Enum):
    """Initializer families by the weight variance they aim for."""

    GLOROT = "Glorot"  # 1 / fan_avg
    HE = "He"  # 2 / fan_in
    LECUN = "LeCun"  # 1 / fan_in

    @property
    def prefix(self) -> str:
        """The Keras initializer name stem: glorot_normal, he_normal, lecun_normal."""
        return {"Glorot": "glorot", "He": "he", "LeCun": "lecun"}[self.value]

    @property
    def class_stem(self) -> str:
        return {"Glorot": "Glorot", "He": "He", "LeCun": "Lecun"}[self.value]


LINEAR = "linear"

# Positively homogeneous: φ(c·x) = c·φ(x) for c > 0, so the scale of what they receive passes
# through them unchanged (what lets a normalization after them cancel a kernel's scale).
# PReLU starts with a slope of 0, as ReLU.
HOMOGENEOUS_ACTIVATIONS = frozenset({LINEAR, "relu", "leaky_relu", "prelu"})

ACTIVATION_FAMILY: dict[str, Family | None] = {
    **{a: Family.HE for a in (
        "relu relu6 leaky_relu elu celu gelu silu swish hard_silu hard_swish mish softplus "
        "prelu thresholded_relu squareplus sparse_plus"
    ).split()},
    **{a: Family.GLOROT for a in (
        "linear tanh sigmoid hard_sigmoid log_sigmoid softmax log_softmax softsign hard_tanh "
        "sparsemax tanh_shrink"
    ).split()},
    "selu": Family.LECUN,
    # Known, but fitting no family: judged by other rules (GL303), never by GL101.
    "exponential": None,
}

# Spellings that are the same activation.
_SYNONYMS = {
    "swish": "silu",
    "hardswish": "hard_silu",
    "hard_swish": "hard_silu",
    "leakyrelu": "leaky_relu",
    "exp": "exponential",
    "logsigmoid": "log_sigmoid",
    "logsoftmax": "log_softmax",
    "hardsigmoid": "hard_sigmoid",
    "hardtanh": "hard_tanh",
    "none": LINEAR,
}

# Activation layers and the activation they apply (Activation(...) takes its argument instead).
ACTIVATION_LAYERS = {
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "PReLU": "prelu",
    "ELU": "elu",
    "Softmax": "softmax",
    "ThresholdedReLU": "thresholded_relu",
}

# Namespaces whose members, applied to a tensor or passed as `activation=`, are activations.
ACTIVATION_FUNCTION_MODULES = (
    "keras.activations.",
    "keras.ops.",
    "tensorflow.nn.",
    "tensorflow.math.",
    "tensorflow.",
)


def normalize_activation(name: str) -> str | None:
    """A Keras activation string or function name → the table's key, or None if unknown."""
    key = name.strip().lower()
    key = _SYNONYMS.get(key, key)
    return key if key in ACTIVATION_FAMILY else None


def activation_from_function(canonical_name: str) -> str | None:
    """`keras.activations.relu`, `tensorflow.nn.relu`, `keras.ops.exp` → activation key."""
    for module in ACTIVATION_FUNCTION_MODULES:
        if canonical_name.startswith(module):
            member = canonical_name[len(module):]
            if "." in member:
                return None
            return normalize_activation(member)
    return None


def family_of(activation: str) -> Family | None:
    return ACTIVATION_FAMILY.get(activation)
