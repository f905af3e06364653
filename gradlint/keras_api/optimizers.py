"""Keras optimizers as data: the classes, the strings `compile()` accepts, and the arguments
that make an optimizer clip its gradients.

Names are canonical (`keras.optimizers.Adam`): `tf.keras.optimizers.legacy.Adam`,
`tf.optimizers.Adam` and `keras.optimizers.experimental.AdamW` all reduce to them.
"""

from __future__ import annotations

# Every optimizer class of `keras.optimizers` (Keras 2, Keras 3 and the legacy package).
OPTIMIZER_CLASSES = frozenset(
    "SGD Adam AdamW RMSprop Adagrad Adadelta Adamax Nadam Ftrl Lion Lamb Adafactor Muon".split()
)
# Keras 2.x's lower-case aliases (`keras.optimizers.adam`) and TF1-era spellings.
_CLASS_ALIASES = {name.lower(): name for name in OPTIMIZER_CLASSES}

# Optimizers that wrap another and clip as the inner one does: (parameter, position) of it.
OPTIMIZER_WRAPPERS = {
    "keras.mixed_precision.LossScaleOptimizer": ("inner_optimizer", 0),
    "keras.optimizers.LossScaleOptimizer": ("inner_optimizer", 0),
}

# The keyword arguments that make an optimizer clip (Keras 2.4+ and Keras 3).
CLIP_ARGUMENTS = ("clipnorm", "clipvalue", "global_clipnorm")

# What `model.compile()` uses when no optimizer is given.
DEFAULT_OPTIMIZER = "RMSprop"
DEFAULT_OPTIMIZER_STRING = "rmsprop"

# An optimizer call with more positional arguments than this may pass a clip argument by
# position: it is not judged.
MAX_JUDGED_POSITIONAL = 5

# `tf.clip_by_global_norm`, `tf.clip_by_norm`, … and Keras' own clip functions.
GRADIENT_CLIP_FUNCTIONS = frozenset({
    "tensorflow.clip_by_global_norm", "tensorflow.clip_by_norm", "tensorflow.clip_by_value",
    "tensorflow.clip_by_average_norm", "tensorflow.math.clip_by_norm",
    "tensorflow.math.clip_by_value", "tensorflow.math.clip_by_global_norm",
    "keras.ops.clip", "keras.backend.clip", "tensorflow.experimental.numpy.clip",
})


def optimizer_class(canonical_name: str) -> str | None:
    """`keras.optimizers.Adam` → "Adam"; None for anything that is not a Keras optimizer."""
    if not canonical_name.startswith("keras.optimizers."):
        return None
    last = canonical_name.rsplit(".", 1)[1]
    if last in OPTIMIZER_CLASSES:
        return last
    return _CLASS_ALIASES.get(last) if last.islower() else None


def optimizer_from_string(value: str) -> str | None:
    """An optimizer string as `compile()` takes it ("adam", "RMSprop") → the class name.

    Keras looks strings up case-insensitively; none of them clips.
    """
    return _CLASS_ALIASES.get(value.strip().lower())


def is_gradient_clip(canonical_name: str) -> bool:
    return canonical_name in GRADIENT_CLIP_FUNCTIONS
