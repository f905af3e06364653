"""Scales as numbers: what fixed-scale initializers set, what each family asks for, and how
much a saturating activation can pass back.

The defaults are Keras' (RandomNormal and TruncatedNormal: mean 0, stddev 0.05; RandomUniform:
±0.05). TensorFlow 1's `tf.compat.v1.*_initializer` functions default to a scale of 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Parameters in positional order, per class of initializer.
FIXED_SCALE_PARAMS: dict[str, tuple[str, ...]] = {
    "RandomNormal": ("mean", "stddev", "seed"),
    "TruncatedNormal": ("mean", "stddev", "seed"),
    "RandomUniform": ("minval", "maxval", "seed"),
    "Constant": ("value",),
    "Zeros": (),
    "Ones": (),
}

_KERAS_DEFAULTS: dict[str, dict[str, float]] = {
    "RandomNormal": {"mean": 0.0, "stddev": 0.05},
    "TruncatedNormal": {"mean": 0.0, "stddev": 0.05},
    "RandomUniform": {"minval": -0.05, "maxval": 0.05},
    "Constant": {"value": 0.0},
    "Zeros": {"value": 0.0},
    "Ones": {"value": 1.0},
}
_TF1_DEFAULTS: dict[str, dict[str, float]] = {
    **_KERAS_DEFAULTS,
    "RandomNormal": {"mean": 0.0, "stddev": 1.0},
    "TruncatedNormal": {"mean": 0.0, "stddev": 1.0},
    "RandomUniform": {"minval": 0.0, "maxval": 1.0},
}

# Keras truncates its normal at two standard deviations, which keeps 0.8796² of the variance.
TRUNCATED_VARIANCE_FACTOR = 0.87962566103423978 ** 2

CONSTANT_CLASSES = frozenset({"Zeros", "Ones", "Constant"})


def defaults_for(class_name: str, tf1: bool = False) -> dict[str, float]:
    return dict((_TF1_DEFAULTS if tf1 else _KERAS_DEFAULTS).get(class_name, {}))


@dataclass(frozen=True)
class WeightScale:
    """The distribution a fixed-scale initializer draws from, as far as it is known."""

    class_name: str
    mean: float | None  # None: not known statically
    variance: float | None
    defaulted: dict[str, float] = field(default_factory=dict, compare=False)  # defaults relied on

    @property
    def second_moment(self) -> float | None:
        """E[w²]: what scales the signal a layer passes on (mean² + variance)."""
        if self.mean is None or self.variance is None:
            return None
        return self.mean ** 2 + self.variance

    @property
    def stddev(self) -> float | None:
        """The root of E[w²]: a normal's stddev, a uniform's equivalent."""
        moment = self.second_moment
        return math.sqrt(moment) if moment is not None else None

    @property
    def is_constant(self) -> bool:
        return self.class_name in CONSTANT_CLASSES


def weight_scale(class_name: str, config: dict[str, object]) -> WeightScale:
    """Mean and variance of the weights from the initializer's (complete) configuration;
    a value that is not a number makes what depends on it unknown."""

    def number(key: str) -> float | None:
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)

    if class_name in ("RandomNormal", "TruncatedNormal"):
        stddev = number("stddev")
        variance = stddev ** 2 if stddev is not None else None
        if variance is not None and class_name == "TruncatedNormal":
            variance *= TRUNCATED_VARIANCE_FACTOR
        return WeightScale(class_name, number("mean"), variance)
    if class_name == "RandomUniform":
        low, high = number("minval"), number("maxval")
        if low is None or high is None:
            return WeightScale(class_name, None, None)
        return WeightScale(class_name, (low + high) / 2, (high - low) ** 2 / 12)
    if class_name in CONSTANT_CLASSES:
        return WeightScale(class_name, number("value"), 0.0)
    return WeightScale(class_name, None, None)


# Gains of weight variance per layer beyond which the signal shrinks or grows about tenfold.
GAIN_LIMITS = (0.1, 10.0)
# Where fan-in is unknown, only standard deviations no layer width could justify.
STDDEV_LIMITS = (1e-3, 1.0)

# Saturating activations and the largest value their derivative takes anywhere. hard_sigmoid's
# slope is 1/6 in Keras 3 and 0.2 in Keras 2: the bound takes the larger.
SATURATING_DERIVATIVE_BOUND: dict[str, float] = {
    "sigmoid": 0.25,
    "hard_sigmoid": 0.2,
    "tanh": 1.0,
    "softsign": 1.0,
    "log_sigmoid": 1.0,
}
SATURATING_ACTIVATIONS = frozenset(SATURATING_DERIVATIVE_BOUND)

# exp overflows float32 above this input.
FLOAT32_EXP_OVERFLOW = 88.7
