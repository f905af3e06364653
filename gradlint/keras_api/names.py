"""Canonical names: every spelling of a Keras object is reduced to `keras.<module>.<Name>`.

`tf.keras.layers.Dense`, `tensorflow.python.keras.layers.core.Dense`, `tf_keras.layers.Dense`,
`keras_core.layers.Dense` and `keras.src.layers.core.dense.Dense` all denote one class; rules
compare canonical names only.
"""

from __future__ import annotations

# Longest prefixes first: the first match wins.
_KERAS_ROOTS = (
    "tensorflow.compat.v1.keras.",
    "tensorflow.compat.v2.keras.",
    "tensorflow.python.keras.",
    "tensorflow.keras.",
    "tf_keras.src.",
    "tf_keras.",
    "keras_core.src.",  # Keras 3's name while it was in preview
    "keras_core.",
    "keras.src.",
    "keras.api._v2.keras.",
    "keras.api.",
    "keras._tf_keras.keras.",
    "keras.",
)
# Sub-packages whose members we name by their last component only.
_KERAS_SUBMODULES = frozenset(
    {"layers", "activations", "initializers", "optimizers", "models", "ops", "regularizers",
     "losses", "callbacks", "utils", "mixed_precision", "constraints"}
)
# The packages themselves, under each of their names.
_KERAS_PACKAGES = frozenset({"keras", "tensorflow.keras", "tf_keras", "keras_core"})
# Internal modules of Keras 2 (and of tf.keras, tf_keras) whose public members live elsewhere:
# `keras.engine.sequential.Sequential` is `keras.models.Sequential`.
_RELOCATED = {
    ("engine", "Sequential"): "models",
    ("engine", "Model"): "models",
    ("engine", "Input"): "layers",
    ("engine", "InputLayer"): "layers",
}
_RELOCATED_MODULES = {"optimizer_v2": "optimizers", "optimizer_v1": "optimizers"}
# TensorFlow names that stand for Keras ones.
_TF_ALIASES = {
    "tensorflow.initializers.": "keras.initializers.",
    "tensorflow.compat.v1.initializers.": "keras.initializers.",
    "tensorflow.optimizers.": "keras.optimizers.",
}


def canonical(qualified: str) -> str:
    """Reduce a dotted import path to the canonical spelling used by the tables.

    Non-Keras paths (e.g. `tensorflow.nn.relu`, `torch.nn.Linear`) come back unchanged.
    """
    for prefix, target in _TF_ALIASES.items():
        if qualified.startswith(prefix):
            qualified = target + qualified[len(prefix):]
            break
    for root in _KERAS_ROOTS:
        if qualified.startswith(root):
            rest = qualified[len(root):].split(".")
            break
    else:
        return "keras" if qualified in _KERAS_PACKAGES else qualified
    if len(rest) == 1:
        return "keras." + rest[0]
    rest[0] = _RELOCATED.get((rest[0], rest[-1]), _RELOCATED_MODULES.get(rest[0], rest[0]))
    if rest[0] in _KERAS_SUBMODULES:
        # keras.optimizers.legacy.Adam, keras.src.layers.core.dense.Dense → last component.
        return f"keras.{rest[0]}.{rest[-1]}"
    return "keras." + ".".join(rest)


def is_keras_module(qualified: str) -> bool:
    """True for the Keras package itself or one of its sub-packages (things with members)."""
    c = canonical(qualified)
    return c == "keras" or (c.startswith("keras.") and c.split(".")[1] in _KERAS_SUBMODULES and c.count(".") == 1)
